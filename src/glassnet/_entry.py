"""The ``glassnet`` console script: a clear message when the CLI's extras are missing."""

import sys


def main():
    try:
        from .cli import main as cli_main
    except ImportError as exc:
        print(f"error: the glassnet command needs the cli extra ({exc.name} is missing): "
              f"pip install 'glassnet[cli]'", file=sys.stderr)
        return 1
    return cli_main()
