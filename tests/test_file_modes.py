"""Every file glassnet writes gets the permissions the user's umask gives, atomically."""

import os
import stat
from contextlib import contextmanager

import pytest

from glassnet.io import atomic_write, write_text


@contextmanager
def umask(mask):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_follows_the_umask(tmp_path, mask, expected):
    path = tmp_path / "report.json"
    with umask(mask):
        write_text(path, "{}\n")
        assert mode(path) == expected
        write_text(path, "{}\n")  # replacing a file gives the same mode
    assert mode(path) == expected and path.read_text() == "{}\n"
    assert os.listdir(tmp_path) == ["report.json"]


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    path = tmp_path / "model.glassnet"
    write_text(path, "old")
    with pytest.raises(RuntimeError), atomic_write(path) as handle:
        handle.write(b"half a fi")
        raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.glassnet"]


def test_train_command_files_are_readable_by_others(tmp_path):
    pytest.importorskip("click")
    pytest.importorskip("matplotlib")
    from glassnet.cli import main

    out = tmp_path / "run"
    with umask(0o022):
        assert main(["train", "wisconsin", "--epochs", "3", "--quiet", "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert "model.glassnet" in written and "metrics.json" in written
    for name in written:
        assert mode(out / name) == 0o644, name
