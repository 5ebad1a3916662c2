"""Nothing of an earlier run is lost: a failed, full-disk or interrupted re-run into an
existing ``--out`` leaves its files exactly as they were; ``--out`` refuses what is not
a directory (or, for single-file outputs, a regular file) and links unless asked."""

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")
pytest.importorskip("matplotlib")

import glassnet.io
from glassnet.cli import main
from glassnet.cli.outputs import Outputs, _interrupts_held

TRAIN = ["train", "xor", "--epochs", "5", "--quiet"]


def snapshot(directory):
    """Every file's bytes and modification time: what 'exactly as they were' compares."""
    return {name: ((directory / name).read_bytes(), (directory / name).stat().st_mtime_ns)
            for name in sorted(os.listdir(directory))}


def no_staging_left(*directories):
    return not [name for d in directories for name in os.listdir(d)
                if name.startswith((".glassnet-staging", ".tmp-"))]


@pytest.fixture
def previous_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "--out", str(out)]) == 0
    capsys.readouterr()
    before = snapshot(out)
    assert {"model.glassnet", "metrics.json", "history.csv", "loss.png", "roc.png"} <= set(before)
    return out, before


def fail_at(monkeypatch, name, exception):
    """Make the atomic write of the file ``name`` raise ``exception`` (every file a
    command writes goes through glassnet.io.atomic_write)."""
    real = glassnet.io.atomic_write

    @contextmanager
    def failing(path, mode="wb"):
        if os.path.basename(path) == name:
            with real(path, mode) as handle:
                handle.write(b"partial")  # a half-written file, then the failure
                raise exception
        with real(path, mode) as handle:
            yield handle

    monkeypatch.setattr(glassnet.io, "atomic_write", failing)


@pytest.mark.parametrize("name", ["model.glassnet", "roc.png"])
def test_full_disk_rerun_leaves_previous_run_as_it_was(capsys, monkeypatch, previous_run, name):
    out, before = previous_run
    fail_at(monkeypatch, name, OSError(errno.ENOSPC, "No space left on device"))
    code = main([*TRAIN, "--out", str(out), "--seed", "3"])
    _, err = capsys.readouterr()
    assert code == 1 and "No space left on device" in err and "Traceback" not in err
    assert snapshot(out) == before
    assert no_staging_left(out, out.parent)


def test_interrupted_write_phase_leaves_previous_run_as_it_was(capsys, monkeypatch, previous_run):
    out, before = previous_run
    fail_at(monkeypatch, "history.csv", KeyboardInterrupt())
    code = main([*TRAIN, "--out", str(out), "--seed", "3"])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert snapshot(out) == before
    assert no_staging_left(out, out.parent)


def test_real_sigint_during_writes_leaves_previous_run_as_it_was(previous_run):
    out, before = previous_run
    # The child sends itself SIGINT as it writes the confusion matrix: a real signal,
    # delivered by the kernel, at a moment the test can name.
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        import glassnet.plots as plots
        from glassnet.cli import main
        real = plots.save_figure
        def save_figure(figure, path, dpi=110):
            if path.endswith("confusion_matrix.png"):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            return real(figure, path, dpi)
        plots.save_figure = save_figure
        sys.exit(main({[*TRAIN, "--out", str(out), "--seed", "3"]!r}))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env, check=False)
    assert proc.returncode == 130, proc.stderr
    assert "error: interrupted" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(out) == before
    assert no_staging_left(out, out.parent)


def test_successful_rerun_replaces_files_and_keeps_others(capsys, previous_run):
    out, before = previous_run
    (out / "notes.txt").write_text("mine")
    assert main([*TRAIN, "--out", str(out), "--seed", "3", "--plots", "none"]) == 0
    after = snapshot(out)
    assert after["model.glassnet"] != before["model.glassnet"]  # a new model, seed 3
    assert after["roc.png"] == before["roc.png"]  # not written this time: left alone
    assert (out / "notes.txt").read_text() == "mine"
    assert no_staging_left(out, out.parent)


def test_failed_first_run_leaves_nothing(capsys, monkeypatch, tmp_path):
    out = tmp_path / "new" / "run"
    fail_at(monkeypatch, "metrics.json", OSError(errno.ENOSPC, "No space left on device"))
    assert main([*TRAIN, "--out", str(out)]) == 1
    assert os.listdir(tmp_path) == []  # neither run/, its staging nor the parent it made


def test_ctrl_c_while_moving_into_place_is_held_until_every_file_moved(tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    (out / "a.txt").write_text("old a")
    (out / "b.txt").write_text("old b")
    real_replace = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        calls.append(dst)
        real_replace(src, dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt), Outputs(str(out)) as outputs:
        for name in ("a.txt", "b.txt"):
            with open(outputs.path(name), "w") as handle:
                handle.write(f"new {name[0]}")
    assert (out / "a.txt").read_text() == "new a" and (out / "b.txt").read_text() == "new b"
    assert len(calls) == 2 and no_staging_left(out, tmp_path)


def test_interrupts_held_delivers_one_keyboard_interrupt_after_the_block():
    done = []
    with pytest.raises(KeyboardInterrupt), _interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        done.append(True)
    assert done == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def assert_one_error(code, err, *fragments):
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture
def oddities(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    return fifo, a_file


def test_train_out_refuses_fifo_file_and_path_below_a_file(capsys, tmp_path, oddities):
    fifo, a_file = oddities
    for out, fragment in [(fifo, "is a FIFO"), (a_file, "is a regular file, not a directory"),
                          (a_file / "run", f"{a_file} is a regular file, not a directory")]:
        code, (_, err) = main([*TRAIN, "--out", str(out)]), capsys.readouterr()
        assert_one_error(code, err, "--out", fragment)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and a_file.read_text() == "keep me"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_out_never_replaces_a_device(capsys, tmp_path, previous_run):
    out, _ = previous_run
    code, (_, err) = main([*TRAIN, "--out", "/dev/full"]), capsys.readouterr()
    assert_one_error(code, err, "/dev/full is a character device")
    code = main(["predict", str(out / "model.glassnet"), "xor", "--out", "/dev/full"])
    assert_one_error(code, capsys.readouterr().err, "/dev/full is a character device")
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_predict_out_refuses_fifo_directory_and_path_below_a_file(capsys, previous_run,
                                                                  oddities):
    out, before = previous_run
    fifo, a_file = oddities
    model = str(out / "model.glassnet")
    for target, fragment in [(fifo, "is a FIFO"), (out, "is a directory"),
                             (a_file / "p.csv", "is a regular file, not a directory")]:
        code, (_, err) = main(["predict", model, "xor", "--out", str(target)]), \
            capsys.readouterr()
        assert_one_error(code, err, "--out", fragment)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and snapshot(out) == before


def test_atomic_write_refuses_to_replace_a_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        glassnet.io.write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_symlinks_written_through_only_with_follow_symlinks(capsys, tmp_path, previous_run):
    out, before = previous_run
    link = tmp_path / "latest"
    link.symlink_to(out)
    code, (_, err) = main([*TRAIN, "--out", str(link), "--seed", "3"]), capsys.readouterr()
    assert_one_error(code, err, "symbolic link", "--follow-symlinks")
    assert link.is_symlink() and snapshot(out) == before
    assert main([*TRAIN, "--out", str(link), "--seed", "3", "--follow-symlinks"]) == 0
    assert link.is_symlink() and snapshot(out)["model.glassnet"] != before["model.glassnet"]

    target = tmp_path / "predictions.csv"
    target.write_text("old")
    plink = tmp_path / "p.csv"
    plink.symlink_to(target)
    model = str(out / "model.glassnet")
    code, (_, err) = main(["predict", model, "xor", "--out", str(plink)]), capsys.readouterr()
    assert_one_error(code, err, "symbolic link")
    assert plink.is_symlink() and target.read_text() == "old"
    assert main(["predict", model, "xor", "--out", str(plink), "--follow-symlinks"]) == 0
    assert plink.is_symlink() and target.read_text().startswith("row,predicted_y")
