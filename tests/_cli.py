"""Running the command line inside a test: ``run(capsys, "train", "xor", ...)``."""

from glassnet.cli import main


def run(capsys, *args):
    """``(exit status, stdout, stderr)`` of ``glassnet ARGS`` (arguments as strings)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err
