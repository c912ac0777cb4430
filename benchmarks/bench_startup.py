"""How much ``%load_ext kaggle_magics`` adds to IPython's start-up (target: well under 50 ms).

Runs fresh interpreters side by side: one that starts an IPython shell, one that starts it and loads the
extension; prints the medians and the difference. Not a test: machines are noisy.

    python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

BASE = "from IPython.testing.globalipapp import start_ipython; ip = start_ipython()"
LOAD = BASE + "; ip.run_line_magic('load_ext', 'kaggle_magics')"
IN_PROCESS = (
    "import time; " + BASE + "; t = time.perf_counter(); ip.run_line_magic('load_ext', 'kaggle_magics'); "
    "print((time.perf_counter() - t) * 1000)"
)


def wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    base, load, inside = [], [], []
    for _ in range(runs):  # interleaved, so drift hits both sides alike
        base.append(wall(BASE))
        load.append(wall(LOAD))
        out = subprocess.run([sys.executable, "-c", IN_PROCESS], check=True, capture_output=True, text=True)
        inside.append(float(out.stdout.strip().splitlines()[-1]))
    b, lo, i = statistics.median(base), statistics.median(load), statistics.median(inside)
    print(f"IPython start-up            median {b:7.1f} ms over {runs} runs")
    print(f"  + %load_ext kaggle_magics median {lo:7.1f} ms  (ratio {lo / b:.3f})")
    print(f"load_ext measured inside    median {i:7.1f} ms  (target < 50 ms)")


if __name__ == "__main__":
    main()
