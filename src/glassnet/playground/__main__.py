"""``python -m glassnet.playground [--host HOST] [--port PORT] [--no-browser]``."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m glassnet.playground",
        description="Watch glassnet's engine learn, in the browser (a local server).")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    try:
        from .server import serve
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return serve(host=args.host, port=args.port, open_browser=not args.no_browser)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
