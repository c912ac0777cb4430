"""``python -m tests.wheelhouse``: fetch the locked wheels that are missing (PyPI, pip, hashes checked); a
complete wheelhouse is a no-op. ``--lock`` writes image.lock again (uv, PyPI). See the package's docstring."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import wheelhouse
from tests.wheelhouse import HERE, LOCK, PLATFORM, PYTHONS, Locked

PYPI = "https://pypi.org/simple"
ROOT = HERE.parent.parent


def _clean_env() -> dict[str, str]:
    """No machine configuration of pip or uv (find-links, mirrors, constraints): PyPI only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", UV_NO_CONFIG="1")
    return env


def _platform_tags(entries: list[Locked]) -> list[str]:
    from packaging.utils import parse_wheel_filename

    found: set[str] = set()
    for entry in entries:
        found |= {tag.platform for tag in parse_wheel_filename(entry.filename)[3] if tag.platform != "any"}
    return sorted(found)


def _count() -> int:
    return len({e.filename for e in wheelhouse.locked()})


def fetch() -> int:
    root = wheelhouse.folder()
    todo = wheelhouse.missing(check_hashes=True)
    if not todo:
        print(f"wheelhouse complete: {_count()} files in {root}")
        return 0
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"fetching {len({e.filename for e in todo})} wheels from PyPI into {root} ...", flush=True)
    for python in PYTHONS:
        group = wheelhouse.missing(python, check_hashes=True)  # pure wheels already fetched for another Python
        if not group:
            continue
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=root) as tmp:
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text(
                "".join(f"{e.project} @ {e.url} --hash=sha256:{e.sha256}\n" for e in group), encoding="utf-8"
            )
            xy = python.replace(".", "")
            cmd = [
                sys.executable, "-m", "pip", "download", "--isolated", "--no-deps", "--only-binary", ":all:",
                "--require-hashes", "--quiet", "--disable-pip-version-check",
                "--dest", str(Path(tmp) / "out"), "-r", str(requirements),
                "--python-version", python, "--implementation", "cp",
                "--abi", f"cp{xy}", "--abi", "abi3", "--abi", "none",
            ]  # fmt: skip
            for tag in _platform_tags(group):
                cmd += ["--platform", tag]
            done = subprocess.run(cmd, env=_clean_env(), check=False)
            if done.returncode:
                print(f"error: pip could not fetch the wheels for Python {python} (exit {done.returncode})")
                return 1
            for entry in group:
                got = Path(tmp) / "out" / entry.filename
                if not got.is_file() or wheelhouse.sha256_of(got) != entry.sha256:
                    print(f"error: {entry.filename} did not arrive intact")
                    return 1
                os.replace(got, root / entry.filename)
    left = wheelhouse.missing(check_hashes=True)
    if left:
        print(f"error: still missing: {', '.join(e.filename for e in left)}")
        return 1
    print(f"wheelhouse complete: {_count()} files in {root} ({time.monotonic() - started:.1f} s)")
    return 0


# -- writing the lock (maintainers; PyPI) ---------------------------------------------------------------------
def _requirements() -> list[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = [
        line.strip()
        for line in (HERE / "image.in").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return [*project["dependencies"], *extra]


def write_lock() -> int:
    from kaggle_magics.bundle import shipped_base
    from kaggle_magics.bundle.resolve import find_uv, parse_lock
    from kaggle_magics.bundle.target import for_platform
    from kaggle_magics.bundle.wheels import WheelName

    uv = find_uv()
    if uv is None:
        print("error: uv is not installed")
        return 1
    lines = [
        "# kaggle-magics test wheelhouse: the exact wheels the tests install with no index (tests/wheelhouse).",
        "# Written by `python -m tests.wheelhouse --lock` (uv, PyPI) from image.in and pyproject's requirements,",
        "# with Kaggle's image list (kaggle_magics/data) as the constraints.",
        "# python  file  size  sha256  url",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "requirements.in").write_text("\n".join(_requirements()) + "\n", encoding="utf-8")
        (work / "image.txt").write_text(
            "".join(f"{name}=={version}\n" for name, version in shipped_base().preferences().items()),
            encoding="utf-8",
        )
        for python in PYTHONS:
            out = work / f"pylock.cp{python.replace('.', '')}.toml"
            subprocess.run(
                [uv, "pip", "compile", "--quiet", "--no-config", "--format", "pylock.toml", "--python-version",
                 python, "--python-platform", "x86_64-" + PLATFORM.removesuffix("_x86_64"), "--index-url", PYPI,
                 "-c", str(work / "image.txt"), str(work / "requirements.in"), "-o", str(out)],
                check=True, env=_clean_env(),
            )  # fmt: skip
            target = for_platform(python, PLATFORM)
            for pin in parse_lock(out):
                fitting = [w for w in pin.wheels if target.fits(WheelName.parse(w.filename))]
                if not fitting:
                    print(f"error: {pin.project} {pin.version} has no wheel for Python {python}, {PLATFORM}")
                    return 1
                # the most portable file (the oldest glibc) where several fit
                best = max(fitting, key=lambda w: WheelName.parse(w.filename).rank(target.priorities) or 0)
                lines.append(f"{python} {best.filename} {best.size} {best.sha256} {best.url}")
    LOCK.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {LOCK} ({len(lines) - 4} files)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.wheelhouse", description=__doc__)
    parser.add_argument("--lock", action="store_true", help="write image.lock again (uv, PyPI), then fetch")
    parser.add_argument("--clean", action="store_true", help="remove files of the folder that the lock lacks")
    args = parser.parse_args(argv)
    if args.lock and write_lock():
        return 1
    wheelhouse.locked.cache_clear()
    code = fetch()
    if args.clean and code == 0:
        keep = {e.filename for e in wheelhouse.locked()}
        for path in wheelhouse.folder().iterdir():
            if path.is_file() and path.name not in keep:
                path.unlink()
            elif path.is_dir() and path.name.startswith(".fetch-"):
                shutil.rmtree(path, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
