"""The glassnet playground: watch glassnet's own engine learn, in the browser.

``glassnet playground`` (or ``python -m glassnet.playground``) starts a local
web server and opens a page with TensorFlow Playground's controls (data,
input features, layers, optimiser, learning rate, batch size, …) on
glassnet's real :class:`~glassnet.network.Network`, optimisers and
:class:`~glassnet.training.Trainer`: every number on the page is computed
here, in Python, and the browser only draws. What the page adds: a step
inspector that shows one step's forward and backward pass as numbers with
their formulas, the loss landscape of the run, and an export of the model
file and of a Python snippet that trains the same network with
:func:`glassnet.train`.

The engine side is plain Python, usable and tested without a browser:

- :mod:`~glassnet.playground.config`: the settings and their URL form;
- :mod:`~glassnet.playground.data`: data sets, input features, split, view plane;
- :mod:`~glassnet.playground.session`: a run, its snapshots and step records;
- :mod:`~glassnet.playground.export`: model file, data CSV and snippet;
- :mod:`~glassnet.playground.protocol`: the page's messages and their answers.

The page (``static/``) reaches the protocol through one of two transports:
:mod:`~glassnet.playground.server` (Starlette on uvicorn; the ``playground``
extra) over a WebSocket, or the documentation site's static build, which runs
the same protocol under Pyodide in a Web Worker (``static/worker.js``).
"""

from .config import Config, ConfigError
from .session import Session

__all__ = ["Config", "ConfigError", "Session", "serve"]


def serve(host="127.0.0.1", port=0, open_browser=True):
    """Start the playground server (needs ``pip install 'glassnet[playground]'``)."""
    from .server import serve as _serve

    return _serve(host=host, port=port, open_browser=open_browser)
