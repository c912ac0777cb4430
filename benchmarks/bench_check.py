"""Benchmark: ``kaggle-magics check`` over generated notebooks, and ``%kaggle_check`` of a 200-cell notebook.

Run by hand (no network; it is not a test):

    python benchmarks/bench_check.py [--notebooks 1000] [--cells 30] [--runs 3]

What it measures, side by side in one run, warm (everything imported and read once before timing):

1. per notebook of ``--cells`` cells (about 22 lines each, a fifth of them markdown): the floor (``json.loads``
   and ``ast.parse`` of every code cell, as the Python IPython makes of it), the scan alone (``scan_notebook``:
   every cell parsed once, IPython syntax included, and walked once), and the whole check
   (``check_paths`` of the file: read, parse, every check, the report); min, median and p95 over the
   notebooks;
2. one ``check`` of the folder holding all of them (what ``kaggle-magics check DIR`` does, in process);
3. ``%kaggle_check`` in a real IPython shell on a 200-cell notebook: from its file (``__session__``), and from
   the shell's history of 200 cells.

Targets (issue 13): under 10 ms a notebook warm for 30 cells; ``%kaggle_check`` of 200 cells under 200 ms.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

CELLS = [
    "".join([
        'import os\n',
        'import gc\n',
        'import numpy as np\n',
        'import pandas as pd\n',
        'from sklearn.model_selection import StratifiedKFold\n',
        'import lightgbm as lgb\n',
        'import matplotlib.pyplot as plt\n',
        'import seaborn as sns\n',
    ]),
    "".join([
        '!pip install -q polars==1.2 catboost\n',
        '%matplotlib inline\n',
    ]),
    "".join([
        "DATA = '/kaggle/input/competitions/comp-2026'\n",
        "train = pd.read_csv(f'{DATA}/train.csv')\n",
        "test = pd.read_csv(os.path.join(DATA, 'test.csv'))\n",
        "sample = pd.read_csv('/kaggle/input/comp-2026/sample_submission.csv')\n",
        'print(train.shape, test.shape)\n',
        'train.head()\n',
    ]),
    "".join([
        'def add_features(df: pd.DataFrame) -> pd.DataFrame:\n',
        '    df = df.copy()\n',
        '    for col in df.columns:\n',
        '        if df[col].dtype == object:\n',
        "            df[col] = df[col].astype('category')\n",
        "        elif df[col].dtype.kind == 'f':\n",
        "            df[f'{col}_sq'] = df[col] ** 2\n",
        "            df[f'{col}_log'] = np.log1p(df[col].clip(lower=0))\n",
        "    df['n_missing'] = df.isna().sum(axis=1)\n",
        '    return df\n',
        '\n',
        '\n',
        'train = add_features(train)\n',
        'test = add_features(test)\n',
        "features = [c for c in train.columns if c not in ('id', 'target')]\n",
        "print(len(features), 'features')\n",
    ]),
    "".join([
        "params = dict(objective='binary', learning_rate=0.03, num_leaves=63, feature_fraction=0.8,\n",
        '              bagging_fraction=0.8, bagging_freq=1, lambda_l2=1.0, verbose=-1)\n',
        'models, oof = [], np.zeros(len(train))\n',
        'folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)\n',
        'for fold, (tr, va) in enumerate(folds.split(train, train.target)):\n',
        '    dtr = lgb.Dataset(train.iloc[tr][features], train.target.iloc[tr])\n',
        '    dva = lgb.Dataset(train.iloc[va][features], train.target.iloc[va])\n',
        '    model = lgb.train(params, dtr, 5000, valid_sets=[dva], callbacks=[lgb.early_stopping(200)])\n',
        '    oof[va] = model.predict(train.iloc[va][features])\n',
        '    models.append(model)\n',
        "    print(f'fold {fold}: {model.best_score}')\n",
        '    del dtr, dva\n',
        '    gc.collect()\n',
    ]),
    "".join([
        'from transformers import AutoTokenizer, AutoModel\n',
        'import torch\n',
        "tokenizer = AutoTokenizer.from_pretrained('/kaggle/input/models/me/deberta/transformers/base/1')\n",
        "model = AutoModel.from_pretrained('microsoft/deberta-v3-base')\n",
        'model.eval()\n',
        'with torch.no_grad():\n',
        "    out = model(**tokenizer(['hello'], return_tensors='pt'))\n",
        'print(out.last_hidden_state.shape)\n',
    ]),
    "".join([
        '%%time\n',
        'fig, ax = plt.subplots(1, 2, figsize=(12, 4))\n',
        'sns.histplot(oof, ax=ax[0])\n',
        'ax[1].plot(sorted(oof))\n',
        'plt.tight_layout()\n',
        'plt.show()\n',
    ]),
    "".join([
        'files = !ls /kaggle/input/comp-2026\n',
        'print(files)\n',
        'import requests\n',
        "resp = requests.get('https://example.com/extra.csv')\n",
        'import some_private_lib\n',
    ]),
    "".join([
        'preds = np.mean([m.predict(test[features]) for m in models], axis=0)\n',
        "sub = pd.DataFrame({'id': test['id'], 'target': preds})\n",
        "sub.to_csv('/kaggle/working/submission.csv', index=False)\n",
        'sub.head()\n',
    ]),
]


def notebook(cells: int, seed: int) -> str:
    rnd = random.Random(seed)
    out = []
    for i in range(cells):
        if i % 5 == 4:
            out.append({"cell_type": "markdown", "metadata": {}, "source": f"## Step {i}\nNotes on what follows."})
        else:  # three snippets a cell (about 18 lines), each cell its own
            picks = rnd.sample(CELLS, 3)
            if any(p.startswith("%%") for p in picks):  # a cell magic only opens a cell
                picks.sort(key=lambda p: not p.startswith("%%"))
                picks = [picks[0], *(p for p in picks[1:] if not p.startswith("%%"))]
            source = "".join(picks) + f"# cell {i}\n"
            out.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": source.splitlines(keepends=True)})  # fmt: skip
    nb = {
        "cells": out,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for n, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{n}"
    return json.dumps(nb)


def stats(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[int(len(times) * 0.95) - 1] if len(times) >= 20 else times[-1]
    return f"min {times[0] * 1e3:6.2f}  median {statistics.median(times) * 1e3:6.2f}  p95 {p95 * 1e3:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notebooks", type=int, default=1000)
    parser.add_argument("--cells", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from kaggle_magics.check.runner import check_paths, make_settings
    from kaggle_magics.config import ProjectDefaults
    from kaggle_magics.scan import code_cells, scan_notebook
    from kaggle_magics.submission import KernelOptions

    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    folder = work / "notebooks"
    folder.mkdir()
    texts = []
    for n in range(args.notebooks):
        text = notebook(args.cells, n)
        (folder / f"nb{n:04d}.ipynb").write_text(text)
        texts.append(text)
    lines = sum(s.count("\n") for _, s in code_cells(json.loads(texts[0])))
    print(f"{args.notebooks} notebooks of {args.cells} cells ({lines} code lines in the first) in {folder}")

    defaults = ProjectDefaults()
    settings = make_settings(defaults, backend="kaggle")  # nothing read from a local store
    options = KernelOptions(competition=["comp-2026"], datasets=["me/extra-data"])
    paths = sorted(folder.iterdir())
    check_paths(paths[:3], options, defaults=defaults, settings=settings)  # warm: imports, the image list

    from kaggle_magics.scan import read_cell

    def as_python(text: str) -> list[str]:
        """Each code cell as the plain Python IPython makes of it (done before the timing)."""
        out = []
        for index, source in code_cells(json.loads(text)):
            cell = read_cell(source, index, walk=False)[0]
            if cell.tree is not None:
                out.append(ast.unparse(cell.tree))
        return out

    pythons = {id(text): as_python(text) for text in texts}

    def floor(text: str) -> None:
        json.loads(text)
        for source in pythons[id(text)]:
            ast.parse(source)

    def check(path: Path) -> None:
        check_paths([path], options, defaults=defaults, settings=settings)

    wall: dict[str, list[float]] = {"floor": [], "scan": [], "check": []}
    cpu: dict[str, list[float]] = {"floor": [], "scan": [], "check": []}
    for _ in range(args.runs):
        for path, text in zip(paths, texts, strict=True):
            for name, fn, arg in (("floor", floor, text), ("scan", scan_notebook, text), ("check", check, path)):
                started, started_cpu = time.perf_counter(), time.process_time()
                fn(arg)
                wall[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)
    print("\n== 1. one notebook at a time (warm; wall clock, then CPU time of this process) ==")
    for name, label in (("floor", "json.loads + ast.parse of each cell (floor)"), ("scan", "scan_notebook"),
                        ("check", "check (read, scan, every check, report)")):  # fmt: skip
        print(f"{label:<44} wall {stats(wall[name])}")
        print(f"{'':<44} cpu  {stats(cpu[name])}")
    check, base = statistics.median(wall["check"]), statistics.median(wall["floor"])
    print(f"check / floor (wall medians): {check / base:.1f}x   "
          f"target: check < 10 ms -> {'met' if check < 0.010 else 'MISSED'} (wall median)")  # fmt: skip

    print("\n== 2. one check of the whole folder ==")
    started, started_cpu = time.perf_counter(), time.process_time()
    report = check_paths([folder], options, defaults=defaults, settings=settings)
    took, took_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    count = len(report.files)
    print(f"{count} files, {report.errors} errors, {report.warnings} warnings in {took:.2f} s wall, "
          f"{took_cpu:.2f} s cpu ({took / count * 1e3:.2f} / {took_cpu / count * 1e3:.2f} ms a notebook)")

    print("\n== 3. %kaggle_check of a 200-cell notebook in a real IPython shell ==")
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "kaggle_magics")
    big = work / "big.ipynb"
    big.write_text(notebook(200, 7))
    shell.user_ns["__session__"] = str(big)
    times = []
    for _ in range(max(args.runs, 5)):
        started = time.perf_counter()
        shell.run_line_magic("kaggle_check", "--competition comp-2026 --backend kaggle")
        times.append(time.perf_counter() - started)
    print(f"{'from the notebook file':<44} wall {stats(times)}")
    del shell.user_ns["__session__"]
    history = shell.history_manager
    for _, source in code_cells(json.loads(big.read_text())):
        history.input_hist_raw.append(source)
        history.input_hist_parsed.append(source)
    shell.execution_count = len(history.input_hist_raw)
    times = []
    for _ in range(max(args.runs, 5)):
        started = time.perf_counter()
        result = shell.run_line_magic("kaggle_check", "--competition comp-2026 --backend kaggle")
        times.append(time.perf_counter() - started)
    cells = len(result.files[0].imports) and result.files[0].notes[-1]
    print(f"{'from the shell history':<44} wall {stats(times)}  ({cells})")
    worst = max(statistics.median(times), 0.0)
    print(f"target: under 200 ms -> {'met' if worst < 0.200 else 'MISSED'}")
    print(f"\n(python {sys.version.split()[0]}; files left in {work})")


if __name__ == "__main__":
    main()
