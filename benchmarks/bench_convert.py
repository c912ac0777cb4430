"""``kaggle-magics convert`` of many notebooks, side by side with a bare nbformat read + write of the same files
(the floor: any conversion reads and writes every notebook). Target: convert <= 1.5x the bare pass.

Generates ``--count`` notebooks of ``--cells`` cells (code with outputs and markdown, no kernelspec: what people
keep in repositories), then times, interleaved, ``--runs`` times each:

- bare: ``nbformat.read`` + ``nbformat.write`` of every file into a fresh folder;
- convert: :func:`kaggle_magics.convert.convert` of every file into a fresh folder (kernelspec, outputs
  cleared, kernel-metadata.json, validation), in this process;
- convert --check: the same files checked, nothing written.

    python benchmarks/bench_convert.py [--count 1000] [--cells 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(folder: Path, count: int, cells: int) -> list[Path]:
    import nbformat
    import nbformat.v4 as v4

    paths = []
    for n in range(count):
        nb = v4.new_notebook()
        for c in range(cells):
            if c % 5 == 0:
                nb.cells.append(v4.new_markdown_cell(f"## Step {c}\nSome text about notebook {n}."))
            else:
                cell = v4.new_code_cell(f"x{c} = {c} * {n}\nprint(x{c})\nimport numpy as np\ny = np.arange({c})")
                cell.outputs = [v4.new_output("stream", name="stdout", text=f"{c * n}\n")]
                cell.execution_count = c
                nb.cells.append(cell)
        path = folder / f"notebook-{n:04d}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def bare(paths: list[Path], out: Path) -> None:
    import nbformat

    for path in paths:
        nb = nbformat.read(path, as_version=4)
        target = out / path.stem
        target.mkdir()
        nbformat.write(nb, target / path.name)


def convert(paths: list[Path], out: Path, check: bool = False) -> None:
    from kaggle_magics.config import ProjectDefaults
    from kaggle_magics.convert import convert as run
    from kaggle_magics.submission import KernelOptions

    kwargs = {"check": True} if check else {}
    result = run([str(p) for p in paths], KernelOptions(), out=out, defaults=ProjectDefaults(owner="me"), **kwargs)
    if result.failed:
        raise SystemExit(f"convert failed: {result.failed[0]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--cells", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-convert-"))
    try:
        (work / "src").mkdir()
        paths = generate(work / "src", args.count, args.cells)
        import kaggle_magics.convert  # noqa: F401 - imports paid once, as in a warm process

        variants = {
            "bare nbformat read+write": lambda out: bare(paths, out),
            "kaggle-magics convert": lambda out: convert(paths, out),
        }
        from kaggle_magics.convert import convert as run

        if "check" in run.__code__.co_varnames:
            variants["kaggle-magics convert --check"] = lambda out: convert(paths, out, check=True)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for run_number in range(args.runs):
            for name, variant in variants.items():
                out = work / f"out-{run_number}-{len(times[name])}-{abs(hash(name))}"
                out.mkdir()
                started = time.perf_counter()
                variant(out)
                times[name].append(time.perf_counter() - started)
                shutil.rmtree(out)
        floor = min(times["bare nbformat read+write"])
        print(f"{args.count} notebooks of {args.cells} cells, {args.runs} runs each (min / median):")
        for name, values in times.items():
            best = min(values)
            print(
                f"  {name:<32} {best:7.2f} s  {statistics.median(values):7.2f} s  "
                f"{best / args.count * 1000:6.2f} ms a notebook  {best / floor:5.2f}x bare"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
