"""The playground's lessons in a real browser (headless Chromium, Playwright): the link
follows each change at once, classroom mode, a weight or a bias edited by hand reaching
the step inspector, the link's hover card, the problem switch and its toys, the
three-class toy's confusion matrix, the stop condition, the zero initialiser and
λ_max against 2/η. Skipped without Chromium, as test_playground_browser.py is."""
# ruff: noqa: F811 - the fixtures come from test_playground_browser and are taken by name

from urllib.parse import parse_qsl

import numpy as np
import pytest
from test_playground_browser import (  # noqa: F401 - fixtures, used by name
    TIMEOUT,
    artifacts,
    browser,
    epoch,
    number,
    open_page,
    page,
    pause,
    sel,
    server,
)

from glassnet.playground.config import Config


def link(page):
    return dict(parse_qsl(page.evaluate("location.hash")[1:], keep_blank_values=True))


def test_the_link_carries_a_change_at_once(page, server):
    open_page(page, server)
    # in the same task as the change: no answer from the engine can have come back yet
    hashes = page.evaluate("""() => {
        const seen = [];
        for (const [id, value] of [['lr', '0.3'], ['opt', 'adam'], ['batch', '32']]) {
            const select = document.getElementById(id);
            select.value = value;
            select.dispatchEvent(new Event('change'));
            seen.push(location.hash);
        }
        return seen;
    }""")
    assert "lr=0.3" in hashes[0] and "opt=adam" in hashes[1] and "batch=32" in hashes[2]
    assert "lr=0.3" in hashes[2]  # and the earlier change stays
    # then the engine's canonical link replaces it, once it has answered all three changes
    # (its answer to the first alone is canonical too, so wait for the last one's)
    page.wait_for_function("() => location.hash.startsWith('#data=circles&noise=')"
                           " && location.hash.includes('opt=adam')"
                           " && location.hash.includes('batch=32')", timeout=TIMEOUT)
    config = Config.from_query(page.evaluate("location.hash"))
    assert (config.lr, config.opt, config.batch) == (0.3, "adam", 32)
    # a setting the engine refuses puts the link back to the setup in use
    page.evaluate("""() => { const s = document.getElementById('seed'); s.value = '-4';
                             s.dispatchEvent(new Event('change')); }""")
    page.wait_for_function("() => document.querySelector('[data-testid=error]').textContent"
                           ".includes('seed')", timeout=TIMEOUT)
    page.wait_for_function("() => location.hash.includes('&seed=0&')", timeout=TIMEOUT)
    assert not page.problems, page.problems


def test_classroom_mode_hides_what_its_link_says_and_shows_the_lesson(page, server):
    lesson = "Press play and watch the first layer: do its units agree?"
    open_page(page, server, "hide=lr,opt,layers,inspector,export,upload&lesson="
              + lesson.replace(" ", "%20"))
    assert page.is_visible(sel("lesson")) and page.inner_text(sel("lesson")) == lesson
    for hidden in (sel("learning-rate"), "#opt", sel("add-layer"), "#inspector",
                   sel("export-model"), sel("upload"), ".layer-head .units"):
        assert not page.is_visible(hidden), hidden
    for shown in ("#sched", sel("play"), sel("dataset"), sel("boundary"), "#batch"):
        assert page.is_visible(shown), shown
    # the setup itself is untouched: it still trains at the link's rate
    assert link(page)["lr"] == "0.03" and link(page)["hide"] == "upload,layers,opt,lr,export,inspector"
    # hide=features: only the inputs in use are shown, and a click leaves them
    open_page(page, server, "hide=features")
    assert page.locator(".input-row:visible").count() == 2
    page.locator(".input-row:visible .node").first.click()
    page.wait_for_timeout(300)
    assert link(page)["features"] == "x1,x2" and page.inner_text(sel("error")) == ""
    # hide=edit: a link still has its card, but a click edits nothing
    open_page(page, server, "hide=edit")
    assert not page.is_visible("#edit-hint")
    point = page.evaluate("window.glassnetPlayground.linkPoint(1, 0, 1)")
    page.mouse.move(point["x"], point["y"])
    page.wait_for_selector("[data-testid=link-card]", state="visible", timeout=TIMEOUT)
    assert "click to set it" not in page.inner_text("[data-testid=link-card]")
    page.mouse.click(point["x"], point["y"])
    page.click("[data-testid=bias-1-0]", force=True)
    assert not page.is_visible(sel("weight-editor"))
    open_page(page, server, "data=xor")
    assert not page.is_visible(sel("lesson")) and page.is_visible(sel("learning-rate"))


def test_an_edited_weight_and_bias_reach_the_next_step_in_the_inspector(page, server,
                                                                       artifacts):
    open_page(page, server, "data=xor&hidden=3&batch=full&lr=0.1")
    page.click(sel("step"))
    page.wait_for_function("() => document.querySelector('[data-testid=epoch]').textContent"
                           " === '1'", timeout=TIMEOUT)
    page.click("#inspect-worst")
    page.wait_for_selector(".inspector-body .steps", timeout=TIMEOUT)
    row = page.evaluate("window.glassnetPlayground.inspected().row")
    # the hover card of one link: W¹[1, 2], from x₂ to the third unit
    page.evaluate("() => window.scrollTo(0, 0)")
    point = page.evaluate("window.glassnetPlayground.linkPoint(1, 1, 2)")
    page.mouse.move(point["x"], point["y"])
    page.wait_for_selector("[data-testid=link-card]", state="visible", timeout=TIMEOUT)
    card = page.inner_text("[data-testid=link-card]")
    shown = page.evaluate("window.glassnetPlayground.frame().weights[0][1][2]")
    assert "W¹[1, 2]" in card and "from x₂ to layer 1, unit 3" in card
    value = float(card.split("= ")[1].split()[0].replace("−", "-"))
    assert value == pytest.approx(shown, rel=1e-4)  # 5 significant digits on the card
    page.screenshot(path=str(artifacts / "playground-link-card.png"),
                    clip={"x": 250, "y": 150, "width": 700, "height": 560})
    page.mouse.click(point["x"], point["y"])
    assert page.is_visible(sel("weight-editor"))
    page.fill(sel("weight-value"), "1.25")
    page.press(sel("weight-value"), "Enter")
    page.wait_for_function("() => window.glassnetPlayground.inspected().layers[0].W[1][2]"
                           " === 1.25", timeout=TIMEOUT)
    record = page.evaluate("window.glassnetPlayground.inspected()")
    assert record["row"] == row  # the same sample, its next step from the edited weights
    first = record["layers"][0]
    x, W, b = np.array(first["A_prev"]), np.array(first["W"]), np.array(first["b"])
    # Z = x·W + b from the numbers shown (5 significant digits each, hence the tolerance)
    assert np.allclose(first["Z"], x @ W + b, rtol=1e-3, atol=1e-4)
    assert "1.25" in page.inner_text("#inspector")
    # a bias: the small square at the output unit's corner
    page.click("[data-testid=bias-2-0]")
    page.fill(sel("weight-value"), "-0.5")
    page.click(sel("weight-apply"))
    page.wait_for_function("() => window.glassnetPlayground.inspected().layers[1].b[0] === -0.5",
                           timeout=TIMEOUT)
    page.wait_for_function("() => window.glassnetPlayground.frame().biases[1][0] === -0.5",
                           timeout=TIMEOUT)
    # taking the step moves the edited weight by the update the inspector showed
    delta = page.evaluate("window.glassnetPlayground.inspected().layers[0].delta_W[1][2]")
    page.click("#inspect-apply")
    page.wait_for_function("() => window.glassnetPlayground.frame().weights[0][1][2] !== 1.25",
                           timeout=TIMEOUT)
    assert page.evaluate("window.glassnetPlayground.frame().weights[0][1][2]") == \
        pytest.approx(1.25 + delta, rel=1e-3)
    assert page.inner_text(sel("error")) == "" and not page.problems, page.problems


def test_the_problem_switch_picks_the_toys_of_its_type(page, server):
    open_page(page, server)
    assert page.input_value(sel("problem")) == "classification"
    visible = page.eval_on_selector_all(".thumb", "bs => bs.filter(b => !b.hidden)"
                                                  ".map(b => b.dataset.name)")
    assert visible == ["circles", "xor", "spirals", "moons", "gaussians", "blobs"]
    page.select_option(sel("problem"), "regression")
    page.wait_for_function("() => location.hash.includes('data=bumps')", timeout=TIMEOUT)
    page.wait_for_function("() => document.querySelectorAll('.thumb:not([hidden])').length === 2",
                           timeout=TIMEOUT)
    page.click(".thumb[data-name=plane]")
    page.wait_for_function("() => window.glassnetPlayground.config().data === 'plane'",
                           timeout=TIMEOUT)
    assert "target: y" in page.inner_text("#data-notes")
    assert not page.is_visible("#confusion-box")  # no classes, no confusion matrix
    page.select_option(sel("dataset"), "wisconsin")
    page.wait_for_function("() => document.getElementById('problem').disabled", timeout=TIMEOUT)
    assert page.input_value(sel("problem")) == "classification"
    assert not page.problems, page.problems


def test_three_classes_train_with_a_softmax_and_a_confusion_matrix(page, server, artifacts):
    open_page(page, server, "data=blobs&hidden=4&speed=5&lr=0.1&showtest=1")
    assert "softmax" in page.inner_text("#network-summary")
    assert "categorical cross-entropy" in page.inner_text("#network-summary")
    page.click(sel("play"))
    page.wait_for_function("() => window.glassnetPlayground.stats().epoch >= 40", timeout=TIMEOUT)
    pause(page)
    tables = page.evaluate("""() => [...document.querySelectorAll('[data-testid=confusion] table')]
        .map(t => [...t.querySelectorAll('tr')].slice(1)
            .map(r => [...r.querySelectorAll('td')].map(td => Number(td.textContent))))""")
    train, test = np.array(tables[0]), np.array(tables[1])
    assert train.shape == test.shape == (3, 3)
    assert train.sum() == 250 and test.sum() == 250  # every row counted once
    accuracy = page.inner_text("#train-score")
    assert f"{100 * np.trace(train) / 250:.1f}%" in accuracy
    page.screenshot(path=str(artifacts / "playground-blobs.png"), full_page=True)
    assert not page.problems, page.problems


def test_play_pauses_at_the_stop_condition(page, server):
    open_page(page, server, "data=xor&maxepochs=30&speed=20&batch=full")
    page.click(sel("play"))
    page.wait_for_function("() => !window.glassnetPlayground.stats().playing && "
                           "window.glassnetPlayground.stats().epoch > 0", timeout=TIMEOUT)
    assert epoch(page) == 30  # 20 + 10, not 40
    page.wait_for_selector(sel("stop-status"), state="visible", timeout=TIMEOUT)
    assert "after 30 epochs" in page.inner_text(sel("stop-status"))
    open_page(page, server, "data=gaussians&targetloss=0.2&speed=1&lr=0.1")
    page.click(sel("play"))
    page.wait_for_function("() => !window.glassnetPlayground.stats().playing && "
                           "window.glassnetPlayground.stats().epoch > 0", timeout=TIMEOUT)
    pause(page)
    assert number(page, "train-loss") <= 0.2
    assert "reached the target 0.2" in page.inner_text(sel("stop-status"))
    page.select_option(sel("target-loss"), "0.05")  # a new target: play goes on
    page.wait_for_function("() => location.hash.includes('targetloss=0.05')", timeout=TIMEOUT)
    page.wait_for_selector(sel("stop-status"), state="hidden", timeout=TIMEOUT)


def test_with_zero_weights_every_unit_of_a_layer_looks_the_same(page, server):
    open_page(page, server, "init=zeros&act=sigmoid&hidden=4&speed=5&lr=0.3")
    assert "symmetry" in page.get_attribute("#init", "title")
    page.click(sel("play"))
    page.wait_for_function("() => window.glassnetPlayground.stats().epoch >= 20",
                           timeout=TIMEOUT)
    pause(page)
    tiles = page.evaluate("""() => [...document.querySelectorAll('.layer.hidden .node canvas')]
        .map(c => c.toDataURL())""")
    assert len(tiles) == 4 and len(set(tiles)) == 1
    weights = np.array(page.evaluate("window.glassnetPlayground.frame().weights[0]"))
    assert np.abs(weights).max() > 0 and np.all(weights == weights[:, :1])


def test_lambda_max_is_drawn_against_two_over_eta(page, server, artifacts):
    open_page(page, server, "data=xor&batch=full&lr=0.3&speed=5")
    assert "Press play" in page.inner_text(sel("sharpness-note"))
    page.click(sel("play"))
    page.wait_for_function("() => document.querySelector('[data-testid=sharpness-note]')"
                           ".textContent.startsWith('λmax =')", timeout=TIMEOUT)
    page.wait_for_function("() => window.glassnetPlayground.stats().epoch >= 400",
                           timeout=TIMEOUT)
    pause(page)
    note = page.inner_text(sel("sharpness-note"))
    assert "the line is at 6.667" in note  # 2/η at η = 0.3
    blue = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=sharpness]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 150 && d[i] < 80) n++;
        return n;
    }""")
    assert blue > 50  # the λ_max curve is drawn
    page.locator(".glassbox").first.screenshot(path=str(artifacts / "playground-curvature.png"))
    assert not page.problems, page.problems
