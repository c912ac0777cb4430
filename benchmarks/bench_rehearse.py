"""What a rehearsal costs over running the same notebook with nbclient alone.

Side by side in one run, interleaved: the notebook executed by a bare ``nbclient.NotebookClient`` (a fresh
kernel of this interpreter, nothing else) in this process (nbclient already imported) and in a new process
(``python -c`` that imports nbclient and runs it: what ``jupyter execute`` costs), and
``kaggle_magics.local.rehearse`` of it in each sandbox that works here (bwrap, unshare, none) in this
interpreter (``--env user``): the run's venv, the sandbox, the executor process, the memory and disk watch,
the scorer; then in the first sandbox with the image twin (the default: Kaggle's Python, so its cells run at
that interpreter's speed, not this one's). Two notebooks: a tiny one
(start-up dominates) and one whose cells compute for a few seconds and hold 200 MB (the watch's share of a
busy kernel). Prints min and median wall times, the ratios of the mins, and the time spent in the cells.

    python benchmarks/bench_rehearse.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from kaggle_magics.local import sandbox
from kaggle_magics.local.admin import add_competition
from kaggle_magics.local.rehearse import rehearse
from kaggle_magics.notebook import build_notebook

TINY = [
    "import csv, os",
    "rows = [(i, i * 2) for i in range(100)]",
    "with open('submission.csv', 'w', newline='') as f:\n    csv.writer(f).writerows([('id', 'y'), *rows])",
]
BUSY = [
    "import csv\ndef work(n):\n    total = 0\n    for i in range(n):\n        total += i * i % 7\n    return total",
    "work(15_000_000)",
    "work(15_000_000)",
    "data = [bytearray(2**20) for _ in range(200)]  # 200 MB held",
    "work(15_000_000)",
    "rows = [(i, i) for i in range(100)]",
    TINY[2],
]


def bare(cells: list[str], folder: Path) -> tuple[float, float]:
    nb = build_notebook(cells)
    spent, began = [0.0], [0.0]

    def cell_start(**_: object) -> None:
        began[0] = time.monotonic()

    def cell_end(**_: object) -> None:
        spent[0] += time.monotonic() - began[0]

    client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                            on_cell_execute=cell_start, on_cell_executed=cell_end)  # fmt: skip
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start, spent[0]


COLD = (
    "import sys, nbformat; from nbclient import NotebookClient; nb = nbformat.read(sys.argv[1], as_version=4); "
    "NotebookClient(nb, kernel_name='python3', resources={'metadata': {'path': sys.argv[2]}}).execute()"
)


def cold(path: Path, folder: Path) -> float:
    import subprocess

    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", COLD, str(path), str(folder)], check=True, capture_output=True)
    return time.perf_counter() - start


def rehearsed(path: Path, store: Path, mode: str, env: str) -> tuple[float, float]:
    start = time.perf_counter()
    result = rehearse(path, store=store, sandbox_mode=mode, competition_sources=["bench-comp"], env=env)
    wall = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"rehearsal in {mode} failed: {result.failure_message or result.submission}")
    return wall, sum(cell.seconds for cell in result.cells)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    modes = [mode for mode in sandbox.MODES if sandbox.probe(mode)]
    # The sandboxes' cost is measured in this interpreter (--env user), as the bare runs are; the image twin
    # (the default) adds its own: Kaggle's Python, whose speed is not this one's, and its environment.
    twin = f"{modes[0]}, image twin"
    variants = [*((mode, mode, "user") for mode in modes), (twin, modes[0], "twin")]
    with tempfile.TemporaryDirectory(prefix="bench-rehearse-") as tmp:
        root = Path(tmp)
        store = root / "store"
        os.environ["KAGGLE_MAGICS_STORE"] = str(store)
        data = root / "comp"
        data.mkdir()
        (data / "sample_submission.csv").write_text("id,y\n" + "".join(f"{i},0\n" for i in range(100)))
        add_competition("bench-comp", data, store)
        for name, cells in (("tiny", TINY), ("busy", BUSY)):
            path = root / f"{name}.ipynb"
            nbformat.write(build_notebook(cells), path)
            work = root / f"work-{name}"
            work.mkdir()
            times: dict[str, list[float]] = {"nbclient": [], "nbclient new process": []}
            cell_times: dict[str, list[float]] = {"nbclient": []}
            for _ in range(runs):  # interleaved, so that drift hits every variant alike
                wall, in_cells = bare(cells, work)
                times["nbclient"].append(wall)
                cell_times["nbclient"].append(in_cells)
                times["nbclient new process"].append(cold(path, work))
                for variant, mode, env in variants:
                    wall, in_cells = rehearsed(path, store, mode, env)
                    times.setdefault(variant, []).append(wall)
                    cell_times.setdefault(variant, []).append(in_cells)
            base, base_cells = min(times["nbclient"]), min(cell_times["nbclient"])
            print(f"\n{name} notebook ({len(cells)} cells), {runs} runs, Python {sys.version.split()[0]}")
            print(f"  {'variant':<21} wall: min, median, ratio of mins (extra)    time in cells: min, ratio")
            for variant, values in times.items():
                cells_text = ""
                if variant in cell_times:
                    in_cells = min(cell_times[variant])
                    cells_text = f"      {in_cells:6.2f} s {in_cells / base_cells:5.2f}"
                print(
                    f"  {variant:<21} {min(values):6.2f} s {statistics.median(values):6.2f} s"
                    f" {min(values) / base:5.2f} (+{min(values) - base:4.2f} s){cells_text}"
                )


if __name__ == "__main__":
    main()
