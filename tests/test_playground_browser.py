"""The playground in a real browser: headless Chromium driven by Playwright.

What only a browser can check: the page connects, trains when play is pressed,
draws, downloads the model, shows upload errors, and keeps its setup in the URL.
Without Chromium these tests skip; install it with ``apt-get install chromium``
(Debian and Ubuntu) or point ``GLASSNET_CHROMIUM`` at a Chromium binary.
The screenshots go to ``GLASSNET_ARTIFACTS`` (a temporary folder by default).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = os.environ.get("GLASSNET_CHROMIUM", "/usr/bin/chromium")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"the browser tests need Chromium at {CHROMIUM}: install it with "
                f"`apt-get install chromium` (Debian/Ubuntu) or set GLASSNET_CHROMIUM",
                allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the browser tests need Playwright for "
                    "Python: pip install -e '.[test]'")
pytest.importorskip("starlette")
from _playground_page import BOUNDARY_PIXELS, artifacts_folder, epoch, number, pause, sel
from _playground_process import start, stop
from playwright.sync_api import sync_playwright

from glassnet.io import load_model
from glassnet.playground.config import Config
from glassnet.playground.data import build_data

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 90_000  # ms; the machine may be busy


@pytest.fixture(scope="module")
def server():
    process, url = start()
    yield url
    code, _, err = stop(process)
    assert code == 0, err


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.problems = problems
    yield page
    context.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    return artifacts_folder(tmp_path_factory)


def open_page(page, url, query=""):
    page.goto(url + ("#" + query if query else ""))
    page.wait_for_function("() => window.glassnetPlayground && "
                           "window.glassnetPlayground.stats().frames > 0", timeout=TIMEOUT)


def test_train_inspect_export_and_upload(page, server, artifacts, tmp_path):
    open_page(page, server, "features=x1,x2,sinx1,sinx2&hidden=8,8&speed=2&lr=0.03")
    page.select_option(sel("dataset"), "spirals")
    # the link changes at once; the engine's answer is the page's config
    page.wait_for_function("() => window.glassnetPlayground.config().data === 'spirals'",
                           timeout=TIMEOUT)
    page.wait_for_function("() => document.querySelector('[data-testid=train-loss]').dataset.value",
                           timeout=TIMEOUT)
    before = number(page, "train-loss")
    assert epoch(page) == 0

    page.click(sel("play"))
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent)"
                           " > 50", timeout=TIMEOUT)
    assert page.evaluate("window.glassnetPlayground.stats().playing")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent)"
                           " > 400", timeout=TIMEOUT)  # long enough for a clear picture
    pause(page)
    after = number(page, "train-loss")
    assert after < 0.5 * before, (before, after)
    assert float(page.inner_text(sel("train-loss"))) == pytest.approx(after, abs=6e-5)
    pixels = page.evaluate(BOUNDARY_PIXELS)
    assert pixels["colours"] > 200 and pixels["orange"] > 500 and pixels["blue"] > 500, pixels
    assert page.inner_text(sel("error")) == ""

    # the glass box: one step on one training point, and the landscape of the run
    page.click("#inspect-worst")
    page.wait_for_selector(".inspector-body .steps", timeout=TIMEOUT)
    assert "dW = Xᵀ·dZ" in page.inner_text("#inspector")
    page.click("#landscape-button")
    page.wait_for_function("() => document.getElementById('landscape-notes').textContent"
                           ".includes('off this plane')", timeout=TIMEOUT)
    page.screenshot(path=str(artifacts / "playground-full.png"), full_page=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "playground.png"),
                    clip={"x": 0, "y": 0, "width": 1400, "height": 905})

    # the downloaded model predicts the test rows with the loss the page shows
    with page.expect_download(timeout=TIMEOUT) as download:
        page.click(sel("export-model"))
    model_path = tmp_path / "model.glassnet"
    download.value.save_as(model_path)
    model = load_model(model_path)
    config = Config.from_query(page.evaluate("location.hash"))
    assert config.data == "spirals" and config.hidden == (8, 8)
    data = build_data(config)
    assert model.feature_names == ["x1", "x2", "sin(x1)", "sin(x2)"]
    proba = np.clip(model.predict_proba(data.X[data.test])[:, 1], 1e-16, 1 - 1e-16)
    y = data.Y[data.test]
    test_loss = -np.mean(y * np.log(proba) + (1 - y) * np.log(1 - proba))
    assert test_loss == pytest.approx(number(page, "test-loss"), rel=1e-9)

    # the link reproduces the setup
    link = page.url
    other = page.context.new_page()
    open_page(other, link)
    assert other.evaluate("location.hash") == page.evaluate("location.hash")
    assert other.input_value(sel("dataset")) == "spirals"
    other.close()

    # a CSV that glassnet train would refuse is refused with the same words
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n5,6,x\n")
    page.set_input_files(sel("upload"), str(bad))
    page.wait_for_function("() => document.querySelector('[data-testid=error]').textContent"
                           ".includes('oops')", timeout=TIMEOUT)
    assert page.inner_text(sel("error")) == ("bad.csv: non-numeric value 'oops' in numeric "
                                                "column 'b' at line 3")
    assert page.input_value(sel("dataset")) == "spirals"  # the run is untouched
    assert not page.problems, page.problems


def test_controls_edit_the_network_and_step_the_engine(page, server):
    open_page(page, server, "data=xor&hidden=3&batch=full")
    assert page.text_content("#layers-title") == "1 hidden layer"
    page.click(sel("add-layer"))
    page.wait_for_function("() => window.glassnetPlayground.config().hidden.join() === '3,3'",
                           timeout=TIMEOUT)
    assert page.text_content("#layers-title") == "2 hidden layers"
    assert page.locator(".layer.hidden").count() == 2
    page.select_option(sel("learning-rate"), "0.3")
    page.wait_for_function("() => location.hash.includes('lr=0.3&')", timeout=TIMEOUT)
    page.click(sel("step"))
    page.wait_for_function("() => document.querySelector('[data-testid=epoch]').textContent"
                           " === '1'", timeout=TIMEOUT)  # a full batch: one step is one epoch
    assert page.inner_text("#steps").startswith("step 1")
    page.click(sel("reset"))
    page.wait_for_function("() => document.querySelector('#steps').textContent"
                           ".startsWith('step 0')", timeout=TIMEOUT)
    assert epoch(page) == 0 and page.inner_text(sel("error")) == ""
    assert not page.problems, page.problems


SELECT_LABELS_THAT_DO_NOT_FIT = """() => {
    const canvas = document.createElement('canvas').getContext('2d');
    const cut = [];
    for (const select of document.querySelectorAll('.controls select')) {
        const style = getComputedStyle(select);
        canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        // the room for text: the box less its padding (the arrow is drawn in the right one)
        const room = select.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight);
        for (const option of select.options) {
            if (canvas.measureText(option.text).width > room) cut.push(`${select.id}: ${option.text}`);
        }
    }
    return cut;
}"""


def test_every_choice_in_the_control_bar_fits_its_box(page, server):
    open_page(page, server)
    assert page.evaluate(SELECT_LABELS_THAT_DO_NOT_FIT) == []
    assert page.input_value("#init") == "glorot_uniform"
    assert page.evaluate("document.getElementById('init').selectedOptions[0].text") == "Glorot U"
    assert "fan_in + fan_out" in page.get_attribute("#init", "title")
    page.select_option("#init", "he_normal")
    page.wait_for_function("() => location.hash.includes('init=he_normal')", timeout=TIMEOUT)
    page.wait_for_function("() => document.getElementById('init').title.startsWith('He normal')",
                           timeout=TIMEOUT)


def test_a_regression_target_is_standardised_with_a_switch(page, server, artifacts):
    open_page(page, server, "data=bumps&hidden=6,6&speed=2&lr=0.03")
    box = page.locator("#scaletarget")
    assert box.is_visible() and box.is_checked()
    assert "standardised target (y − " in page.inner_text("#data-notes")
    page.click(sel("play"))
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent)"
                           " > 30", timeout=TIMEOUT)
    pause(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "playground-regression.png"),
                    clip={"x": 0, "y": 0, "width": 1400, "height": 905})
    box.uncheck()
    page.wait_for_function("() => location.hash.includes('scaletarget=0')", timeout=TIMEOUT)
    page.wait_for_function("() => !document.getElementById('data-notes').textContent"
                           ".includes('standardised') && document.querySelector("
                           "'[data-testid=epoch]').textContent === '0'", timeout=TIMEOUT)
    assert not box.is_checked()  # new data: the run starts again
    open_page(page, server, "data=moons")
    assert not page.locator("#scaletarget").is_visible()  # classification: nothing to scale
    assert not page.problems, page.problems


def test_dropout_and_batch_norm_train_and_the_page_draws_in_evaluation_mode(page, server,
                                                                           artifacts):
    open_page(page, server, "data=moons&hidden=8,8&speed=2&opt=adam&lr=0.01&batch=16")
    page.select_option(sel("dropout"), "0.2")
    page.wait_for_function("() => window.glassnetPlayground.config().dropout === 0.2",
                           timeout=TIMEOUT)
    page.check(sel("batchnorm"))
    page.wait_for_function("() => window.glassnetPlayground.config().batchnorm", timeout=TIMEOUT)
    assert "batch norm after each hidden X·W · dropout p = 0.2" in page.inner_text(
        "#network-summary")
    page.wait_for_function("() => document.querySelector('[data-testid=train-loss]').dataset.value",
                           timeout=TIMEOUT)
    before = number(page, "train-loss")
    page.click(sel("play"))
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent)"
                           " > 60", timeout=TIMEOUT)
    pause(page)
    after = number(page, "train-loss")
    assert after < 0.6 * before, (before, after)
    pixels = page.evaluate(BOUNDARY_PIXELS)
    assert pixels["colours"] > 50 and pixels["orange"] > 300 and pixels["blue"] > 300, pixels
    # the inspector says which pass it shows, with batch norm's running statistics
    page.click("#inspect-worst")
    page.wait_for_selector(".inspector-body .steps", timeout=TIMEOUT)
    text = page.text_content("#inspector")
    assert "Forward pass (evaluation mode)" in text and "μ = running_mean" in text
    assert "dropout p = 0.2 is off in evaluation mode" in text
    assert page.is_disabled("#inspect-apply")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "playground-dropout-batchnorm.png"),
                    clip={"x": 0, "y": 0, "width": 1400, "height": 905})
    page.screenshot(path=str(artifacts / "playground-dropout-batchnorm-full.png"), full_page=True)
    assert page.inner_text(sel("error")) == ""
    assert not page.problems, page.problems


@pytest.mark.slow
def test_the_frame_rate_benchmark_runs(server):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "playground_fps.py"),
                             "--quick", "--url", server], capture_output=True, text=True,
                            timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    assert "screen updates per second" in result.stdout


def test_a_server_for_other_hosts_works_through_its_token(page, tmp_path):
    """With --host 0.0.0.0 the printed address carries ?token=…; the page opened from it
    trains, uploads and downloads (its cookie carries the token), and without it the
    server answers 403."""
    process, url = start("--host", "0.0.0.0")
    try:
        assert "?token=" in url
        assert page.goto(url.split("?")[0]).status == 403
        open_page(page, url)
        page.click(sel("step"))
        page.wait_for_function("() => window.glassnetPlayground.stats().step >= 1",
                               timeout=TIMEOUT)
        csv = tmp_path / "mine.csv"
        csv.write_text("u,v,label\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(40)))
        page.set_input_files(sel("upload"), str(csv))
        page.wait_for_function("() => location.hash.includes('data=csv')", timeout=TIMEOUT)
        with page.expect_download(timeout=TIMEOUT) as download:
            page.click(sel("export-model"))
        assert download.value.suggested_filename == "model.glassnet"
        assert page.inner_text(sel("error")) == ""
    finally:
        code, _, err = stop(process)
    assert code == 0, err
