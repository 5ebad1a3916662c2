"""Is a change slower? This checkout's glassnet against another, interleaved.

    git worktree add /tmp/glassnet-main main
    python benchmarks/versions.py /tmp/glassnet-main/src            # MNIST-shaped, 6 rounds
    python benchmarks/versions.py /tmp/glassnet-main/src --quick    # tiny, one round
    python benchmarks/versions.py /tmp/glassnet-main/src --solver adam

Each measurement runs in a fresh process that imports one version (this
checkout's ``src`` or BASELINE) and times one fit; the two versions take
turns, so a machine shared with other work slows both alike. Reported: the
smallest and the median wall time and CPU time (``time.process_time``, which
another process's load disturbs less) of each version, and the ratio
baseline / this checkout (above 1: this checkout is faster).

Workload: ``bench.py``'s MNIST-shaped epoch (60,000 x 784 float32,
784-256-256-10, batches of 256; plain SGD, or ``--solver nesterov`` (momentum
0.9) or ``adam``) through ``MLPClassifier`` and through ``glassnet.train``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CURRENT = os.path.join(os.path.dirname(HERE), "src")

MEASURE = """
import json, time, warnings
import numpy as np
import glassnet as gn
with np.load({data!r}) as arrays:
    X, y = arrays["X"], arrays["y"]
warnings.simplefilter("ignore")
MLPClassifier = gn.MLPClassifier  # imports scikit-learn now, not in the timed fit
options, optimizer = {options!r}, {optimizer!r}
if {what!r} == "estimator":
    def run():
        MLPClassifier((256, 256), **options, batch_size=256, alpha=0.0, max_iter=1,
                      random_state=0).fit(X, y)
else:
    def run():
        net = gn.Network.from_sizes([784, 256, 256, 10], activation="relu",
                                    output_activation="softmax", dtype=np.float32, seed=0)
        gn.train(net, X, y, optimizer=optimizer, lr=options["learning_rate_init"], epochs=1,
                 batch_size=256, seed=0)
wall, cpu = time.perf_counter(), time.process_time()
run()
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu, gn.__file__]))
"""


# --solver: the estimator's options and the engine's optimiser name
SOLVERS = {
    "sgd": ({"solver": "sgd", "momentum": 0.0, "learning_rate_init": 0.05}, "sgd"),
    "nesterov": ({"solver": "sgd", "momentum": 0.9, "learning_rate_init": 0.05}, "nesterov"),
    "adam": ({"solver": "adam", "learning_rate_init": 0.001}, "adam"),
}


def measure(src, what, data, solver="sgd"):
    env = {**os.environ, "PYTHONPATH": src}
    options, optimizer = SOLVERS[solver]
    code = MEASURE.format(data=data, what=what, options=options, optimizer=optimizer)
    out = subprocess.run([sys.executable, "-c", code],
                         env=env, capture_output=True, text=True, check=True).stdout
    wall, cpu, where = json.loads(out.strip().splitlines()[-1])
    if not os.path.abspath(where).startswith(os.path.abspath(src)):
        raise SystemExit(f"{src}: imported glassnet from {where}")
    return wall, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", help="the src directory of the other glassnet")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 rounds")
    parser.add_argument("--solver", choices=sorted(SOLVERS), default="sgd")
    args = parser.parse_args(argv)
    n, rounds = (3000, 1) if args.quick else (60000, args.rounds)
    sys.path.insert(0, HERE)
    from bench import mnist_data

    data = os.path.join(tempfile.mkdtemp(prefix="glassnet-versions-"), "mnist.npz")
    X, y = mnist_data(n)
    np.savez(data, X=X, y=y)
    print(f"# glassnet: this checkout vs {args.baseline}, {args.solver}, "
          f"{rounds} interleaved rounds\n")
    print("| workload | version | wall min (s) | wall median (s) | CPU min (s) | CPU median (s) |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for what in ("estimator", "engine"):
        times = {"baseline": [], "this checkout": []}
        for r in range(rounds):
            order = [("baseline", args.baseline), ("this checkout", CURRENT)]
            for name, src in order if r % 2 == 0 else order[::-1]:
                times[name].append(measure(src, what, data, args.solver))
        for name, pairs in times.items():
            wall, cpu = [p[0] for p in pairs], [p[1] for p in pairs]
            print(f"| {what} | {name} | {min(wall):.3f} | {statistics.median(wall):.3f} | "
                  f"{min(cpu):.3f} | {statistics.median(cpu):.3f} |")
        base, this = times["baseline"], times["this checkout"]
        ratios.append((what, min(p[0] for p in base) / min(p[0] for p in this),
                       min(p[1] for p in base) / min(p[1] for p in this)))
    print()
    for what, wall, cpu in ratios:
        print(f"- {what}: baseline / this checkout = {wall:.2f}x (wall min), {cpu:.2f}x (CPU min)")
    os.unlink(data)
    os.rmdir(os.path.dirname(data))


if __name__ == "__main__":
    main()
