"""Each tutorial example runs (with short settings) so that none can rot."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wisconsin_tutorial(capsys):
    result = load("wisconsin_tutorial").main(["--iterations", "3000"])
    out = capsys.readouterr().out
    assert "Cost after iteration 0:" in out and "Cost after iteration 2500:" in out
    assert "Confusion matrix" in out
    assert result["test_accuracy"] >= 0.95


def test_heart_tutorial(capsys):
    pytest.importorskip("sklearn")
    results = load("heart_tutorial").main(["--iterations", "100", "--better-epochs", "300"])
    out = capsys.readouterr().out
    assert "scikit-learn LogisticRegression" in out
    better = next(v for k, v in results.items() if "Adam" in k)
    assert better[1] >= 0.75  # test accuracy with the better settings


def test_xor_tutorial(capsys):
    predictions = load("xor_tutorial").main([])
    np.testing.assert_allclose(predictions, [0, 1, 1, 0], atol=0.1)
    assert "predictions:" in capsys.readouterr().out


@pytest.mark.slow
def test_benchmark_script_quick_mode_runs():
    """The benchmark script keeps working (its numbers are not asserted)."""
    import subprocess
    import sys

    script = EXAMPLES.parent / "benchmarks" / "bench.py"
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    for heading in ("Tutorial workload", "MNIST-shaped", "Inference", "Scaling",
                    "Default MLPClassifier", "Loss landscape", "The cost of each layer",
                    "Through the estimator, SGD:", "Through the estimator, Adam:"):
        assert heading in result.stdout
    assert "glassnet engine (gn.train)" in result.stdout


def test_profile_script_splits_a_fit_by_kind_of_work():
    import subprocess
    import sys

    script = EXAMPLES.parent / "benchmarks" / "profile_fit.py"
    result = subprocess.run([sys.executable, str(script), "--rows", "3000", "--repeat", "1",
                             "--solver", "adam"], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    rows = {line.split(" | ")[0].strip("| "): line for line in result.stdout.splitlines()
            if line.startswith("| ")}
    assert "optimiser update" in rows and "**the whole fit (profiled)**" in rows
    seconds = [float(line.split(" | ")[1].strip("* ")) for name, line in rows.items()
               if name not in ("work", "---", "**the whole fit (profiled)**")
               and not name.startswith("-")]
    whole = float(rows["**the whole fit (profiled)**"].split(" | ")[1].strip("* "))
    assert abs(sum(seconds) - whole) <= 0.01 * whole + 0.002  # the kinds add up to the fit


def test_parity_script_quick_mode_runs():
    import subprocess
    import sys

    script = EXAMPLES.parent / "benchmarks" / "parity.py"
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "| wisconsin |" in result.stdout and "| heart |" in result.stdout


def test_regularisation_script_quick_mode_runs():
    import subprocess
    import sys

    script = EXAMPLES.parent / "benchmarks" / "regularisation.py"
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    for row in ("| heart | plain |", "| spiral | batch norm + dropout 0.2 |"):
        assert row in result.stdout


@pytest.mark.slow
def test_versions_script_quick_mode_runs():
    """The A/B script runs and checks which glassnet each side imported (here both are this one)."""
    import subprocess
    import sys

    root = EXAMPLES.parent
    script = root / "benchmarks" / "versions.py"
    result = subprocess.run([sys.executable, str(script), str(root / "src"), "--quick"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("| estimator |") == 2 and result.stdout.count("| engine |") == 2
    assert "- estimator: baseline / this checkout = " in result.stdout
