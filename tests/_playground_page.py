"""What the playground's browser tests share: reading the page through its
``data-testid`` hooks, waiting for training, and the boundary canvas's colours.
The same page serves both versions (server and the docs' static build)."""

import os
from pathlib import Path

TIMEOUT = 120_000  # ms; the machine may be busy


def artifacts_folder(tmp_path_factory):
    """Where screenshots go: ``GLASSNET_ARTIFACTS``, or a temporary folder."""
    folder = os.environ.get("GLASSNET_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def sel(name):
    return f"[data-testid={name}]"


def number(page, name):
    return float(page.get_attribute(sel(name), "data-value") or "nan")


def epoch(page):
    return int(page.inner_text(sel("epoch")))


def wait_for_epoch(page, above, timeout=TIMEOUT):
    page.wait_for_function("(n) => Number(document.querySelector('[data-testid=epoch]')"
                           ".textContent) > n", arg=above, timeout=timeout)


def pause(page, timeout=TIMEOUT):
    if page.evaluate("window.glassnetPlayground.stats().playing"):
        page.click(sel("play"))
    page.wait_for_function("() => !window.glassnetPlayground.stats().playing", timeout=timeout)
    # the last frames in flight are drawn, then nothing changes
    page.wait_for_function("""() => {
        const s = window.glassnetPlayground.stats();
        const done = window._seen === s.received && s.frames > 0;
        window._seen = s.received;
        return done;
    }""", polling=400, timeout=timeout)


BOUNDARY_PIXELS = """() => {
    const c = document.querySelector('[data-testid=boundary]');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    let orange = 0, blue = 0;
    for (let i = 0; i < d.length; i += 4 * 7) {
        colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        if (d[i] > d[i + 2] + 60) orange++;
        if (d[i + 2] > d[i] + 60) blue++;
    }
    return {colours: colours.size, orange, blue};
}"""
