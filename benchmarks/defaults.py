"""``glassnet train`` at its defaults on a regression CSV, against the ridge baseline.

scikit-learn's diabetes data (442 rows, 10 features, a target from 25 to 346,
bundled with scikit-learn) is written as a CSV, as a user would have it, and
``glassnet train diabetes.csv`` runs at its defaults with ``--seed`` 0..19:
each seed is another 80/20 split, another initialisation and another
early-stopping hold-out. The network's test R² is printed beside the ridge
regression baseline the same report computes on the same split, and with
``--compare`` the same runs with ``--no-scale-target --no-early-stopping``
(the defaults before the target was scaled).

    python benchmarks/defaults.py              # the README figure
    python benchmarks/defaults.py --compare    # and without the target scaling
"""

import argparse
import contextlib
import io
import json
import os
import tempfile

import numpy as np
from sklearn.datasets import load_diabetes

from glassnet.cli import main as glassnet


def run(csv, seed, extra, directory):
    out = os.path.join(directory, f"run-{seed}-{len(extra)}")
    with contextlib.redirect_stdout(io.StringIO()):  # the report of each run
        code = glassnet(["train", csv, "--seed", str(seed), "--quiet", "--plots", "none",
                         "--out", out, *extra])
    assert code == 0
    with open(os.path.join(out, "metrics.json")) as handle:
        metrics = json.load(handle)
    return metrics["test"]["r2"], metrics["baselines"]["ridge regression"]["test"]["r2"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args(argv)
    settings = {"defaults": []}
    if args.compare:
        settings["--no-scale-target --no-early-stopping"] = ["--no-scale-target",
                                                             "--no-early-stopping"]
    with tempfile.TemporaryDirectory() as directory:
        csv = os.path.join(directory, "diabetes.csv")
        load_diabetes(as_frame=True).frame.to_csv(csv, index=False)
        for name, extra in settings.items():
            pairs = np.array([run(csv, seed, extra, directory) for seed in range(args.seeds)])
            network, ridge = pairs[:, 0], pairs[:, 1]
            gap = network - ridge
            print(f"glassnet train diabetes.csv {name}, --seed 0..{args.seeds - 1}:")
            print("  seed  network r2  ridge r2  difference")
            for seed, (ours, theirs) in enumerate(pairs):
                print(f"  {seed:4d}  {ours:10.4f}  {theirs:8.4f}  {ours - theirs:+10.4f}")
            print(f"  mean  {network.mean():10.4f}  {ridge.mean():8.4f}  {gap.mean():+10.4f}"
                  f"   (worst {gap.min():+.4f}, seeds within 0.05 of ridge or better: "
                  f"{int((gap >= -0.05).sum())}/{args.seeds})")


if __name__ == "__main__":
    main()
