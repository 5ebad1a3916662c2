import signal

import numpy as np
import pytest

# A shell that starts the run in the background (`pytest &`, some CI runners)
# starts it with SIGINT ignored, and every process a test starts inherits that:
# the Ctrl-C tests would then see no Ctrl-C at all. Put Python's own handler back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: test files whose assertions are about floating-point results: `.ci/run` runs
#: them a second time under another OpenBLAS kernel (`pytest -m numerics`), so
#: that a tolerance that holds only for one CPU's summation order fails there.
#: The rule in them: bit-exact only between two runs of the same operations on
#: the same machine (a seed, a copy, a reload, elementwise steps on another
#: layout); a value recorded on another machine or computed another way (another
#: library, another order of summation) gets a tolerance and its reason beside it.
NUMERICS = {
    "test_activations.py", "test_baselines.py", "test_compare.py", "test_curvature.py",
    "test_dynamics.py", "test_estimators.py", "test_flat.py", "test_gradcheck.py",
    "test_interop_onnx.py", "test_interop_sklearn.py", "test_interop_torch.py", "test_io.py",
    "test_landscape.py", "test_layers.py", "test_losses.py", "test_network.py",
    "test_one_loop.py", "test_optimizers.py", "test_pinned_curves.py", "test_schedules.py",
    "test_sensible_defaults.py", "test_sklearn_dropin.py", "test_torch_crosscheck.py",
    "test_training.py", "test_stack.py", "test_health.py", "test_landscape_options.py",
    "test_cli_curvature.py", "test_advice.py",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in NUMERICS:
            item.add_marker(pytest.mark.numerics)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
