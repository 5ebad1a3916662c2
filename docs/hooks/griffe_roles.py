"""A griffe extension: Sphinx roles in glassnet's docstrings become links, and
reStructuredText literal-block markers (``::``) are dropped.

glassnet's docstrings are NumPy style and cross-reference each other the Sphinx
way (``:class:`~glassnet.layers.Dense```, ``:meth:`parameters```). Markdown
has no roles, so without this they would render as literal text. Each role is
rewritten, once the whole package is loaded, into an mkdocstrings
cross-reference when its target is an object the API reference renders, and
into plain inline code otherwise (a private helper, an outside library): a
link that points nowhere would fail the strict build.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|obj|data|exc|const):`(~?)([\w.]+)`")
# reStructuredText's literal-block marker: "text::" ends a paragraph that an
# indented block follows (in Markdown the indentation alone makes the block)
LITERAL_AFTER_TEXT = re.compile(r"(?m)(?<=\S)::$")
LITERAL_ALONE = re.compile(r"(?m)^[ \t]*::[ \t]*\n")


SECTION_RULE = re.compile(r"^\s*-{3,}\s*$")


def definition_lists(text):
    """RST definition lists (a ````term```` line, its description indented below)
    become Markdown bullets, in the prose before the first NumPy section (whose
    ``name : type`` entries look the same and are griffe's to parse)."""
    lines = text.split("\n")
    stop = next((i - 1 for i in range(1, len(lines)) if SECTION_RULE.match(lines[i])
                 and lines[i - 1].strip()), len(lines))
    out, i, after_item = [], 0, False
    while i < len(lines):
        line = lines[i]
        is_term = (i < stop and line.startswith("``")
                   and (i == 0 or after_item or not lines[i - 1].strip())
                   and i + 1 < stop and lines[i + 1].startswith("    ")
                   and lines[i + 1].strip())
        after_item = bool(is_term)
        if not is_term:
            out.append(line)
            i += 1
            continue
        description = []
        i += 1
        while i < stop and lines[i].startswith("    ") and lines[i].strip():
            description.append(lines[i].strip())
            i += 1
        out.append(f"- {line.strip()}: {' '.join(description)}")
    return "\n".join(out)


def _public(path):
    return not any(part.startswith("_") for part in path.split("."))


def _walk(obj):
    yield obj
    for member in obj.members.values():
        if member.is_alias:
            continue
        yield from _walk(member)


def _rendered_paths(pkg):
    """Paths the reference pages render: public members of public modules, and the
    targets of the names a public module exports from a private one."""
    paths = set()

    def visit(obj):
        for name, member in obj.members.items():
            if name.startswith("_"):
                continue
            if member.is_alias:
                # the page renders an imported name only when the module exports it
                if obj.is_module and name in (obj.exports or ()):
                    try:
                        target = member.final_target
                    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                        continue
                    if target.path.startswith(pkg.path + "."):
                        paths.update((member.path, target.path))
                continue
            if member.is_module and not _public(member.path):
                continue
            paths.add(member.path)
            if member.is_module or member.is_class:
                visit(member)

    paths.add(pkg.path)
    visit(pkg)
    return paths


class SphinxRoles(griffe.Extension):
    """Rewrite ``:role:`target``` in every docstring of the package."""

    def on_package(self, *, pkg, **kwargs):
        rendered = _rendered_paths(pkg)
        by_name = {}
        for path in rendered:
            by_name.setdefault(path.rsplit(".", 1)[-1], set()).add(path)

        def resolve(obj, target):
            head, _, rest = target.partition(".")
            candidates = []
            scope = obj
            try:
                full = scope.resolve(head)
                candidates.append(full + ("." + rest if rest else ""))
            except (griffe.NameResolutionError, AttributeError, KeyError):
                pass
            candidates.append(target)
            for path in candidates:
                if path in rendered:
                    return path
                try:
                    found = pkg.modules_collection[path]
                except KeyError:
                    continue
                for option in (found.path, getattr(found, "canonical_path", None)):
                    if option in rendered:
                        return option
            name = target.rsplit(".", 1)[-1]
            matches = by_name.get(name, set())
            return next(iter(matches)) if len(matches) == 1 else None

        for obj in _walk(pkg):
            docstring = obj.docstring
            if docstring is None:
                continue
            docstring.value = definition_lists(
                LITERAL_ALONE.sub("", LITERAL_AFTER_TEXT.sub(":", docstring.value)))
            if ":`" not in docstring.value:
                continue

            def replace(match, obj=obj):
                tilde, target = match.groups()
                text = target.rsplit(".", 1)[-1] if tilde else target
                path = resolve(obj, target)
                return f"[`{text}`][{path}]" if path else f"`{text}`"

            docstring.value = ROLE.sub(replace, docstring.value)
