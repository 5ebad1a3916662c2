"""The README is a front page that keeps its promises: short, the quick start first
and unchanged, every relative link (and CONTRIBUTING.md's) pointing at something
that exists, and a command table that names exactly the commands there are."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
QUICK_START = ('pip install ".[cli]" && glassnet train wisconsin\n'
               'pip install -e ".[test]" && python -m pytest\n')

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _outside_code(markdown):
    """The text with fenced code blocks and inline code removed (links there are not links)."""
    text = re.sub(r"^```.*?^```[^\n]*$", "", markdown, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


def relative_links(path):
    """``(target path, anchor)`` for every link in ``path`` that is not a URL."""
    links = []
    for target in LINK.findall(_outside_code(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:, ...
            continue
        file, _, anchor = target.partition("#")
        links.append((file, anchor))
    return links


def github_anchors(markdown):
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation
    dropped, spaces as hyphens, a repeated heading numbered -1, -2, ..."""
    anchors, seen = set(), {}
    for heading in re.findall(r"^#{1,6} (.+)$", _strip_fences(markdown), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _strip_fences(markdown):
    return re.sub(r"^```.*?^```[^\n]*$", "", markdown, flags=re.DOTALL | re.MULTILINE)


def test_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; the manual is the docs site"


def test_quick_start_is_the_two_commands_in_the_first_40_lines():
    head = "\n".join(README.read_text(encoding="utf-8").splitlines()[:40]) + "\n"
    blocks = re.findall(r"^```bash\n(.*?)^```", head, flags=re.DOTALL | re.MULTILINE)
    assert blocks[0] == QUICK_START


@pytest.mark.parametrize("name", ["README.md", "CONTRIBUTING.md"])
def test_every_relative_link_resolves(name):
    path = ROOT / name
    links = relative_links(path)
    assert links, f"{name} links nowhere"
    broken = []
    for file, anchor in links:
        target = (path.parent / file).resolve() if file else path
        if not target.exists():
            broken.append(f"{file}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in github_anchors(
                target.read_text(encoding="utf-8")):
            broken.append(f"{file}#{anchor}: no such heading")
    assert not broken, f"{name}: " + "; ".join(broken)


def test_the_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[here](missing.md), [ok](#title), [bad](#nothing), "
                    "[web](https://example.org)\n\n```\n[code](not-a-link.md)\n```\n")
    assert relative_links(page) == [("missing.md", ""), ("", "title"), ("", "nothing")]
    assert github_anchors(page.read_text()) == {"title"}


def test_command_table_names_every_command_once():
    from glassnet.cli import COMMANDS

    section = README.read_text(encoding="utf-8").split("\n## Commands\n", 1)[1].split("\n## ")[0]
    rows = re.findall(r"^\| `glassnet (\w+)[^`]*` \| (.+) \|$", section, flags=re.MULTILINE)
    assert sorted(name for name, _ in rows) == sorted(COMMANDS)
    assert all("\n" not in text and len(text) <= 130 for _, text in rows)
