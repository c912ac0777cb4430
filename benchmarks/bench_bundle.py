"""Benchmark: freeze and install bundles against the seed recipe (pip download + pip install --find-links).

Run by hand (it uses PyPI; it is not a test):

    python benchmarks/bench_bundle.py [--keep DIR]

What it measures, side by side in one run, on cold caches and fresh venvs:

1. freeze time of the issue's set for Kaggle's target (CPython 3.12 manylinux x86_64) against
   ``pip download`` of the same set (which cannot even target 3.12: antlr4 is an sdist, and pip refuses
   sdists for a foreign target);
2. install time of the same set (frozen for this machine's Python, so it can be installed here) into fresh
   venvs: (a) ``pip install --no-index --find-links`` of the same wheels, (b) unzipping them (the floor),
   (c) ``kaggle_magics.bundle.install``; plus a second install (a no-op);
3. bundle size for timm with a base snapshot that holds torch, against the naive closure (sizes from the
   resolved lock: torch and its CUDA libraries are never downloaded).

Targets (issue 3): install >= 5x faster than (a) and <= 1.3x (b); freeze no slower than pip download;
the timm bundle >= 90% smaller than the naive one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

SET = ["polars", "lightgbm", "transformers", "omegaconf", "loguru", "hydra-core", "scikit-learn", "pandas"]


def clean_env(**extra: str) -> dict[str, str]:
    """No machine pip/uv configuration (local mirrors would distort the numbers)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", UV_NO_CONFIG="1", **extra)
    return env


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - started, value


def sh(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), **kwargs)


def uv() -> str:
    from kaggle_magics.bundle.resolve import require_uv

    return require_uv()


def fresh_venv(path: Path) -> Path:
    sh([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True)
    return path / "bin" / "python"


def mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def dependency_wheels(bundle: Path) -> list[Path]:
    from kaggle_magics.bundle import read_manifest

    return [bundle / f.filename for f in read_manifest(bundle).of_kind("wheel")]


def part_freeze(work: Path) -> dict[str, float]:
    from kaggle_magics.bundle import freeze

    print("== 1. freeze vs pip download (cold caches) ==")
    out: dict[str, float] = {}
    dl = work / "pip-download"
    t, proc = timed(
        sh,
        [sys.executable, "-m", "pip", "download", "--isolated", "--no-cache-dir", "-q", "-d", str(dl), *SET],
    )
    out["pip_download"] = t
    files = list(dl.iterdir())
    print(
        f"pip download (this machine's Python)   {t:6.1f} s  {len(files)} files, "
        f"{mb(sum(f.stat().st_size for f in files))}, sdists: {[f.name for f in files if f.suffix != '.whl']}"
    )
    t312, proc = timed(
        sh,
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--isolated",
            "--no-cache-dir",
            "-q",
            "-d",
            str(work / "pip-download-312"),
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--platform",
            "manylinux_2_35_x86_64",
            "--platform",
            "manylinux2014_x86_64",
            *SET,
        ],
    )
    got = sorted(
        p.name for p in (work / "pip-download-312").glob("*") if p.name.startswith(("hydra", "omegaconf"))
    )
    print(
        f"pip download --python-version 3.12     {t312:6.1f} s  exit {proc.returncode}; "
        f"to avoid antlr4's sdist pip backtracked to {got}"
    )

    os.environ["UV_CACHE_DIR"] = str(work / "uv-cache-freeze")
    t, result = timed(freeze, SET, dest=work / "bundle-312", progress=False)
    out["freeze_312"] = t
    print(
        f"freeze for Kaggle (cp312 manylinux)    {t:6.1f} s  {result.files} files, {mb(result.size_bytes)}, "
        f"built from source: {result.built_from_source}"
    )
    t, result = timed(
        freeze,
        SET,
        dest=work / "bundle-local",
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
        progress=False,
    )
    out["freeze_local"] = t
    print(
        f"freeze for this Python (warm uv cache)  {t:6.1f} s  {result.files} files, {mb(result.size_bytes)}"
    )
    print(
        f"ratio freeze(Kaggle) / pip download    {out['freeze_312'] / out['pip_download']:.2f}"
        "  (target <= 1.0)"
    )
    return out


def part_install(work: Path, runs: int, pip_runs: int) -> dict[str, float]:
    """Each variant ``runs`` times, interleaved, into fresh venvs with cold caches; min and median reported
    (a shared 2-core machine is noisy: the min is the least disturbed run)."""
    from kaggle_magics.bundle import install

    print(f"\n== 2. install into fresh venvs (same wheels; cold caches; {runs} runs each, pip {pip_runs}) ==")
    bundle = work / "bundle-local"
    wheels = dependency_wheels(bundle)
    size = sum(w.stat().st_size for w in wheels)
    print(f"{len(wheels)} wheels, {mb(size)}")

    # the seed recipe, as people run it: pip download's folder (with the antlr4 sdist) -> fails offline
    seed_py = fresh_venv(work / "venv-seed")
    seed = sh([sys.executable, "-m", "pip", "--python", str(seed_py), "install", "--isolated", "--no-index",
               "--find-links", str(work / "pip-download"), *SET])  # fmt: skip
    tail = [line.strip() for line in seed.stderr.splitlines() if "error" in line.lower()][:1]
    print(
        f"(a0) seed recipe as is (pip download's folder): exit {seed.returncode} "
        f"{tail[0][:90] if tail else ''}"
    )

    times: dict[str, list[float]] = {
        "pip": [],
        "unzip CLI": [],
        "python zipfile": [],
        "ours": [],
        "again": [],
    }
    notes: list[str] = []
    for run in range(runs):
        scratch = work / f"run-{run}"
        scratch.mkdir()
        if run < pip_runs:
            pip_py = fresh_venv(scratch / "venv-pip")
            cmd = [sys.executable, "-m", "pip", "--python", str(pip_py), "install", "--isolated",
                   "--no-index", "--no-cache-dir", "-q", "--find-links", str(bundle), *SET]  # fmt: skip
            t, proc = timed(sh, cmd)
            assert proc.returncode == 0, proc.stderr
            times["pip"].append(t)
        if shutil.which("unzip"):
            dest = scratch / "unzip-cli"
            dest.mkdir()
            t, _ = timed(
                lambda d=dest: [sh(["unzip", "-q", "-o", str(w), "-d", str(d)], check=True) for w in wheels]
            )
            times["unzip CLI"].append(t)

        def extract(dest: Path = scratch / "unzip-py") -> None:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as archive:
                    archive.extractall(dest)

        t, _ = timed(extract)
        times["python zipfile"].append(t)
        ours_py = fresh_venv(scratch / "venv-ours")
        os.environ["UV_CACHE_DIR"] = str(scratch / "uv-cache")  # cold, on the venv's file system
        t, result = timed(install, [bundle], python=ours_py, progress=False)
        times["ours"].append(t)
        notes = [
            f"{len(result.installed)} packages",
            str(result.installer),
            f"{result.verified_files} files verified",
        ]
        t, again = timed(install, [bundle], python=ours_py, progress=False)
        assert again.already_satisfied
        times["again"].append(t)
        if run == 0:
            check = sh(
                [str(ours_py), "-I", "-c", "import polars, lightgbm, transformers, hydra, sklearn, pandas"]
            )
            notes.append("imports ok" if check.returncode == 0 else check.stderr.strip().splitlines()[-1])
        shutil.rmtree(scratch, ignore_errors=True)

    def show(label: str, key: str) -> None:
        values = times[key]
        if values:
            print(f"{label:44s} min {min(values):6.2f} s  median {statistics.median(values):6.2f} s")

    show("(a) pip install --no-index --find-links", "pip")
    show("(b) unzip the wheels: unzip CLI", "unzip CLI")
    show("(b) unzip the wheels: python zipfile", "python zipfile")
    show("(c) kaggle_magics install", "ours")
    print(f"    ({', '.join(notes)})")
    show("(c) second install (a no-op)", "again")
    floor = min(min(times["unzip CLI"] or [float("inf")]), min(times["python zipfile"]))
    ours = min(times["ours"])
    print(f"ratio (a)/(c) pip / ours (min)                {min(times['pip']) / ours:6.1f}x  (target >= 5)")
    print(f"ratio (c)/(b) ours / fastest unzip (min)      {ours / floor:6.2f}   (target <= 1.3)")
    return {"pip": min(times["pip"]), "ours": ours, "unzip": floor}


def part_base(work: Path) -> dict[str, float]:
    from kaggle_magics.bundle import freeze
    from kaggle_magics.bundle.resolve import IndexOptions, compile_lock
    from kaggle_magics.bundle.target import for_platform

    print("\n== 3. timm with a base snapshot that holds torch ==")
    target = for_platform("3.12", "manylinux_2_35_x86_64")
    spec = work / "timm.in"
    spec.write_text("timm\n")
    (work / "lock").mkdir()
    pins = compile_lock(uv(), [spec], target, IndexOptions(), work / "lock")
    priorities = target.priorities

    def best_size(pin) -> int:
        from kaggle_magics.bundle.wheels import WheelName

        fitting = [(WheelName.parse(w.filename).rank(priorities), w) for w in pin.wheels]
        fitting = [(r, w) for r, w in fitting if r is not None]
        if fitting:
            return min(fitting, key=lambda x: x[0])[1].size or 0
        return (pin.sdist.size or 0) if pin.sdist else 0

    naive = sum(best_size(p) for p in pins)
    torch = next(p for p in pins if p.project == "torch")
    print(f"naive closure: {len(pins)} packages, {mb(naive)} (torch {torch.version}: {mb(best_size(torch))})")
    base = work / "kaggle-base.txt"
    base.write_text(f"torch=={torch.version}+cu124\n")
    t, result = timed(freeze, ["timm"], dest=work / "bundle-timm", base=base, progress=False)
    manifest = result.manifest
    assert manifest is not None
    deps = sum(f.size for f in manifest.of_kind("wheel"))
    print(
        f"with the base: {len(manifest.of_kind('wheel'))} wheels, {mb(deps)} of dependencies "
        f"({mb(result.size_bytes)} with the installer's tools), frozen in {t:.1f} s"
    )
    print(f"left out: {len(result.left_out)} packages, e.g. {result.left_out[:4]}")
    print(
        f"reduction: {100 * (1 - deps / naive):.1f}% smaller (dependencies), "
        f"{100 * (1 - result.size_bytes / naive):.1f}% with tools  (target >= 90%)"
    )
    return {"naive": naive, "bundle": deps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temp folder, removed)")
    parser.add_argument("--runs", type=int, default=3, help="install runs per variant (default 3)")
    parser.add_argument("--pip-runs", type=int, default=2, help="of which with pip (slow; default 2)")
    args = parser.parse_args()
    for name in list(os.environ):
        if name.startswith(("PIP_", "UV_")):
            del os.environ[name]
    os.environ["PIP_CONFIG_FILE"] = os.devnull
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-bundle-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, work folder {work}\n")
        part_freeze(work)
        part_install(work, args.runs, min(args.pip_runs, args.runs))
        part_base(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
