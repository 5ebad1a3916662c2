"""Every flag does what its help says, and every error line speaks the user's terms."""

import ast
import inspect
import json
import re
import textwrap

import numpy as np
import pytest

pytest.importorskip("sklearn")
click = pytest.importorskip("click")
from _cli import run
from click.testing import CliRunner

from glassnet.cli.app import cli

READERS = ("train", "search", "compare", "gradcheck", "landscape")
DATA_OPTIONS = {"target", "missing", "one_hot", "task", "sep"}


def _body_names(function):
    """The names a function's body reads (its signature and docstring left out)."""
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(function)))
    tree = ast.parse(source).body[0]
    body = tree.body[1:] if isinstance(tree.body[0], ast.Expr) else tree.body
    return {node.id for statement in body for node in ast.walk(statement)
            if isinstance(node, ast.Name)}


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_option_reaches_the_code(name):
    """Walk the command's --help: each option it lists must be read by the command's
    code (an option that changes nothing is a defect)."""
    command = cli.commands[name]
    helped = CliRunner().invoke(cli, [name, "--help"]).output
    read = _body_names(command.callback)
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in ("debug", "help"):
            continue
        assert param.opts[0] in helped, f"{name}: {param.opts[0]} missing from --help"
        assert param.help, f"{name}: {param.opts[0]} has no help text"
        if not param.expose_value:  # an eager flag that acts through its callback
            assert param.callback is not None, f"{name}: {param.opts[0]} does nothing"
            continue
        assert param.name in read, f"{name}: {param.opts[0]} is never read by the command"


def test_every_command_that_reads_a_table_takes_the_same_data_options():
    seen = {}
    for name in READERS:
        params = {p.name: p for p in cli.commands[name].params}
        assert DATA_OPTIONS <= set(params), (name, DATA_OPTIONS - set(params))
        seen[name] = [(p.opts, getattr(p.type, "choices", None)) for n, p in params.items()
                      if n in DATA_OPTIONS]
    assert len({repr(v) for v in seen.values()}) == 1, seen


# -- compare --lockstep ---------------------------------------------------------------------
def _final_loss(out):
    return float(re.search(r"│ glassnet\s+│\s+│\s+│\s+([\d.]+)", out).group(1))


def test_lockstep_honours_alpha(capsys, tmp_path):
    losses = []
    for alpha in ("0", "1"):
        code, out, err = run(capsys, "compare", "heart", "--lockstep", "--hidden", "4",
                             "--epochs", "3", "--models", "glassnet", "--alpha", alpha,
                             "--out", tmp_path / alpha)
        assert code == 0, err
        assert f"alpha {alpha}," in out
        losses.append(_final_loss(out))
    # the penalty alpha/(2m)·‖W‖² adds to every batch loss: a larger alpha, a larger loss
    assert losses[1] > losses[0] + 1e-3


@pytest.mark.parametrize("args,flag", [
    (["--lockstep", "--folds", "3"], "--folds"),
    (["--lockstep", "--max-iter", "5"], "--max-iter"),
    (["--lockstep", "--early-stopping"], "--early-stopping"),
    (["--epochs", "3"], "--epochs"),
    (["--lr", "0.1"], "--lr"),
    (["--out", "somewhere"], "--out"),
])
def test_compare_refuses_an_option_its_mode_would_ignore(capsys, args, flag):
    code, _, err = run(capsys, "compare", "heart", "--models", "linear", *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag} ")


def test_lockstep_writes_where_its_help_says(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    helped = CliRunner().invoke(cli, ["compare", "--help"]).output
    assert "runs/lockstep-<data>-<time>" in " ".join(helped.split())
    code, _, err = run(capsys, "compare", "heart", "--lockstep", "--hidden", "2",
                         "--epochs", "1", "--models", "glassnet")
    assert code == 0, err
    made = list((tmp_path / "runs").iterdir())
    assert len(made) == 1 and made[0].name.startswith("lockstep-heart-")
    assert (made[0] / "lockstep.png").exists()


# -- error lines and reports in the user's terms -------------------------------------------
def test_numpy_scalars_are_written_as_the_user_wrote_them():
    from glassnet.cli.errors import user_terms

    assert user_terms("unknown category np.str_('medium') in 'level'") == \
        "unknown category 'medium' in 'level'"
    assert user_terms("got np.float64(1.5) and\nnp.int64(-3)") == "got 1.5 and -3"
    assert user_terms("np.str_('a (b)')") == "'a (b)'"


def test_an_error_writing_a_file_names_the_users_file(capsys, tmp_path):
    code, _, _ = run(capsys, "train", "xor", "--quiet", "--plots", "none",
                     "--out", tmp_path / "x")
    assert code == 0
    target = tmp_path / "missing-folder" / "p.csv"
    code, _, err = run(capsys, "predict", tmp_path / "x" / "model.glassnet", "xor",
                       "--out", target)
    assert code == 1
    assert str(target) in err and ".tmp-" not in err


def test_a_report_without_test_rows_speaks_of_training_rows_only(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "xor", "--quiet", "--plots", "none",
                       "--out", tmp_path / "x")
    assert code == 0
    header = next(line for line in out.splitlines() if "metric" in line)
    assert "train" in header and "test" not in header
    assert "confusion matrix (training rows)" in out
    assert "test rows" not in out and "(test)" not in out
    # the rows are learnt (loss 0.0007 of 0.69): no "still learning, more epochs"
    assert "still learning" not in out
    metrics = json.loads((tmp_path / "x" / "metrics.json").read_text())
    assert metrics["train"]["accuracy"] == 1.0


def test_a_report_with_test_rows_still_shows_them(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "heart", "--epochs", "3", "--quiet", "--plots", "none",
                       "--out", tmp_path / "h")
    assert code == 0
    header = next(line for line in out.splitlines() if "metric" in line)
    assert "train" in header and "test" in header
    assert "confusion matrix (test rows)" in out


def test_the_advisor_is_numpy_only():
    import subprocess
    import sys

    code = ("import sys, glassnet.advice; "
            "print(sorted(m for m in ('sklearn', 'click', 'rich', 'pandas') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert found == "[]"
    assert np  # the advisor reads NumPy arrays
