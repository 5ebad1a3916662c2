"""The documentation's code runs: docstring examples, the Python in the guides,
the tutorials, and the check that keeps the built site offline.

The site itself (``mkdocs build --strict``, which executes every tutorial in a
Jupyter kernel) is built by CI; these tests keep the same code honest in the
plain test suite, in a few seconds.
"""

import doctest
import importlib
import pkgutil
import re
import runpy
import sys
import warnings
from pathlib import Path

import pytest

import glassnet

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("[0-9]*.py"))
GUIDES = [page for page in [DOCS / "index.md", DOCS / "getting-started.md",
                            *sorted((DOCS / "how-to").glob("*.md"))]
          if "```python" in page.read_text(encoding="utf-8")]

sys.path.insert(0, str(DOCS / "hooks"))
from check_site import external_references, remote_urls_in_css, remote_urls_in_html

# the entry points a reader meets first: each shows a runnable example
MAIN_ENTRY_POINTS = [
    "glassnet.network.Network",
    "glassnet.training.train",
    "glassnet.gradcheck.gradient_check",
    "glassnet.activations.get_activation",
    "glassnet.datasets.load_wisconsin",
    "glassnet.estimators.MLPClassifier",
]


def _modules():
    names = ["glassnet"]
    for info in pkgutil.walk_packages(glassnet.__path__, "glassnet."):
        if not info.name.startswith(("glassnet.cli", "glassnet.__main__")):
            names.append(info.name)
    return names


def test_docstring_examples_pass():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    examples = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in _modules():
            module = importlib.import_module(name)
            for test in finder.find(module, name):
                if test.examples and test.name not in examples:
                    examples[test.name] = len(test.examples)
                    runner.run(test, out=lambda text: None)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} docstring example(s) failed"
    # the one warning a reader sees: MLPRegressor's example of a target left unscaled
    # ("still climbing towards 150") stops at max_iter
    assert [(w.category.__name__, w.filename) for w in caught] == [
        ("ConvergenceWarning", "<doctest glassnet.estimators.MLPRegressor[6]>")]
    missing = [name for name in MAIN_ENTRY_POINTS if name not in examples]
    assert not missing, f"main entry points without a docstring example: {missing}"


def _python_blocks(markdown):
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("page", GUIDES, ids=lambda p: str(p.relative_to(DOCS)))
def test_guide_code_runs(page, tmp_path, monkeypatch, capsys):
    blocks = _python_blocks(page.read_text(encoding="utf-8"))
    assert blocks
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__guide__"}
    for block in blocks:  # one namespace per page: later blocks use earlier names
        exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - our own docs


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs_as_a_script(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_states_what_it_reproduces_and_adds(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# ---\n# jupyter:"), "not a jupytext percent-format file"
    intro = text.split("# %%\n", 1)[0]
    assert "**Reproduces**" in intro and "**Adds**" in intro
    assert re.search(r"\*\*seed \d+\*\*", intro), "the seed it reproduces"
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert f"tutorials/{path.stem}.md" in nav, "not in the site's navigation"


def test_offline_check_flags_network_resources(tmp_path):
    page = """<html><head>
      <link rel="stylesheet" href="https://cdn.example.org/katex.css">
      <link rel="stylesheet" href="../assets/site.css">
      <script src="//cdn.example.org/mathjax.js"></script>
      <script src="assets/mathjax/tex-svg-full.js"></script>
      <style>@import url("http://fonts.example.org/roboto.css");</style>
    </head><body>
      <a href="https://example.org/read-more">a link is fine</a>
      <img src="figure.png"><img src="https://example.org/remote.png">
    </body></html>"""
    assert remote_urls_in_html(page) == [
        "https://cdn.example.org/katex.css", "//cdn.example.org/mathjax.js",
        "http://fonts.example.org/roboto.css", "https://example.org/remote.png"]
    css = "/* url(https://commented.out) */ @font-face { src: url('https://x.org/f.woff2') }"
    assert remote_urls_in_css(css) == ["https://x.org/f.woff2"]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.html").write_text(page)
    (tmp_path / "ok.html").write_text('<script src="local.js"></script>')
    assert [p for p, _ in external_references(tmp_path)] == ["sub/page.html"] * 4


def test_offline_check_passes_a_built_site_if_there_is_one():
    site = ROOT / "site"
    if not (site / "index.html").exists():
        pytest.skip("no built site: mkdocs build makes one, and checks it itself")
    assert external_references(site) == []
