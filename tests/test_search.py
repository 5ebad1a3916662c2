"""Hyper-parameter search: parameter specs, no leakage across folds, the command line,
and the same search on a Dask cluster (a LocalCluster, and real `dask scheduler` /
`dask worker` processes, one of them killed mid-search)."""

import csv
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")
pytest.importorskip("matplotlib")
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from glassnet import MLPClassifier
from glassnet.cli import main
from glassnet.io import load_model
from glassnet.search import (
    WholeNumbers,
    make_pipeline,
    make_search,
    parse_param,
    raw_features,
    split_raw,
)
from glassnet.tables import prepare

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def read_rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def processes():
    """Started subprocesses, each killed (and reaped) however the test ends."""
    started = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def read_until(stream, fragment, seconds):
    """Lines of ``stream`` up to the first holding ``fragment`` (bounded in time and lines)."""
    deadline, seen = time.time() + seconds, []
    while time.time() < deadline and len(seen) < 1000:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if fragment in line:
            return seen
    raise AssertionError(f"no {fragment!r} within {seconds} s; got {''.join(seen)!r}")


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    """A CSV with a numeric column with gaps, a text column with one rare value, a label."""
    rng = np.random.default_rng(3)
    n = 90
    x = rng.normal(size=n)
    colour = rng.choice(["blue", "green", "red"], size=n).astype(object)
    colour[17] = "violet"  # only one row: one fold never trains on it
    label = np.where(x + (colour == "red") + rng.normal(scale=0.5, size=n) > 0.5, "yes", "no")
    cells = [f"{v:.6f}" for v in x]
    for i in (4, 20, 33, 61):
        cells[i] = "?"
    path = tmp_path_factory.mktemp("data") / "table.csv"
    path.write_text("x,colour,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in
                                                  zip(cells, colour, label)))
    return path


# -- parameter specifications ----------------------------------------------------------
def test_parse_param_lists_and_ranges():
    estimator = MLPClassifier()
    assert parse_param("hidden=15,32,64,32x16", estimator) == (
        "hidden_layer_sizes", [(15,), (32,), (64,), (32, 16)])
    assert parse_param("solver=adam,sgd", estimator) == ("solver", ["adam", "sgd"])
    assert parse_param("batch-size=32,auto", estimator) == ("batch_size", [32, "auto"])
    assert parse_param("early_stopping=true,false", estimator) == (
        "early_stopping", [True, False])
    assert parse_param("epochs=50", estimator) == ("max_iter", [50])
    rng = np.random.default_rng(0)
    name, lr = parse_param("lr=1e-4:1e-1:log", estimator)
    draws = lr.rvs(size=4000, random_state=rng)
    assert name == "learning_rate_init" and draws.min() >= 1e-4 and draws.max() <= 1e-1
    # log-uniform: each decade holds a third of the draws
    assert np.allclose(np.histogram(np.log10(draws), bins=3, range=(-4, -1))[0] / 4000, 1 / 3,
                       atol=0.04)
    _, momentum = parse_param("momentum=0.5:0.9", estimator)
    draws = momentum.rvs(size=2000, random_state=rng)
    assert 0.5 <= draws.min() and draws.max() <= 0.9 and abs(draws.mean() - 0.7) < 0.02
    _, batch = parse_param("batch_size=16:64", estimator)
    draws = batch.rvs(size=2000, random_state=rng)
    assert set(np.unique(draws)) == set(range(16, 65))
    _, hidden = parse_param("hidden=8:256:log", estimator)
    assert isinstance(hidden, WholeNumbers)
    sizes = [hidden.rvs(random_state=rng) for _ in range(2000)]
    assert all(isinstance(s, tuple) and len(s) == 1 and 8 <= s[0] <= 256 for s in sizes)
    assert np.median([s[0] for s in sizes]) == pytest.approx(np.sqrt(8 * 257), rel=0.15)


@pytest.mark.parametrize("text, fragment", [
    ("hidden", "expected NAME=VALUES"),
    ("colour=1,2", "unknown parameter 'colour'; known: "),
    ("random_state=1,2", "cannot be searched (the seed sets it)"),
    ("lr=0.1:0.01", "low < high"),
    ("lr=0:1:log", "a log range needs low > 0"),
    ("lr=a:b", "must be numbers"),
    ("solver=adam:sgd", "takes a list of values, not a range"),
    ("solver=adam,adm", "The 'solver' parameter of MLPClassifier must be a str among"),
    ("hidden=0,4", "hidden_layer_sizes must be > 0"),
    ("hidden=8,8", "listed twice"),
    ("momentum=0.5:1.5", "momentum=1.5: The 'momentum' parameter"),
    ("epochs=ten", "epochs: expected a whole number, got 'ten'"),
])
def test_parse_param_errors_name_the_problem(text, fragment):
    with pytest.raises(ValueError) as info:
        parse_param(text, MLPClassifier())
    assert fragment in str(info.value)


# -- the pipeline: no leakage --------------------------------------------------------------
def test_each_fold_learns_its_encoding_and_scaling_from_its_training_rows(table_csv):
    """Every fold's encoder and scaler saw exactly that fold's training rows: its fill
    values, categories, means and standard deviations are those of the training rows,
    and differ from those of all rows."""
    prepared = prepare(str(table_csv), target="label", missing="median", one_hot=True)
    raw = raw_features(prepared, str(table_csv))
    assert np.isnan(raw[[4, 20, 33, 61], 0]).all() and not np.isnan(raw[:, 1]).any()
    y = prepared.y
    colours = np.asarray(prepared.schema[1]["categories"])
    seen = []

    def spy(pipeline, X_test, y_test):  # the scorer sees each fitted fold pipeline
        seen.append((X_test.copy(), pipeline.named_steps["encode"].schema_,
                     pipeline.named_steps["scale"].scaler_))
        return 0.0

    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    pipeline = make_pipeline(MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0),
                             prepared.schema, "median", "standard")
    make_search(pipeline, {"alpha": [1e-4]}, cv=cv, scoring=spy, refit=False).fit(raw, y)
    assert len(seen) == 3
    lacking_violet = 0
    for train, test in cv.split(raw, y):
        _X_test, schema, scaler = next(s for s in seen
                                       if np.array_equal(s[0], raw[test], equal_nan=True))
        x, codes = raw[train, 0], raw[train, 1].astype(int)
        fill = np.median(x[~np.isnan(x)])
        present = sorted(set(colours[codes]))
        counts = {c: int(np.sum(colours[codes] == c)) for c in present}
        assert schema[0]["fill"] == pytest.approx(fill)
        assert schema[1]["categories"] == present
        assert schema[1]["fill"] == max(present, key=counts.get)
        lacking_violet += "violet" not in present
        encoded = np.column_stack([np.where(np.isnan(x), fill, x)] +
                                  [(colours[codes] == c).astype(float) for c in present])
        assert np.allclose(scaler.offset, encoded.mean(axis=0))
        assert np.allclose(scaler.scale, encoded.std(axis=0))
        assert not np.isclose(scaler.offset[0], np.nanmean(raw[:, 0]))  # not all the rows
    assert lacking_violet == 1  # the fold whose test rows hold the only violet row


def test_rounds_report_progress_and_change_no_result():
    """Evaluating candidates a round at a time gives scikit-learn's GridSearchCV results."""
    prepared = prepare("wisconsin")
    X, y = prepared.X[::3], prepared.y[::3]
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=1)
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    space = {"hidden_layer_sizes": [(4,), (6,)], "learning_rate_init": [1e-3, 1e-2, 3e-2]}
    progress = []
    ours = make_search(model, space, cv=cv, round_fits=4, on_round=progress.append).fit(X, y)
    plain = GridSearchCV(model, space, cv=cv).fit(X, y)
    for k in range(3):
        assert np.array_equal(ours.cv_results_[f"split{k}_test_score"],
                              plain.cv_results_[f"split{k}_test_score"])
    assert ours.best_params_ == plain.best_params_
    assert [p.fits_done for p in progress] == [6, 12, 18]  # two candidates of 3 folds a round
    assert all(p.fits_total == 18 for p in progress)
    best = [p.best_score for p in progress]
    assert best == sorted(best) and best[-1] == pytest.approx(plain.best_score_)


# -- the command line -----------------------------------------------------------------------
def test_search_command_writes_results_figure_and_a_model_that_predicts(capsys, tmp_path,
                                                                         table_csv):
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "search", table_csv, "--target", "label", "--one-hot",
                            "--missing", "median", "--param", "hidden=3,5",
                            "--param", "lr=0.01,0.05", "--param", "epochs=30", "--cv", "3",
                            "--out", out)
    assert code == 0, err
    assert "grid search of 'label'" in stdout and "every fit with epochs=30" in stdout
    assert "fits 12/12: best accuracy" in err
    rows = read_rows(out / "results.csv")
    assert len(rows) == 4 * 3 and {r["fold"] for r in rows} == {"0", "1", "2"}
    assert {(r["hidden"], r["lr"]) for r in rows} == {("3", "0.01"), ("3", "0.05"),
                                                      ("5", "0.01"), ("5", "0.05")}
    summary = json.loads((out / "search.json").read_text())
    assert summary["complete"] and summary["fits_done"] == summary["fits_total"] == 12
    best = next(r for r in rows if r["rank"] == "1")
    assert summary["best"]["mean_score"] == pytest.approx(float(best["mean_score"]))
    assert float(best["mean_score"]) == pytest.approx(np.mean(
        [float(r["score"]) for r in rows if r["config"] == best["config"]]))
    from PIL import Image

    assert Image.open(out / "search.png").size[0] > 500

    # the same search from Python, refitted the same way: the saved model (its schema
    # applied by `glassnet predict`) gives the pipeline's probabilities on every row
    prepared = prepare(str(table_csv), target="label", missing="median", one_hot=True)
    raw = raw_features(prepared, str(table_csv))
    split = split_raw(prepared, raw, 0.2, 0)
    search = make_search(make_pipeline(MLPClassifier(random_state=0, max_iter=30),
                                       prepared.schema, "median"),
                         {"hidden_layer_sizes": [(3,), (5,)],
                          "learning_rate_init": [0.01, 0.05]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(split.X_train, split.y_train)
    assert [float(r["score"]) for r in rows] == [
        search.cv_results_[f"split{k}_test_score"][i] for i in range(4) for k in range(3)]
    model = load_model(out / "model.glassnet")
    assert model.metadata["schema"] == search.best_estimator_.named_steps["encode"].schema_
    code, predictions, _ = run(capsys, "predict", out / "model.glassnet", table_csv)
    assert code == 0
    proba = np.array([float(r["probability_yes"]) for r in
                      csv.DictReader(predictions.splitlines())])
    assert np.allclose(proba, search.best_estimator_.predict_proba(raw)[:, 1], atol=2e-6)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["n_samples"] == 18 and metrics["train"]["n_samples"] == 72


def test_halving_search_command(capsys, tmp_path):
    out = tmp_path / "halving"
    code, stdout, err = run(capsys, "search", "wisconsin", "--param", "lr=1e-3:1e-1:log",
                            "--param", "hidden=4", "--param", "epochs=20", "--n-iter", "9",
                            "--cv", "3", "--halving", "--quiet", "--out", out)
    assert code == 0, err
    assert "halving random search" in stdout
    rows = read_rows(out / "results.csv")
    iterations = {int(r["iteration"]): int(r["n_resources"]) for r in rows}
    assert sorted(iterations) == [0, 1, 2]  # 9 configurations, then 3, then 1
    assert iterations[0] < iterations[1] < iterations[2] <= 546
    assert len(rows) == (9 + 3 + 1) * 3


@pytest.mark.parametrize("args, fragment", [
    ([], "give at least one --param"),
    (["--param", "hidden=4", "--cv", "500"], "--cv 500 is more than the smallest class"),
    (["--param", "hidden=4", "--scoring", "acuracy"], "'acuracy' is not a scikit-learn scorer"),
    (["--param", "solver=adam,bogus"], "solver=bogus"),
    (["--param", "hidden=4", "--param", "hidden=8"], "hidden_layer_sizes is given twice"),
])
def test_search_command_errors(capsys, tmp_path, args, fragment):
    code, _, err = run(capsys, "search", "wisconsin", *args, "--out", tmp_path / "never")
    assert code != 0 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert fragment in err
    assert not (tmp_path / "never").exists()


def test_search_help_has_an_example(capsys):
    code, out, _ = run(capsys, "search", "--help")
    assert code == 0 and "glassnet search wisconsin --param" in out.split("Example", 1)[1]


@pytest.mark.slow
def test_ctrl_c_writes_the_results_so_far_marked_incomplete(tmp_path):
    """SIGINT to the process: the fit in progress stops, no later fit starts, and what
    finished is written with "complete": false."""
    out = tmp_path / "interrupted"
    with processes() as started:
        proc = subprocess.Popen(
            [sys.executable, "-m", "glassnet", "search", "wisconsin", "--param",
             "hidden=16,32", "--param", "lr=0.001,0.003,0.01,0.03", "--param", "epochs=300",
             "--param", "tol=0", "--cv", "3", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        read_until(proc.stderr, "fits 6/24", 120)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted by Ctrl-C after 6 of 24 fits" in stdout and "Traceback" not in stderr
    summary = json.loads((out / "search.json").read_text())
    assert summary["complete"] is False and summary["interrupted"] is True
    assert summary["fits_done"] == 6 and summary["fits_total"] == 24
    rows = read_rows(out / "results.csv")
    assert len(rows) == 6 and all(np.isfinite(float(r["score"])) for r in rows)
    assert not (out / "model.glassnet").exists()


def test_unreachable_scheduler_is_one_clear_error(capsys, tmp_path):
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    code, _, err = run(capsys, "search", "wisconsin", "--param", "hidden=4", "--dask", address,
                       "--connect-timeout", "1", "--out", tmp_path / "never")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: cannot reach the Dask scheduler at {address} within 1 s")
    assert not (tmp_path / "never").exists()


# -- Dask ---------------------------------------------------------------------------------
def wisconsin_search(n_jobs=None, **settings):
    prepared = prepare("wisconsin")
    split = split_raw(prepared, raw_features(prepared), 0.2, 0)
    model = MLPClassifier(random_state=0, max_iter=25)
    space = dict(parse_param(p, model) for p in settings.pop("params"))
    search = make_search(make_pipeline(model, prepared.schema), space, n_jobs=n_jobs,
                         **settings)
    return search.fit(split.X_train, split.y_train)


@pytest.mark.slow
def test_local_cluster_gives_the_same_results_as_this_process():
    """The search how-to's scikit-learn search on a 2-process LocalCluster, and
    glassnet's search: every fold's score equal to the same search run here, the same
    best configuration."""
    pytest.importorskip("distributed")
    import joblib
    from distributed import Client, LocalCluster, get_task_stream

    prepared = prepare("wisconsin")
    X, y = prepared.X[::2], prepared.y[::2]
    grid = {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-2]}
    readme = GridSearchCV(MLPClassifier(max_iter=30, random_state=0), grid, n_jobs=-1, cv=3)
    settings = {"params": ["hidden=4:16", "lr=1e-3:1e-1:log"], "n_iter": 4, "cv": 3,
                "random_state": 5}
    here = [GridSearchCV(MLPClassifier(max_iter=30, random_state=0), grid, cv=3).fit(X, y),
            wisconsin_search(**settings)]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client, \
            joblib.parallel_backend("dask"), get_task_stream(client) as tasks:
        there = [readme.fit(X, y), wisconsin_search(n_jobs=-1, **settings)]
    assert len({task["worker"] for task in tasks.data}) == 2  # both workers fitted
    for a, b in zip(here, there):
        for k in range(3):
            assert np.allclose(a.cv_results_[f"split{k}_test_score"],
                               b.cv_results_[f"split{k}_test_score"], rtol=0, atol=1e-12)
        assert a.best_params_ == b.best_params_ and a.best_index_ == b.best_index_


@pytest.mark.slow
def test_dask_scheduler_and_workers_a_worker_killed_mid_search(tmp_path):
    """`dask scheduler` and two `dask worker` processes on loopback ports; the command
    line searches through them; one worker is killed while it runs a fit of the second
    round: the results are complete and equal to the same search run here."""
    pytest.importorskip("distributed")
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    out = tmp_path / "cluster"
    dask = [sys.executable, "-m", "dask"]
    params = ["hidden=8,16", "lr=0.001,0.01,0.03", "epochs=100", "tol=0"]
    with processes() as started:
        started.append(subprocess.Popen(
            dask + ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        workers = [subprocess.Popen(
            dask + ["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                    "--no-dashboard", "--name", f"w{i}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(2)]
        started.extend(workers)
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            w1 = next(a for a, w in client.scheduler_info()["workers"].items()
                      if w["name"] == "w1")
            search = subprocess.Popen(
                [sys.executable, "-m", "glassnet", "search", "wisconsin", "--cv", "3",
                 *[arg for p in params for arg in ("--param", p)], "--dask", address,
                 "--connect-timeout", "60", "--out", str(out)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            started.append(search)
            read_until(search.stderr, "fits 9/18", 120)  # the first round: 4 fits a worker
            deadline = time.time() + 60
            while not client.processing(workers=[w1])[w1] and time.time() < deadline:
                time.sleep(0.01)
            assert client.processing(workers=[w1])[w1], "w1 never ran a fit of round two"
            workers[1].kill()  # while it fits
        stdout, stderr = search.communicate(timeout=180)
        assert workers[1].wait(timeout=30) == -signal.SIGKILL
    assert search.returncode == 0, stderr
    assert "the Dask cluster at " + address in stdout
    summary = json.loads((out / "search.json").read_text())
    assert summary["complete"] and summary["fits_done"] == 18
    rows = read_rows(out / "results.csv")
    here = wisconsin_search(params=params, cv=3)
    assert [float(r["score"]) for r in rows] == pytest.approx(
        [here.cv_results_[f"split{k}_test_score"][i] for i in range(6) for k in range(3)],
        rel=0, abs=1e-12)
    assert summary["best"]["config"] == here.best_index_


@pytest.mark.slow
def test_search_benchmark_quick_mode_runs():
    """benchmarks/search.py keeps working (its timings are not asserted)."""
    pytest.importorskip("distributed")
    script = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "search.py")
    result = subprocess.run([sys.executable, script, "--quick"], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "| Wisconsin | 4 x 2 folds = 8 | LocalCluster, 2 workers |" in result.stdout
    assert "| NO |" not in result.stdout  # every way gave the same fold scores
    assert "On paper: 1,000 configurations" in result.stdout


# -- a search never hangs: the watchdog on its rounds ----------------------------------
KILLER = os.path.join(os.path.dirname(__file__), "_dask_kill_worker.py")
SMALL = ["hidden=8,16", "lr=0.001,0.01,0.03", "epochs=30", "tol=0"]


@contextmanager
def cluster(started, kill_specs):
    """`dask scheduler` and one `dask worker` per entry of ``kill_specs`` on loopback
    ports (a worker with a spec kills itself then, see tests/_dask_kill_worker.py).
    Yields the address and the worker processes."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    started.append(subprocess.Popen(
        dask + ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    workers = []
    for i, spec in enumerate(kill_specs):
        env = dict(os.environ, GLASSNET_TEST_KILL=spec or "")
        workers.append(subprocess.Popen(
            dask + ["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                    "--no-dashboard", "--name", f"w{i}", "--preload", KILLER],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    started.extend(workers)
    yield address, workers


def search_on(address, out, *extra, params=SMALL):
    return [sys.executable, "-m", "glassnet", "search", "wisconsin", "--cv", "3",
            *[arg for p in params for arg in ("--param", p)], "--dask", address,
            "--connect-timeout", "60", "--out", str(out), *extra]


@pytest.mark.slow
@pytest.mark.parametrize("kill", ["memory:ndarray-:1", "memory:ndarray-:7"],
                         ids=["first-scatter", "a-later-scatter"])
def test_a_worker_killed_during_scatter_the_search_completes(tmp_path, kill):
    """The second of two workers SIGKILLs itself when the first (or the seventh) array
    scattered to it arrives, before it answers: the scatter that hung the search for
    good before the watchdog. The round it was in runs again on the other worker, and
    every fold's score is the one computed here. (A worker killed during a fit:
    test_dask_scheduler_and_workers_a_worker_killed_mid_search.)"""
    pytest.importorskip("distributed")
    out = tmp_path / "cluster"
    with processes() as started, cluster(started, [None, kill]) as (address, workers):
        search = subprocess.run(search_on(address, out, "--stall-timeout", "120"),
                                capture_output=True, text=True, timeout=400, check=False)
        assert workers[1].wait(timeout=30) == -signal.SIGKILL  # it did die
    assert search.returncode == 0, search.stderr
    assert "Traceback" not in search.stderr
    summary = json.loads((out / "search.json").read_text())
    assert summary["complete"] and summary["fits_done"] == 18 and summary["error"] is None
    assert summary["rounds_repeated"] >= 1
    here = wisconsin_search(params=SMALL, cv=3)
    rows = read_rows(out / "results.csv")
    assert [float(r["score"]) for r in rows] == pytest.approx(  # the same float64 operations
        [here.cv_results_[f"split{k}_test_score"][i] for i in range(6) for k in range(3)],
        rel=0, abs=1e-12)


@pytest.mark.slow
def test_every_worker_killed_the_search_stops_with_an_error_and_keeps_what_finished(
        tmp_path):
    """Both workers SIGKILLed once the first round has finished: no worker is left to
    run the round again, so the search stops at once (not at the stall bound) with
    one error line, exit status 1, and the first round's results written and marked
    incomplete."""
    pytest.importorskip("distributed")
    out = tmp_path / "cluster"
    with processes() as started, cluster(started, [None, None]) as (address, workers):
        longer = [*SMALL[:2], "epochs=300", "tol=0"]  # the second round takes seconds
        search = subprocess.Popen(search_on(address, out, "--stall-timeout", "300",
                                            params=longer),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(search)
        read_until(search.stderr, "fits 9/18", 300)  # the first round: 4 fits a worker
        for worker in workers:
            worker.kill()
        killed = time.monotonic()
        stdout, stderr = search.communicate(timeout=300)
        seconds = time.monotonic() - killed
    assert search.returncode == 1, stdout
    error = stderr.strip().splitlines()[-1]
    assert error.startswith("error: the search stopped after 9 of 18 fits: every Dask "
                            "worker was lost")
    assert "Traceback" not in stderr
    assert seconds < 60  # when the workers were gone, not at the 300 s stall bound
    summary = json.loads((out / "search.json").read_text())
    assert summary["complete"] is False and summary["interrupted"] is False
    assert summary["error"].startswith("every Dask worker was lost")
    assert summary["fits_done"] == 9
    assert len(read_rows(out / "results.csv")) == 9
    assert not (out / "model.glassnet").exists()


class FakeClient:
    """What the watchdog asks of a ``distributed.Client``: the scheduler's workers."""

    def __init__(self, workers):
        self.workers = set(workers)

    def scheduler_info(self):
        return {"workers": {w: {} for w in self.workers}}


def wait_to_be_stopped(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # Python instructions: where a stop can land
        time.sleep(0.01)


def test_watchdog_stops_a_round_that_lost_a_worker_and_one_that_stalls():
    from glassnet._dask_watchdog import RoundStopped, RoundWatchdog

    client = FakeClient(["tcp://a", "tcp://b"])
    watchdog = RoundWatchdog(client, stall_seconds=30, poll=0.05)
    try:
        with watchdog.round():  # a round that finishes is left alone
            time.sleep(0.3)
        began = time.monotonic()
        with pytest.raises(RoundStopped), watchdog.round():
            client.workers.discard("tcp://b")
            wait_to_be_stopped(20)
        assert time.monotonic() - began < 5
        assert watchdog.lost and watchdog.reason == "Dask worker tcp://b was lost"
        watchdog.stall_seconds = 0.5
        with pytest.raises(RoundStopped), watchdog.round():
            wait_to_be_stopped(20)
        assert not watchdog.lost and watchdog.reason.startswith(
            "no round of fits finished in 0.5 s (workers now: 1)")
        with pytest.raises(RoundStopped), watchdog.round():
            client.workers.clear()
            wait_to_be_stopped(20)
        assert not watchdog.lost and watchdog.reason == "every Dask worker was lost (tcp://a)"
        time.sleep(0.3)  # nothing is raised once the round is over
    finally:
        watchdog.close()
    assert pickle.loads(pickle.dumps(watchdog)) is None  # sent to workers as nothing


def test_a_round_that_lost_a_worker_runs_again_and_a_stall_stops_the_search():
    """``_InRounds`` with a watchdog: a round stopped for a lost worker is evaluated
    again (and counted), one stopped for no progress raises SearchStalledError."""
    from glassnet._dask_watchdog import RoundStopped, SearchStalledError

    class Watchdog:
        def __init__(self, lost, reason):
            self.lost, self.reason = lost, reason

        @contextmanager
        def round(self):
            yield

    def failing_first(search, times):
        """Make the first ``times`` evaluations of a round raise RoundStopped."""
        calls = []

        def evaluate_round(evaluate_candidates, chunk, cv, more):
            def evaluate(*args):
                calls.append(len(chunk))
                if len(calls) <= times:
                    raise RoundStopped
                return evaluate_candidates(*args)
            return type(search)._evaluate_round(search, evaluate, chunk, cv, more)

        search._evaluate_round = evaluate_round
        return calls

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.tile([0, 1], 20)
    space = {"alpha": [1e-4, 1e-3]}
    search = make_search(MLPClassifier(max_iter=5, random_state=0), space, cv=2)
    search.watchdog = Watchdog(True, "Dask worker tcp://b was lost")
    calls = failing_first(search, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.rounds_repeated_ == 1 and calls == [2, 2]
    assert len(search.cv_results_["params"]) == 2

    search = make_search(MLPClassifier(max_iter=5, random_state=0), space, cv=2)
    search.watchdog = Watchdog(True, "Dask worker tcp://b was lost")
    failing_first(search, 10)
    with pytest.raises(SearchStalledError, match="was lost, and the round was lost 4 times"):
        search.fit(X, y)

    search = make_search(MLPClassifier(max_iter=5, random_state=0), space, cv=2)
    search.watchdog = Watchdog(False, "no round of fits finished in 9 s")
    calls = failing_first(search, 10)
    with pytest.raises(SearchStalledError, match="^no round of fits finished in 9 s$"):
        search.fit(X, y)
    assert calls == [2]  # no second try: nothing was lost, nothing to run again


def test_the_watchdog_stops_joblibs_wait_and_never_the_rounds_bookkeeping():
    """The watched region of a round is joblib's wait for its fits: a worker lost
    during a fit stops the round, which runs again; a worker lost once the joblib call
    has returned, while the search records the round (scikit-learn's lists, and the
    stacked search's, extended one after another, then ``_format_results``), stops
    nothing, so no candidate is recorded twice. (Threads stand in for Dask workers.)"""
    from joblib import parallel_config
    from sklearn.base import BaseEstimator, ClassifierMixin

    from glassnet._dask_watchdog import RoundWatchdog
    from glassnet.search import GridSearch

    class LosesWorkerB(ClassifierMixin, BaseEstimator):
        """Its fit with ``alpha=2`` loses worker b (once), then runs a second."""

        def __init__(self, alpha=1):
            self.alpha = alpha

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            if self.alpha == 2 and "tcp://b" in client.workers:
                client.workers.discard("tcp://b")
                time.sleep(1.0)
            return self

        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.tile([0, 1], 20)
    client = FakeClient(["tcp://a", "tcp://b"])
    search = GridSearch(LosesWorkerB(), {"alpha": [1, 2]}, cv=2, n_jobs=2)
    search.watchdog = RoundWatchdog(client, stall_seconds=30, poll=0.05)
    try:
        with parallel_config(backend="threading"):
            search.fit(X, y)
    finally:
        search.watchdog.close()
    assert search.rounds_repeated_ == 1 and search.cv_results_["params"] == [
        {"alpha": 1}, {"alpha": 2}]

    for stack in (False, True):
        client = FakeClient(["tcp://a", "tcp://b"])
        search = make_search(MLPClassifier(max_iter=5, random_state=0),
                             {"alpha": [1e-4, 1e-3]}, cv=2, n_jobs=2, stack=stack)
        search.watchdog = RoundWatchdog(client, stall_seconds=30, poll=0.05)
        recorded = search._format_results

        def lose_b_while_recording(*args, client=client, recorded=recorded):
            if "tcp://b" in client.workers:
                client.workers.discard("tcp://b")
                wait_to_be_stopped(1.0)  # 20 of the watchdog's polls
            return recorded(*args)

        search._format_results = lose_b_while_recording
        try:
            with parallel_config(backend="threading"), warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                search.fit(X, y)
        finally:
            search.watchdog.close()
        assert "tcp://b" not in client.workers  # it was lost, while recording
        assert search.rounds_repeated_ == 0
        assert search.cv_results_["params"] == [{"alpha": 1e-4}, {"alpha": 1e-3}]
        assert len(search.cv_results_["split1_test_score"]) == 2


def test_stall_seconds_watches_a_fit_under_joblibs_dask_backend(monkeypatch):
    """``make_search(stall_seconds=...)`` under joblib's Dask backend: the fit gets a
    watchdog on that backend's client for its rounds, closed when it ends."""
    from glassnet import _dask_watchdog

    client = FakeClient(["tcp://a"])
    monkeypatch.setattr(_dask_watchdog, "_active_client", lambda: client)
    made = []

    class Recording(_dask_watchdog.RoundWatchdog):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(_dask_watchdog, "RoundWatchdog", Recording)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.tile([0, 1], 20)
    search = make_search(MLPClassifier(max_iter=5, random_state=0), {"alpha": [1e-4]}, cv=2,
                         stall_seconds=7)
    seen = []
    search.on_round = lambda progress: seen.append(search.watchdog)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert len(made) == 1 and made[0].client is client and made[0].stall_seconds == 7
    assert seen == [made[0]] and search.watchdog is None and made[0]._closed.is_set()
    made.clear()
    make_search(MLPClassifier(max_iter=5, random_state=0), {"alpha": [1e-4]},
                cv=2).fit(X, y)  # no stall_seconds: no watchdog
    assert made == []
