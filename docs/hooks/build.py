"""mkdocs hooks that build glassnet's site from the code itself.

- Tutorials: every ``docs/tutorials/*.py`` (jupytext percent format) is executed
  by a Jupyter kernel on each build and turned into a Markdown page with its
  printed output and figures, so every number and plot on the site was computed
  by the current code. A cell that raises fails the build.
- API reference: one page per public module of the installed ``glassnet``
  (found by walking the package, so a new module gets its page without an edit
  here) and a page with the command line's ``--help`` texts.
- The playground runs in the browser from the site itself (``playground/``:
  Pyodide, NumPy for Pyodide and a wheel of this checkout; see
  ``playground_site.py``), and the "Try glassnet" page's editor holds the
  README's "network by hand" example, taken from the README at build time.
- ``GLASSNET_DOCS_QUICK=1`` skips executing the tutorials (each page then says
  so): for iterating on the rest of the site, never for a site to publish.
- MathJax is copied from the ``django-static-mathjax`` package into the site,
  and after the build every page is checked to load no script, style sheet or
  image from the network: the built site works offline, from ``file://``.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).parent))
from check_site import external_references
from griffe_roles import ROLE
from playground_site import PlaygroundBuildError, files_for_site

log = __import__("logging").getLogger("mkdocs.hooks.glassnet")

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = "tutorials"
MATHJAX_FILE = "tex-svg-full.js"
# the command line has its own page (its --help texts); its modules hold click commands
NOT_IN_API_PAGES = ("glassnet.cli",)

_serving = False
_cache = {}  # tutorial results kept between rebuilds of `mkdocs serve`


def on_startup(command, dirty):
    global _serving
    _serving = command == "serve"


# -- API reference ----------------------------------------------------------------------------
def public_modules():
    """``glassnet`` and every public module below it, in import-path order."""
    import glassnet

    names = ["glassnet"]
    for info in pkgutil.walk_packages(glassnet.__path__, "glassnet."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if name == NOT_IN_API_PAGES or name.startswith(NOT_IN_API_PAGES):
            continue
        names.append(name)
    return sorted(names)


def _module_summary(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an extra this build lacks: the page says so
        return f"(needs `{exc.name}`)"
    doc = (module.__doc__ or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else ""


def on_config(config):
    modules = public_modules()
    reference = [{"Overview": "reference/index.md"}, {"Command line": "reference/cli.md"}]
    for item in config["nav"]:
        if isinstance(item, dict) and "API reference" in item:
            # the hand-written reference pages mkdocs.yml lists come after the command line
            written = item["API reference"]
            written = [entry for entry in (written if isinstance(written, list) else [written])
                       if entry != "reference/index.md"]
            item["API reference"] = (reference + written
                                     + [{name: f"reference/{name}.md"} for name in modules])
            config["glassnet_written_reference"] = written
    config["glassnet_modules"] = modules
    return config


def _first_sentence(path):
    """The first sentence of a Markdown page's first paragraph."""
    text = Path(path).read_text(encoding="utf-8").split("\n\n")
    paragraph = next((part for part in text[1:] if not part.startswith(("#", "```", "|", "<"))), "")
    return " ".join(paragraph.split()).split(". ")[0].rstrip(".") + "."


def _reference_pages(modules, written=(), docs_dir="docs"):
    lines = ["# API reference", "",
             ("Generated from the docstrings of the code this site was built from: each "
              "activation, loss, layer and optimiser shows its formula and derivative as "
              "written beside the code that computes it (open *Source code* under any "
              "entry)."),
             "",
             ("Samples are rows throughout: `X` is `(n_samples, n_features)` and a dense "
              "layer computes `Z = X·W + b` with `W` of shape `(fan_in, fan_out)`."),
             "", "| module | what it holds |", "| --- | --- |",
             "| [command line](cli.md) | `glassnet` and its sub-commands' `--help` |"]
    for entry in written:  # {title: path} from mkdocs.yml
        for title, path in (entry.items() if isinstance(entry, dict) else [(None, entry)]):
            name = path.removeprefix("reference/")
            summary = _first_sentence(Path(docs_dir) / path)
            lines.append(f"| [{title or name}]({name}) | {summary} |")
    pages = {}
    for name in modules:
        lines.append(f"| [`{name}`]({name}.md) | {_module_summary(name)} |")
        pages[f"reference/{name}.md"] = f"::: {name}\n"
    pages["reference/glassnet.md"] = _package_page()
    pages["reference/index.md"] = "\n".join(lines) + "\n"
    pages["reference/cli.md"] = _cli_page()
    return pages


def _package_page():
    """The top-level package: its docstring, and a table of the names it re-exports
    linking to where each is documented (rendering them again would duplicate
    every page)."""
    import glassnet

    rows = ["| name | documented in | summary |", "| --- | --- | --- |"]
    for name in sorted(glassnet.__all__, key=str.lower):
        obj = getattr(glassnet, name)
        module = getattr(obj, "__module__", None)
        if not isinstance(module, str) or not module.startswith("glassnet"):
            continue
        summary = " ".join((obj.__doc__ or "").strip().split("\n\n")[0].split())
        summary = summary[:-2] + "." if summary.endswith("::") else summary  # an RST block
        summary = ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1]}`", summary)
        rows.append(f"| [`glassnet.{name}`][{module}.{obj.__qualname__}] | "
                    f"[`{module}`]({module}.md) | {summary} |")
    return ("::: glassnet\n    options:\n      members: false\n\n"
            "## What `import glassnet` gives\n\n" + "\n".join(rows) + "\n")


# -- tables generated from the code, placed by a marker on a hand-written page -----------------
def _schema_table(record):
    """A Markdown table of a model-file record's keys: what each must be, and what a
    file without it means (the rules of :mod:`glassnet.model_schema`, so the page
    cannot drift from what ``load_model`` checks)."""
    from glassnet import model_schema

    rows = ["| key | must be | default |", "| --- | --- | --- |"]
    for key, spec_field in record.fields.items():
        default = spec_field.default
        if default is model_schema.REQUIRED:
            shown = "required"
        elif default is model_schema.OMITTED:
            shown = "may be absent"
        elif callable(default):
            shown = "computed from the other keys"
        else:
            shown = f"`{json.dumps(default)}`"
        expects = spec_field.spec.expects.replace("|", "\\|")
        rows.append(f"| `{key}` | {expects} | {shown} |")
    return "\n".join(rows)


def _generated_tables():
    from glassnet import model_schema

    return {"<!-- glassnet: metadata table -->": lambda: _schema_table(model_schema.METADATA),
            "<!-- glassnet: architecture table -->":
                lambda: _schema_table(model_schema.ARCHITECTURE)}


def on_page_markdown(markdown, page, config, files):
    for marker, table in _generated_tables().items():
        if marker in markdown:
            markdown = markdown.replace(marker, table())
    return markdown


def _help(args):
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", TERM="dumb")
    result = subprocess.run([sys.executable, "-m", "glassnet", *args, "--help"],
                            capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise PluginError(f"glassnet {' '.join(args)} --help failed:\n{result.stderr}")
    return result.stdout.rstrip()


def _cli_page():
    top = _help([])
    commands = []
    in_commands = False
    for line in top.splitlines():
        if line.strip().lower().startswith("commands"):
            in_commands = True
            continue
        if in_commands:
            match = re.match(r"\s{2,}([a-z][\w-]*)\b", line)
            if match:
                commands.append(match.group(1))
            elif line.strip() and not line.startswith(" "):
                in_commands = False
    parts = ["# Command line", "",
             ("The `glassnet` command (install with `pip install \"glassnet[cli]\"`). Each "
              "section is the command's own `--help`, captured when this site was built."),
             "", "```text", "$ glassnet --help", top, "```", ""]
    for command in commands:
        parts += [f"## glassnet {command}", "", "```text", f"$ glassnet {command} --help",
                  _help([command]), "```", ""]
    return "\n".join(parts)


# -- tutorials --------------------------------------------------------------------------------
# Run first in every kernel, not shown: figures as PNG at a fixed size, printed arrays short.
SETUP = """\
%matplotlib inline
import matplotlib
matplotlib.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "figure.figsize": (7, 4.2)})
%config InlineBackend.figure_formats = ["png"]
import numpy
numpy.set_printoptions(precision=6, suppress=False, linewidth=100)
"""

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _code_fingerprint():
    """A hash of glassnet's source, so a served site re-runs tutorials when the code changes."""
    import glassnet

    digest = hashlib.sha256()
    for path in sorted(Path(glassnet.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def execute_tutorial(path, timeout=600):
    """Execute one jupytext percent-format file; return the executed notebook."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(SETUP, metadata={"tags": ["setup"]}))
    with tempfile.TemporaryDirectory(prefix="glassnet-tutorial-") as workdir:
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": workdir}})
        client.execute()
    return notebook


def notebook_to_markdown(notebook, stem):
    """Markdown for an executed notebook and ``{file name: PNG bytes}`` for its figures."""
    out, images = [], {}
    for cell in notebook.cells:
        if "setup" in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "markdown":
            out += [cell.source, ""]
            continue
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        out += ["```python", cell.source.rstrip(), "```", ""]
        text = []
        for output in cell.get("outputs", []):
            kind = output.output_type
            if kind == "stream":
                text.append(output.text)
                continue
            if kind not in ("execute_result", "display_data"):
                continue
            data = output.data
            if "image/png" in data:
                _flush_text(text, out)
                name = f"{stem}-figure-{len(images) + 1}.png"
                images[name] = base64.b64decode(data["image/png"])
                out += ['<div class="nb-output nb-figure" markdown>', "",
                        f"![figure {len(images)}]({stem}_files/{name})", "", "</div>", ""]
            elif "text/markdown" in data:
                _flush_text(text, out)
                out += [data["text/markdown"], ""]
            elif "text/html" in data:
                _flush_text(text, out)
                out += ['<div class="nb-output nb-html">', data["text/html"], "</div>", ""]
            elif "text/plain" in data:
                text.append(data["text/plain"] + "\n")
        _flush_text(text, out)
    return "\n".join(out), images


def _flush_text(text, out):
    """Append the printed text collected so far to ``out`` as one output block."""
    if text:
        body = ANSI.sub("", "".join(text)).rstrip("\n")
        out.extend(['<div class="nb-output" markdown>', "", "```text", body, "```", "",
                    "</div>", ""])
        text.clear()


def _run_one(path, fingerprint):
    key = (path.name, hashlib.sha256(path.read_bytes()).hexdigest(), fingerprint)
    if key in _cache:
        return _cache[key]
    start = time.perf_counter()
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        notebook = execute_tutorial(path)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        # a failing cell fails the build, with the cell's traceback
        raise PluginError(f"tutorial {path.name} failed:\n{ANSI.sub('', str(exc))}") from None
    markdown, images = notebook_to_markdown(notebook, path.stem)
    import glassnet

    markdown += (
        "\n---\n\n*This page was generated by running "
        f"[`docs/tutorials/{path.name}`]({path.name}) with glassnet {glassnet.__version__} "
        f"when the site was built ({time.perf_counter() - start:.0f} s). Run it yourself "
        f"with `python docs/tutorials/{path.name}`, or open it as a notebook with "
        "[jupytext](https://jupytext.readthedocs.io).*\n")
    log.info("executed %s in %.1f s", path.name, time.perf_counter() - start)
    _cache[key] = (markdown, images)
    return markdown, images


def _not_executed(path):
    page = (f"# {path.stem}\n\n*Not executed in this build (`GLASSNET_DOCS_QUICK=1`): run "
            f"`python docs/tutorials/{path.name}`.*\n")
    return page, {}


def run_tutorials(docs_dir):
    paths = sorted((Path(docs_dir) / TUTORIALS).glob("[0-9]*.py"))
    if os.environ.get("GLASSNET_DOCS_QUICK") == "1":
        log.info("GLASSNET_DOCS_QUICK=1: the tutorials are not executed in this build")
        return {path: _not_executed(path) for path in paths}
    fingerprint = _code_fingerprint() if _serving else None
    workers = min(len(paths), os.cpu_count() or 1, 4) or 1
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return dict(zip(paths, pool.map(lambda p: _run_one(p, fingerprint), paths)))


def _add(files, config, src_uri, content=None, abs_src_path=None):
    existing = files.get_file_from_path(src_uri)
    if existing is not None:
        files.remove(existing)
    if abs_src_path is not None:
        files.append(File.generated(config, src_uri, abs_src_path=abs_src_path))
    else:
        files.append(File.generated(config, src_uri, content=content))


def on_files(files, config):
    for src_uri, content in _reference_pages(config["glassnet_modules"],
                                             config.get("glassnet_written_reference", ()),
                                             config["docs_dir"]).items():
        _add(files, config, src_uri, content)
    for path, (markdown, images) in run_tutorials(config["docs_dir"]).items():
        _add(files, config, f"{TUTORIALS}/{path.stem}.md", markdown)
        for name, data in images.items():
            _add(files, config, f"{TUTORIALS}/{path.stem}_files/{name}", data)
    try:
        import mathjax
    except ImportError:
        raise PluginError("the docs need MathJax from the django-static-mathjax package: "
                          "pip install -e '.[docs]'") from None
    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / MATHJAX_FILE
    _add(files, config, f"assets/mathjax/{MATHJAX_FILE}", abs_src_path=str(source))
    try:
        playground = files_for_site(ROOT)
    except PlaygroundBuildError as exc:
        raise PluginError(str(exc)) from None
    for src_uri, content in playground.items():
        if isinstance(content, Path):
            _add(files, config, src_uri, abs_src_path=str(content))
        else:
            _add(files, config, src_uri, content)
    return files


# -- the "Try glassnet" page --------------------------------------------------------------------
TRY_MARKER = "<!-- the README's network-by-hand example -->"


def readme_example(readme=ROOT / "README.md", heading="network by hand"):
    """The first Python block under the README's heading that contains ``heading``."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(r"^#+ [^\n]*" + re.escape(heading) + r"[^\n]*\n(.*?)^```python\n(.*?)^```",
                      text, re.IGNORECASE | re.MULTILINE | re.DOTALL)
    if match is None:
        raise PluginError(f"docs/try.md shows the README's example under a heading with "
                          f"{heading!r}, and {readme} has no such heading with a ```python block")
    return match.group(2)


def on_page_markdown(markdown, page, config, files):
    if TRY_MARKER in markdown:
        import html

        code = html.escape(readme_example())
        editor = (f'<textarea id="try-source" class="try-source" spellcheck="false" wrap="off" '
                  f'aria-label="Python code to run" rows="{code.count(chr(10)) + 2}">'
                  f'{code}</textarea>')
        markdown = markdown.replace(TRY_MARKER, editor)
    return markdown


# -- offline check ----------------------------------------------------------------------------
def on_post_build(config):
    problems = external_references(config["site_dir"])
    if problems:
        shown = "\n".join(f"  {page}: {url}" for page, url in problems[:20])
        raise PluginError(f"the built site loads {len(problems)} resource(s) from the network "
                          f"and would not work offline:\n{shown}")
