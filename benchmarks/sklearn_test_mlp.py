"""Run scikit-learn's own MLP tests against glassnet's estimators.

scikit-learn installs its tests with the package:
``sklearn/neural_network/tests/test_mlp.py``. This script copies that file
into a scratch folder with one line changed, the import of ``MLPClassifier``
and ``MLPRegressor`` (now from ``glassnet``), and runs it with pytest::

    python benchmarks/sklearn_test_mlp.py            # a summary
    python benchmarks/sklearn_test_mlp.py --json     # the same as one JSON line

Left out: ``test_gradient``, which calls scikit-learn's private
``_loss_grad_lbfgs`` (glassnet's gradients are checked against finite
differences and PyTorch in its own tests). The tests that fail on purpose are
:data:`DIFFERENCES`, each with the reason (the parity table of deliberate
differences lists them too). The
exit status is 1 when any other test fails (or the file is not found), so
``tests/test_sklearn_own_tests.py`` keeps the count from going down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

#: scikit-learn's import line, and glassnet's in its place
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
REPLACEMENT = "from glassnet import MLPClassifier, MLPRegressor"

#: tests of scikit-learn's private helpers: not run
PRIVATE = {"test_gradient": "calls the private MLPClassifier._loss_grad_lbfgs"}

#: tests that fail against glassnet on purpose, and why
DIFFERENCES = {
    "test_early_stopping_stratified": (
        "scikit-learn's message names the class 'True' (it stratifies on the binarised "
        "target); glassnet's names the label itself (here 1) and says what to do"),
    "test_lbfgs_regression_maxfun[X0-y0]": (
        "glassnet draws its initial weights from a numpy Generator, scikit-learn from a "
        "RandomState: from glassnet's weights for random_state=1 the identity network "
        "converges after 8 of the 10 evaluations, so there is nothing to warn about "
        "(scikit-learn converges the same way from random_state=0 or 4)"),
    "test_partial_fit_unseen_classes": (
        "two partial_fit calls of one epoch leave a chance-level network; the test asks "
        "for a score above 0 on 4 rows, which depends on the initial weights (glassnet "
        "scores above 0 for 27 of random_state 0..29, scikit-learn for 29)"),
}

#: sklearn's conftest fixture the tests use
CONFTEST = '''import pytest


@pytest.fixture
def global_random_seed():
    return 42
'''


def source_path():
    """The installed scikit-learn's ``test_mlp.py``."""
    import sklearn

    return os.path.join(os.path.dirname(sklearn.__file__), "neural_network", "tests",
                        "test_mlp.py")


def adapted_source(text):
    """``text`` with glassnet's estimators imported in place of scikit-learn's."""
    if text.count(IMPORT) != 1:
        raise ValueError(f"test_mlp.py does not import the estimators as {IMPORT!r}")
    return text.replace(IMPORT, REPLACEMENT)


def run(folder):
    """Run the adapted tests in ``folder``: ``{test id: outcome}`` with outcome
    ``passed``, ``failed``, ``skipped`` or ``error``."""
    with open(source_path(), encoding="utf-8") as f:
        text = adapted_source(f.read())
    for name, content in [("test_mlp_glassnet.py", text), ("conftest.py", CONFTEST),
                          ("pytest.ini", "[pytest]\n")]:
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(content)
    report = os.path.join(folder, "report.xml")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
               folder, "-c", os.path.join(folder, "pytest.ini"), f"--junitxml={report}",
               os.path.join(folder, "test_mlp_glassnet.py"),
               *[arg for name in PRIVATE for arg in ("--deselect",
                                                      f"test_mlp_glassnet.py::{name}")]]
    subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False,
                   timeout=600)
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        outcome = ("failed" if "failure" in kinds else "error" if "error" in kinds else
                   "skipped" if "skipped" in kinds else "passed")
        outcomes[case.get("name")] = outcome
    return outcomes


def main(argv):
    with tempfile.TemporaryDirectory() as folder:
        outcomes = run(folder)
    passed = sorted(t for t, o in outcomes.items() if o == "passed")
    failed = sorted(t for t, o in outcomes.items() if o != "passed")
    unexpected = [t for t in failed if t not in DIFFERENCES]
    summary = {"collected": len(outcomes) + len(PRIVATE), "passed": len(passed),
               "failed": failed, "unexpected": unexpected, "not_run": sorted(PRIVATE)}
    if "--json" in argv:
        print(json.dumps(summary))
    else:
        print(f"scikit-learn's test_mlp.py against glassnet: {len(passed)} of "
              f"{summary['collected']} pass")
        for name, why in PRIVATE.items():
            print(f"  not run   {name}: {why}")
        for name in failed:
            print(f"  differs   {name}: {DIFFERENCES.get(name, 'UNEXPECTED')}")
    return 1 if unexpected or not outcomes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
