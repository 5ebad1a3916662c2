"""Playground speed: screen updates and training steps per second, measured in the browser.

Starts ``python -m glassnet.playground`` (or uses ``--url``), opens the page in
headless Chromium through Playwright, presses play and reads the page's own
counters (``window.glassnetPlayground.stats()``: frames drawn, frames and bytes
received, the engine's step and epoch) at the start and end of a window.
Every view is on: the output plane with its points, every unit's tile, the
links, the loss curves, the gradient norms and the unit health are drawn on
every frame. Also prints the Python side of one update (training, snapshot)
timed in this process, to show where the time goes.

    python benchmarks/playground_fps.py              # 10 s per setup
    python benchmarks/playground_fps.py --quick      # 2 s, the headline setup only
    python benchmarks/playground_fps.py --site site  # the docs' in-browser version (Pyodide)

With ``--site`` the built documentation site is served by a plain static
server and the page runs glassnet under Pyodide in its Web Worker; the Python
column is then left out (that Python runs in the browser, and the page's own
counters already include it).
"""

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

CHROMIUM = os.environ.get("GLASSNET_CHROMIUM", "/usr/bin/chromium")

# (what, URL query): the headline is the 2-6-6-1 network on 500 points
SETUPS = [
    ("2-6-6-1, 500 points, batch 10, 1 epoch/update",
     "data=spirals&points=500&hidden=6,6&act=tanh,tanh&batch=10&speed=1&showtest=1"),
    ("2-6-6-1, 500 points, batch 10, 1 step/update",
     "data=spirals&points=500&hidden=6,6&act=tanh,tanh&batch=10&speed=0&showtest=1"),
    ("2-6-6-1, 500 points, full batch, 20 epochs/update",
     "data=spirals&points=500&hidden=6,6&act=tanh,tanh&batch=full&speed=20&showtest=1"),
    ("7-8-8-8-1 (all 7 features), 2000 points, batch 32, 1 epoch/update",
     ("data=spirals&points=2000&features=x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2&hidden=8,8,8"
      "&act=tanh,tanh,tanh&batch=32&speed=1&showtest=1")),
    ("Wisconsin 9-16-16-1 (PCA plane), batch 10, 1 epoch/update",
     "data=wisconsin&hidden=16,16&act=relu,relu&batch=10&speed=1&opt=adam&lr=0.003"),
]


def start_server():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    process = subprocess.Popen([sys.executable, "-m", "glassnet.playground", "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    match = re.search(r"(http://\S+/)", process.stdout.readline())
    if not match:
        process.kill()
        sys.exit(f"the playground did not start: {process.stderr.read()}")
    return process, match.group(1)


def serve_site(site):
    """A plain static file server for a built site on 127.0.0.1; returns the page's URL."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/playground/index.html"


def measure(page, url, query, seconds):
    page.goto(f"{url}#{query}")
    page.wait_for_function("() => window.glassnetPlayground && "
                           "window.glassnetPlayground.stats().frames > 0", timeout=180_000)
    page.click("[data-testid=play]")
    time.sleep(min(1.0, seconds / 2))  # warm up
    first = page.evaluate("window.glassnetPlayground.stats()")
    time.sleep(seconds)
    last = page.evaluate("window.glassnetPlayground.stats()")
    page.click("[data-testid=play]")
    elapsed = (last["now"] - first["now"]) / 1000
    received = max(1, last["received"] - first["received"])
    return {
        "fps": (last["frames"] - first["frames"]) / elapsed,
        "steps": (last["step"] - first["step"]) / elapsed,
        "epochs": (last["epoch"] - first["epoch"]) / elapsed,
        "kb": (last["bytes"] - first["bytes"]) / received / 1024,
        "draw": (last["drawMs"] - first["drawMs"]) / max(1, last["frames"] - first["frames"]),
    }


def python_side(query, repeats):
    """Median milliseconds of one update's training and of its snapshot, in this process."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    from glassnet.playground import Config, Session
    from glassnet.playground.server import _one_blas_thread

    _one_blas_thread()  # as the server does
    session = Session(Config.from_query(query))
    train, snap = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        session.advance(0.03)
        middle = time.perf_counter()
        json.dumps(session.frame())
        train.append(1000 * (middle - started))
        snap.append(1000 * (time.perf_counter() - middle))
    return median(train), median(snap)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s, the headline setup only")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--url", help="a running playground (default: start one)")
    parser.add_argument("--site", help="a built docs site: measure its in-browser playground")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    seconds = 2.0 if args.quick else args.seconds
    setups = SETUPS[:1] if args.quick else SETUPS
    if args.site:
        process, url = None, serve_site(args.site)
    else:
        process, url = (None, args.url) if args.url else start_server()
    load = os.getloadavg()
    where = "in-browser version (Pyodide in a Web Worker)" if args.site else "server version"
    print(f"# glassnet playground, {where}: screen updates per second, measured in the "
          f"browser\n")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; headless Chromium ({CHROMIUM}), 1400×1000 window")
    print(f"- load average when the measurement started: {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} (other work on the machine shares the cores)")
    print(f"- {seconds:g} s per setup after a warm-up; every view drawn on every frame\n")
    print("| setup | screen updates per second | training steps per second | epochs per "
          "second | KB per frame | Python per update: training + snapshot (ms) | JavaScript "
          "drawing per frame (ms) |")
    print("|---|---|---|---|---|---|---|")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name, query in setups:
                r = measure(page, url, query, seconds)
                python = "in the browser"
                if not args.site:
                    train, snap = python_side(query, 10 if args.quick else 50)
                    python = f"{train:.1f} + {snap:.1f}"
                print(f"| {name} | {r['fps']:.1f} | {r['steps']:,.0f} | {r['epochs']:.1f} | "
                      f"{r['kb']:.1f} | {python} | {r['draw']:.1f} |", flush=True)
            browser.close()
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
