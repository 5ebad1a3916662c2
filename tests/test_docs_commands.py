"""The docs' shell commands run verbatim: Getting started and every how-to page, in
order, in a fresh folder; and each example run of "What glassnet tells you, and why"
prints the note it stands for.

Only ``glassnet`` commands run: those that install (``pip``, ``npm``), build the site
(``mkdocs``), run the test suite or start servers (``dask scheduler``, ``python -m
http.server``) are the reader's own tools. Of the ``glassnet`` commands, two kinds are
left out: ``glassnet playground`` (a server that runs until Ctrl-C) and a search on
the reader's Dask cluster (``--dask tcp://...``). The CSV files a page assumes its
reader has (``patients.csv``, ``my.csv``, ...) are written first, with the columns
the page names.
"""

import itertools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [DOCS / "getting-started.md", *sorted((DOCS / "how-to").glob("*.md"))]
def runnable(words):
    """A ``glassnet`` command that ends by itself on this machine."""
    if not words or words[0] != "glassnet" or words[1:2] == ["playground"]:
        return False
    return not any(a == "--dask" and b.startswith("tcp://") for a, b in itertools.pairwise(words))


def shell_commands(markdown):
    """The runnable commands of a page's ``bash`` blocks (:func:`runnable`), in order,
    continuation lines joined, comments dropped, ``a && b`` as two commands."""
    commands = []
    for block in re.findall(r"^```(?:bash|sh|shell)\n(.*?)^```", markdown,
                            flags=re.DOTALL | re.MULTILINE):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if runnable(words):
                    commands.append(words)
    return commands


def _patients(rng, n, with_target=True):
    age = rng.integers(25, 80, n)
    pressure = rng.normal(130, 15, n).round(1)
    cholesterol = rng.normal(220, 40, n).round(0)
    risk = 0.04 * (age - 50) + 0.03 * (pressure - 130) + 0.01 * (cholesterol - 220)
    outcome = np.where(risk + rng.normal(0, 0.5, n) > 0, "sick", "healthy")
    header = "age,pressure,cholesterol" + (",outcome" if with_target else "")
    rows = [f"{a},{p},{c}" + (f",{o}" if with_target else "")
            for a, p, c, o in zip(age, pressure, cholesterol, outcome)]
    return header + "\n" + "\n".join(rows) + "\n"


def write_reader_files(folder):
    """What the how-to pages assume the reader brings: a patients table with a text
    target ``outcome``, new rows without it, labelled rows, and ``my.csv`` with a
    ``label`` column."""
    rng = np.random.default_rng(0)
    (folder / "patients.csv").write_text(_patients(rng, 200))
    (folder / "new_patients.csv").write_text(_patients(rng, 10, with_target=False))
    (folder / "labelled_patients.csv").write_text(_patients(rng, 40))
    X = rng.normal(size=(120, 3))
    label = (X[:, 0] * X[:, 1] > 0).astype(int)
    lines = ["a,b,c,label"] + [f"{a:.4f},{b:.4f},{c:.4f},{y}" for (a, b, c), y in zip(X, label)]
    (folder / "my.csv").write_text("\n".join(lines) + "\n")


def run_glassnet(words, folder):
    assert words[0] == "glassnet", f"not a glassnet command: {words}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "glassnet", *words[1:]], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=900, check=False)


def test_commands_are_extracted_as_a_reader_types_them():
    page = ("```bash\npip install x && glassnet train wisconsin   # first\n"
            "glassnet train a.csv --hidden 4 \\\n    --lr 0.1\nglassnet playground\n"
            "npm ci   # the runtime\ndask worker tcp://10.0.0.5:8786\n"
            "glassnet search d.csv --param alpha=1e-5:1e-1:log --dask tcp://10.0.0.5:8786\n"
            "glassnet search d.csv --param alpha=1e-5:1e-1:log --dask local\n```\n")
    assert shell_commands(page) == [["glassnet", "train", "wisconsin"],
                                    ["glassnet", "train", "a.csv", "--hidden", "4", "--lr",
                                     "0.1"],
                                    ["glassnet", "search", "d.csv", "--param",
                                     "alpha=1e-5:1e-1:log", "--dask", "local"]]


def _pages_with_commands():
    return [page for page in PAGES if shell_commands(page.read_text(encoding="utf-8"))]


@pytest.mark.slow  # each page's commands train for real: 80 s in all; CI runs them
@pytest.mark.parametrize("page", _pages_with_commands(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_commands_run_verbatim_in_order(page, tmp_path):
    commands = shell_commands(page.read_text(encoding="utf-8"))
    write_reader_files(tmp_path)
    for words in commands:
        done = run_glassnet(words, tmp_path)
        assert done.returncode == 0, (f"{page.name}: {shlex.join(words)} exited "
                                      f"{done.returncode}\n{done.stdout[-2000:]}\n"
                                      f"{done.stderr[-2000:]}")


def diagnostic_examples():
    """``(note, command)`` for each row of the diagnostics page whose example is a
    ``glassnet`` command."""
    text = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2].startswith("`glassnet "):
            note = re.match(r"`([^`]*)`", cells[0]).group(1)
            rows.append((note, cells[2].strip("`")))
    return rows


def test_the_diagnostics_page_has_an_example_for_each_note():
    notes = [note for note, _ in diagnostic_examples()]
    for begins in ("error: training diverged", "the training loss grew",
                   "the training loss went up and down", "the training loss hardly moved",
                   "the test loss was lowest at epoch",
                   "the training loss and the test loss were still falling",
                   "the network does worse than", "all 4 gradients agree"):
        assert begins in notes


@pytest.mark.parametrize("note,command", diagnostic_examples(), ids=lambda v: v[:40])
def test_each_diagnostics_example_prints_its_note(note, command, tmp_path):
    words = shlex.split(command) + (["--quiet", "--plots", "none", "--out", "run"]
                                    if command.startswith("glassnet train") else [])
    done = run_glassnet(words, tmp_path)
    printed = done.stdout + done.stderr
    if note.startswith("error:"):
        assert done.returncode == 1 and note in done.stderr, printed
    else:
        assert done.returncode == 0, printed
        lines = [line for line in printed.splitlines()
                 if line.startswith((f"note: {note}", note))]
        assert lines, f"{command}: no line beginning {note!r}\n{printed}"
