// MathJax 3 (SVG output: no font files to fetch, so formulas render from file://).
// pymdownx.arithmatex wraps each formula in an element of class "arithmatex";
// only those are typeset.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  svg: { fontCache: "global" },
};
