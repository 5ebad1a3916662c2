"""``glassnet playground``: watch the engine learn, in the browser (a local server)."""

from __future__ import annotations

import click

from .errors import CLIError, debug_option


@click.command("playground")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default keeps the playground to this machine; "
                   "another address prints a warning.")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port to listen on (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Print the address without opening a browser.")
@click.option("--token", default=None,
              help="Every request must carry this token (?token=... in the printed address), "
                   "as with Jupyter. Default: a random one when --host is not a loopback "
                   "address, none on loopback; --token '' turns the check off.")
@debug_option
def playground(host, port, no_browser, token, debug):
    """Watch glassnet's own engine learn, in the browser.

    Starts a local web server and opens its page: TensorFlow Playground's
    controls (data, features, layers, optimiser, learning rate, batch size)
    on glassnet's Network, optimisers and Trainer, plus a step inspector that
    shows one step's forward and backward pass as numbers, the loss landscape
    of the run, and downloads of the model file and of a Python snippet that
    trains the same network. Ctrl-C stops the server. Needs the playground
    extra: pip install 'glassnet[playground]'.

    \b
    Examples:
      glassnet playground
      glassnet playground --port 8000 --no-browser
      glassnet playground --host 0.0.0.0     # prints an address with ?token=...
    """
    try:
        from ..playground.server import serve
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    try:
        serve(host=host, port=port, open_browser=not no_browser, token=token)
    except OSError as exc:
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


command = playground
