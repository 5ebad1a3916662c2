"""Reading a table: glassnet's loader side by side with pandas, in one process.

    python benchmarks/parse.py            # 1,000,000 x 20 numeric CSV (plus .csv.gz, Parquet)
    python benchmarks/parse.py --quick    # 20,000 rows, memory for the CSV only: keeps it working
    python benchmarks/parse.py --rows 200000 --python-reader

glassnet's side is ``glassnet.datasets.load_csv``: read, check every cell
(missing values, text in numeric columns, infinities, row widths), encode the
features into a float64 matrix and the target into labels. pandas' side is
``pandas.read_csv`` (or ``read_parquet``) alone, which does none of that.

Times are the best of ``--repeat`` runs, the two readers alternating in this
process. Memory is the peak resident-set growth of one read, each in a fresh
process (a process's peak only grows, so it cannot be measured side by side).
The script also checks that both readers produced the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

CHILD = """
import json, resource, sys, time
fmt, path, reader = sys.argv[1:4]
import numpy, pandas
from glassnet.datasets import load_csv
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open("/proc/self/statm") as handle:  # resident pages now, not the import-time peak
    before = int(handle.read().split()[1]) * resource.getpagesize() / 2**20
started = time.perf_counter()
if reader == "pandas":
    result = pandas.read_parquet(path) if fmt == "parquet" else pandas.read_csv(path)
else:
    result = load_csv(path)
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mib": rss() - before}))
"""


def write_table(path, n_rows, n_columns, seed=0):
    """``n_columns - 1`` numeric features (4 decimals, like measured data) and a 0/1 label."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_columns - 1)).round(4)
    label = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(n_columns - 1)])
    frame["label"] = label
    if path.endswith(".parquet"):
        frame.to_parquet(path)
        return
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:
        frame.to_csv(path, index=False)
        return
    if path.endswith(".gz"):
        with pa.CompressedOutputStream(path, "gzip") as stream:
            pcsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), stream)
    else:
        pcsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)


def timed(function, *args):
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def peak_memory(fmt, path, reader):
    output = subprocess.run([sys.executable, "-c", CHILD, fmt, path, reader], check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output)["peak_mib"]


def check_same(path, fmt):
    """glassnet's matrix and labels hold exactly pandas' numbers."""
    import pandas as pd

    from glassnet.datasets import load_csv

    frame = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
    bunch = load_csv(path)
    np.testing.assert_array_equal(bunch.data, frame.iloc[:, :-1].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(bunch.target, frame.iloc[:, -1].to_numpy())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one repeat")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="csv,csv.gz,parquet")
    parser.add_argument("--python-reader", action="store_true",
                        help="also time glassnet's NumPy-only reader (slow on big files)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeat = 20_000, 1

    import pandas as pd

    import glassnet
    from glassnet.datasets import load_csv

    print(f"# Reading a {args.rows:,} x {args.columns} numeric table\n")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print(f"- glassnet {glassnet.__version__}, pandas {pd.__version__}, NumPy {np.__version__}")
    print(f"- times: best of {args.repeat}, readers alternating in one process; memory: peak "
          f"RSS growth of one read in a fresh process\n")
    print("| file | size (MiB) | pandas (s) | glassnet load_csv (s) | glassnet / pandas "
          "| pandas peak (MiB) | glassnet peak (MiB) | glassnet / pandas |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = {}
    with tempfile.TemporaryDirectory() as directory:
        for fmt in args.formats.split(","):
            path = os.path.join(directory, f"table.{fmt}")
            write_table(path, args.rows, args.columns)
            check_same(path, fmt)
            pandas_read = pd.read_parquet if fmt == "parquet" else pd.read_csv
            times = {"pandas": [], "glassnet": []}
            for _ in range(args.repeat):  # alternate, so both see the same machine load
                times["pandas"].append(timed(pandas_read, path))
                times["glassnet"].append(timed(load_csv, path))
            pandas_s, glassnet_s = min(times["pandas"]), min(times["glassnet"])
            size = os.path.getsize(path) / 2**20
            memory = "| - | - | - |"
            if not args.quick or fmt == "csv":  # --quick: two child processes, not six
                pandas_mib = peak_memory(fmt, path, "pandas")
                glassnet_mib = peak_memory(fmt, path, "glassnet")
                ratios[fmt] = (glassnet_s / pandas_s, glassnet_mib / max(pandas_mib, 1))
                memory = (f"| {pandas_mib:.0f} | {glassnet_mib:.0f} | "
                          f"{glassnet_mib / max(pandas_mib, 1):.2f}x |")
            print(f"| .{fmt} | {size:.0f} | {pandas_s:.3f} | {glassnet_s:.3f} | "
                  f"{glassnet_s / pandas_s:.2f}x {memory}")
        if args.python_reader:
            path = os.path.join(directory, "table.csv")
            if not os.path.exists(path):
                write_table(path, args.rows, args.columns)
            code = ("import sys, time; sys.modules['pandas'] = None\n"
                    "from glassnet.datasets import load_csv\n"
                    "t = time.perf_counter(); load_csv(sys.argv[1]); "
                    "print(time.perf_counter() - t)")
            seconds = float(subprocess.run([sys.executable, "-c", code, path], check=True,
                                           capture_output=True, text=True).stdout)
            print(f"\nglassnet's NumPy-only reader (no pandas) on the .csv: {seconds:.2f} s")
    if "csv" in ratios:
        time_ratio, memory_ratio = ratios["csv"]
        met = time_ratio <= 2 and memory_ratio <= 2
        print(f"\ntarget, a plain CSV within 2x pandas' time and memory: "
              f"{'met' if met else 'NOT met'} ({time_ratio:.2f}x time, {memory_ratio:.2f}x memory)")


if __name__ == "__main__":
    main()
