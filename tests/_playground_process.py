"""Start and stop ``python -m glassnet.playground`` as a user would, for the tests."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def environment():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start(*args, command=("glassnet.playground",)):
    """``(process, url)`` of a playground server on a free port, started with
    ``python -m glassnet.playground`` (or ``command=("glassnet", "playground")``)."""
    process = subprocess.Popen([sys.executable, "-m", *command, "--no-browser", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment())
    line = process.stdout.readline()
    match = re.search(r"(http://\S+/(?:\?token=\S+)?)", line)
    if not match:
        process.kill()
        raise AssertionError(f"no URL in {line!r}: {process.stderr.read()}")
    return process, match.group(1)


def stop(process, timeout=20):
    """Ctrl-C, then ``(returncode, stdout, stderr)``."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, err


def wait_until_serving(url, timeout=30):
    """Return once ``url`` answers 200: the server has finished starting."""
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    while True:
        try:
            with opener.open(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)
