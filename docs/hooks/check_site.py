"""Check that a built glassnet site works offline.

``external_references(site_dir)`` lists every script, style sheet, image, font
or frame that a built page or style sheet would fetch over the network (an
``http:``, ``https:`` or protocol-relative ``//`` URL). Links (``<a href>``)
are not fetched and are allowed. The mkdocs build calls it after every build
and fails on any hit.

Run as a script it also opens pages in headless Chromium from ``file://`` and
checks what a reader sees: the math typeset by MathJax, every image loaded,
no failed request; with ``--screenshots DIR`` it saves a PNG of each page::

    python docs/hooks/check_site.py site --browser --screenshots /tmp/shots
"""

from __future__ import annotations

import argparse
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", re.IGNORECASE)

# attributes through which a page fetches something by itself
_FETCHED = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "audio": ("src",),
    "video": ("src", "poster"),
    "source": ("src", "srcset"),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}


class _Resources(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link":
            rel = (attrs.get("rel") or "").lower().split()
            if {"stylesheet", "preload", "modulepreload", "icon", "manifest", "prefetch",
                    "preconnect", "dns-prefetch"} & set(rel):
                self.urls.append(attrs.get("href") or "")
        for name in _FETCHED.get(tag, ()):
            value = attrs.get(name)
            if value:
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
        if attrs.get("style"):
            self.urls.extend(CSS_URL.findall(attrs["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls.extend(CSS_URL.findall(data))


def remote_urls_in_html(text):
    parser = _Resources()
    parser.feed(text)
    return [url for url in parser.urls if REMOTE.match(url)]


def remote_urls_in_css(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return [url for url in CSS_URL.findall(text) if REMOTE.match(url)]


def external_references(site_dir):
    """``[(relative path, url), ...]`` for every network fetch in the built site."""
    site = Path(site_dir)
    problems = []
    for path in sorted(site.rglob("*")):
        if path.suffix == ".html":
            urls = remote_urls_in_html(path.read_text(encoding="utf-8", errors="replace"))
        elif path.suffix == ".css":
            urls = remote_urls_in_css(path.read_text(encoding="utf-8", errors="replace"))
        else:
            continue
        problems += [(str(path.relative_to(site)), url) for url in urls]
    return problems


def needs_a_server(relative):
    """Pages that run Python in a Web Worker: browsers refuse workers and module scripts
    on ``file://``, so these are opened over HTTP by tests/test_playground_static.py."""
    return relative.parts[0] == "playground" or str(relative) == "try.html"


def check_in_browser(site_dir, pages, screenshots=None):
    """Open ``pages`` from ``file://`` in headless Chromium; return a list of problems."""
    from playwright.sync_api import sync_playwright

    site = Path(site_dir).resolve()
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for relative in pages:
            failed = []

            def on_failed(request, failed=failed):
                failed.append(request.url)

            page.on("requestfailed", on_failed)
            page.goto((site / relative).as_uri())
            page.wait_for_load_state("load")
            math = page.locator(".arithmatex").count()
            if math:
                page.wait_for_function(
                    "() => document.querySelectorAll('.arithmatex mjx-container svg').length"
                    " >= document.querySelectorAll('.arithmatex').length", timeout=20000)
            broken = page.evaluate(
                "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                ".map(i => i.getAttribute('src'))")
            if broken:
                problems.append(f"{relative}: images not loaded: {broken}")
            if failed:
                problems.append(f"{relative}: failed requests: {failed}")
            if screenshots:
                out = Path(screenshots) / (relative.replace("/", "_") + ".png")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=False)
            print(f"{relative}: {math} formulas typeset, {page.locator('img').count()} images")
            page.remove_listener("requestfailed", on_failed)
        browser.close()
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site_dir", nargs="?", default="site")
    parser.add_argument("--browser", action="store_true",
                        help="also open pages in headless Chromium from file://")
    parser.add_argument("--page", action="append", default=None,
                        help="a page to open (relative to the site); default: every page")
    parser.add_argument("--screenshots", help="folder for a PNG of each opened page")
    args = parser.parse_args(argv)
    problems = [f"{page}: loads {url}" for page, url in external_references(args.site_dir)]
    if args.browser:
        pages = args.page or sorted(
            str(p.relative_to(args.site_dir)) for p in Path(args.site_dir).rglob("*.html")
            if p.name != "404.html" and not needs_a_server(p.relative_to(args.site_dir)))
        problems += check_in_browser(args.site_dir, pages, args.screenshots)
    for problem in problems:
        print(problem, file=sys.stderr)
    print("offline check: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
