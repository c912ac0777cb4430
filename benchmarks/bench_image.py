"""Benchmark: a rehearsal in Kaggle's image twin against a bare nbclient run in the user's environment.

Run by hand (it uses PyPI; it is not a test):

    python benchmarks/bench_image.py [--runs 3] [--keep DIR]

The notebook imports numpy and pandas and computes a little. Side by side, in one run, interleaved:

- **bare**: ``nbclient`` executes the notebook in a venv that holds numpy, pandas and ipykernel (the user's
  environment; current releases, this machine's Python), in a fresh interpreter: no sandbox, no twin;
- **warm**: ``kaggle-magics rehearse`` of the same notebook, its twin (Python 3.12, numpy 2.4.6, pandas 2.3.3,
  ipykernel 6.17.1, as Kaggle's image has them) already in the cache;
- **cold**: the same with the notebook's twin not in the cache, uv's cache warm (the twin is built from it,
  no download).

Everything starts from a fresh interpreter (``kaggle-magics`` on the command line, ``python -c`` for bare), with
no machine pip or uv configuration (PyPI only). Targets: warm - bare <= 1.5 s; cold - bare <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CELLS = [
    "import numpy as np\nimport pandas as pd",
    "df = pd.DataFrame(np.random.default_rng(0).random((10_000, 4)), columns=list('abcd'))\n"
    "print(df.describe().round(3))",
    "print((df.a * df.b).sum().round(2))",
]
BARE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3", timeout=600).execute()
assert all(o.get("output_type") != "error" for c in nb.cells for o in c.get("outputs", []))
"""


def clean_env(**extra: str) -> dict[str, str]:
    """No machine pip/uv configuration (local mirrors would distort the numbers): PyPI only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "KAGGLE_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", UV_NO_CONFIG="1", **extra)
    return env


def wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp folder)")
    args = parser.parse_args()
    from kaggle_magics.bundle.resolve import require_uv
    from kaggle_magics.notebook import build_notebook

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-image-"))
    work.mkdir(parents=True, exist_ok=True)
    uv = require_uv()
    uv_cache = work / "uv-cache"
    nb = work / "numpy-pandas.ipynb"
    nb.write_text(json.dumps(build_notebook(CELLS)), encoding="utf-8")
    kaggle_magics = [str(Path(sys.executable).with_name("kaggle-magics")), "rehearse", str(nb)]

    def rehearse_env(images: Path) -> dict[str, str]:
        return clean_env(
            UV_CACHE_DIR=str(uv_cache), KAGGLE_MAGICS_IMAGE_CACHE=str(images), KAGGLE_MAGICS_STORE=str(work / "store")
        )

    # The user's environment: numpy, pandas and a kernel, current releases.
    user = work / "user-venv"
    if not (user / "bin" / "python").exists():
        print("creating the user's venv (numpy, pandas, ipykernel, nbclient) from PyPI ...", flush=True)
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(user)], check=True, env=clean_env())
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(user / "bin" / "python"), "numpy", "pandas", "ipykernel",
             "nbclient", "nbformat"],
            check=True, env=clean_env(UV_CACHE_DIR=str(uv_cache)),
        )  # fmt: skip
    bare_env = clean_env(PATH=f"{user / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    bare = [str(user / "bin" / "python"), "-c", BARE, str(nb)]

    # Warm uv's cache with the twin's packages (the download from PyPI happens here, not in the cold runs).
    print("warming uv's cache with the twin's packages from PyPI ...", flush=True)
    warm_images = work / "images-warm"
    first = wall(kaggle_magics, rehearse_env(warm_images))
    marker = json.loads(next(warm_images.glob("py*/image.json")).read_text())
    held = ", ".join(f"{n}=={marker['installed'][n]}" for n in ("numpy", "pandas", "ipykernel", "ipython"))
    print(f"  first rehearsal, downloads included: {first:.1f} s; the twin holds {held}, "
          f"Python {marker['python']['version']}")  # fmt: skip

    times: dict[str, list[float]] = {"bare": [], "warm": [], "cold": []}
    builds: list[float] = []
    for _ in range(args.runs):  # interleaved, so drift hits every variant alike
        times["bare"].append(wall(bare, bare_env))
        times["warm"].append(wall(kaggle_magics, rehearse_env(warm_images)))
        # cold: this notebook's twin is not in the cache (the cache itself, and the interpreter it found
        # there, are); uv's cache has the packages
        cold_images = work / "images-cold"
        for entry in cold_images.glob("py3*-*"):
            subprocess.run(["chmod", "-R", "u+w", str(entry)], check=True)
            shutil.rmtree(entry)
        times["cold"].append(wall(kaggle_magics, rehearse_env(cold_images)))
        builds.append(json.loads(next(cold_images.glob("py*/image.json")).read_text())["seconds"])

    bare_min = min(times["bare"])
    print(f"\n{args.runs} runs each (min / median), the same notebook (numpy + pandas):")
    for name, label in (("bare", "bare nbclient, user's venv"), ("warm", "rehearse, twin cached"),
                        ("cold", "rehearse, twin built")):  # fmt: skip
        values = times[name]
        extra = "" if name == "bare" else f"   overhead {min(values) - bare_min:+6.2f} s (min - min)"
        print(f"  {label:<28} {min(values):6.2f} / {statistics.median(values):6.2f} s{extra}")
    print(f"  twin build alone (cold)      {min(builds):6.2f} / {statistics.median(builds):6.2f} s")
    warm_over, cold_over = min(times["warm"]) - bare_min, min(times["cold"]) - bare_min
    print(f"\ntargets: warm overhead {warm_over:.2f} s <= 1.5 s: {'met' if warm_over <= 1.5 else 'NOT met'}; "
          f"cold overhead {cold_over:.2f} s <= 10 s: {'met' if cold_over <= 10 else 'NOT met'}")  # fmt: skip
    if not args.keep:
        for folder in work.glob("images-*"):
            subprocess.run(["chmod", "-R", "u+w", str(folder)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
