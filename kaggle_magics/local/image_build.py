"""Building an image twin (:mod:`.image`) with uv, from the user's configured index.

- The index: uv's own configuration (``UV_INDEX_URL``, ``UV_FIND_LINKS``, uv.toml, ...) when it names one,
  else pip's (``pip config list``: index-url, extra-index-url, find-links, no-index), else PyPI; or the
  :class:`Index` passed (``kaggle-magics local image build --index-url ...``).
- The packages: each direct one pinned to the base's version, the whole base as constraints, bytecode
  compiled (the twin is read-only: a kernel could not write its ``.pyc`` files), test suites aside. uv's
  cache is tried first with the network off, so that a twin of packages uv has seen before builds without
  the index.
- A version the index does not offer for this Python (a ``+cpu`` torch, a release with no wheel for it)
  falls back to the nearest release below it, and the run's notes say so. A package that no index has, or
  no network, is an :class:`~kaggle_magics.errors.ImageError` that says what is missing and how to build
  the twin while online.
- Everything happens in a temp folder of the cache, renamed into place when complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..bundle._util import ToolFailed, gist, run
from ..bundle.resolve import require_uv
from ..errors import ImageError
from .image import FORMAT, MARKER, ImageEnv, Plan, cache_root, set_writable

BUILD_COMMAND = "kaggle-magics local image build PATH"
_MAX_RELAXED = 8
_NETWORK = re.compile(
    r"Failed to fetch|error sending request|dns error|failed to lookup address|Connection refused|"
    r"Network is unreachable|tcp connect error|operation timed out|Could not connect|No route to host|"
    r"Network connectivity is disabled|the network was disabled",
    re.IGNORECASE,
)
_NOT_ON_INDEX = re.compile(
    r"(?:Because )?(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*) was not found in the (?:package registry|provided "
    r"package locations)"
)
_CULPRIT = re.compile(
    r"(?:no version of|no versions of|Because|only|and|depends on) (?P<name>[A-Za-z0-9][A-Za-z0-9._-]*?)"
    r"(?:\[[^\]]*\])?(?:==|<=|>=|<|>|!=| has no| was not| cannot| is)"
)
_UV_INDEX_VARS = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS")


# -- the index --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Index:
    """Where a twin's packages come from, as uv is told."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def uv_args(self) -> list[str]:
        args = ["--no-index"] if self.no_index else []
        if self.index_url and not self.no_index:
            args += ["--index-url", self.index_url]
        for url in () if self.no_index else self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        if self.extra_index_urls and not self.no_index:
            # pip's way with several indexes: the best version among all of them (uv's default stops at the
            # first index that has the project at all, which may lack the image's version)
            args += ["--index-strategy", "unsafe-best-match"]
        return args


def pip_index() -> Index:
    """The index pip is configured with (its config files and PIP_* variables), as uv options."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return Index()
    values: dict[str, tuple[int, str]] = {}
    rank = {":env:": 3, "install": 2, "global": 1}
    for line in done.stdout.splitlines() if done.returncode == 0 else []:
        key, sep, value = line.partition("=")
        section, _, option = key.rpartition(".")
        if not sep or section not in rank:
            continue
        value = value.strip().strip("'\"")
        if option not in values or rank[section] > values[option][0]:
            values[option] = (rank[section], value)
    get = {option: value for option, (_, value) in values.items()}
    no_index = get.get("no-index", "").lower() in ("1", "true", "yes", "on")
    return Index(
        index_url=get.get("index-url") or None,
        extra_index_urls=tuple(get.get("extra-index-url", "").split()),
        find_links=tuple(get.get("find-links", "").split()),
        no_index=no_index,
    )


def _index_args(index: Index | None) -> list[str]:
    if index is None:
        if any(os.environ.get(name) for name in _UV_INDEX_VARS):
            return []  # uv is configured: it reads its own settings
        index = pip_index()
    return index.uv_args()


def _uv_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX")}
    env.update(UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
    return env


# -- building ---------------------------------------------------------------------------------------------
def _public(version: str) -> str:
    try:
        return Version(version).public
    except InvalidVersion:
        return version


def _valid(version: str) -> bool:
    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


def _requirement_lines(plan: Plan, relaxed: dict[str, str]) -> tuple[list[str], list[str]]:
    """The requirements and constraints files of an attempt; ``relaxed`` packages: "below" (the nearest
    release at or below the base's version) or "any"."""
    reqs = []
    for name, version in sorted(plan.requirements.items()):
        how = relaxed.get(name) or ("any" if not _valid(version) else None)  # not PEP 440: unpinned
        reqs.append(name if how == "any" else f"{name}<={_public(version)}" if how else f"{name}=={version}")
    cons = [
        f"{name}=={version}"
        for name, version in sorted(plan.constraints.items())
        if name not in plan.requirements and name not in relaxed and _valid(version)
    ]
    cons += [f"{name}<={_public(plan.constraints[name])}" for name in sorted(relaxed) if relaxed[name] == "below"
             and name not in plan.requirements and name in plan.constraints]  # fmt: skip
    return reqs, cons


def _install(uv: str, venv: Path, plan: Plan, relaxed: dict[str, str], args: list[str], offline: bool) -> None:
    reqs, cons = _requirement_lines(plan, relaxed)
    (venv.parent / "requirements.txt").write_text("\n".join(reqs) + "\n", encoding="utf-8")
    (venv.parent / "constraints.txt").write_text("\n".join(cons) + "\n", encoding="utf-8")
    cmd = [uv, "pip", "install", "--python", str(venv / "bin" / "python"),
           "-r", str(venv.parent / "requirements.txt"), "-c", str(venv.parent / "constraints.txt"), *args]  # fmt: skip
    if offline:
        cmd.append("--offline")
    run(cmd, what="cannot install the image twin's packages", env=_uv_env(), cwd=venv.parent)


def _compile(venv: Path, site: Path) -> None:
    """Bytecode for what a kernel may import (the twin is read-only: a kernel could not write it), packages'
    own test suites left out (a third of numpy's and pandas' files, never imported by a notebook). A file
    that does not compile (some packages ship such) only goes without."""
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", "-x", r"[/\\]tests?[/\\]", str(site)],
        capture_output=True, check=False, cwd=venv,
    )  # fmt: skip


def _culprit(text: str, names: set[str]) -> str | None:
    for match in _CULPRIT.finditer(text):
        name = str(canonicalize_name(match.group("name")))
        if name in names:
            return name
    return None


def _failure(plan: Plan, exc: ToolFailed) -> ImageError:
    text = exc.output
    what = plan.describe()
    online = f"build it while online: {BUILD_COMMAND} (or run with --env user, your own environment)"
    if _NETWORK.search(text):
        return ImageError(
            f"cannot build Kaggle's image twin for this run ({what}): the index is unreachable and uv's cache "
            f"lacks some of it ({gist(text, 300)})",
            hint=online,
        )
    missing = _NOT_ON_INDEX.search(text)
    if missing:
        name = str(canonicalize_name(missing.group("name")))
        held = plan.constraints.get(name)
        why = f"{name}{f' {held}' if held else ''} (in the base {plan.base}"
        why += f", imported as {plan.imported[name]})" if name in plan.imported else ")"
        return ImageError(
            f"cannot build Kaggle's image twin for this run: {why} is on no index configured here",
            hint="configure an index that has it (pip's or uv's index settings), attach it as a bundle, or "
            "run with --env user",
        )
    return ImageError(f"cannot build Kaggle's image twin for this run ({what}): {gist(text, 500)}", hint=online)


def _installed(site: Path) -> tuple[dict[str, str], list[str]]:
    found: dict[str, str] = {}
    infos = []
    for info in sorted(site.glob("*.dist-info")):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        found[str(canonicalize_name(name))] = version
        infos.append(info.name)
    return found, infos


def _fallback_notes(plan: Plan, installed: dict[str, str], relaxed: dict[str, str]) -> list[str]:
    notes = []
    for name in sorted(relaxed):
        wanted, got = plan.constraints.get(name), installed.get(name)
        if wanted is None or got is None or (_public(got) == _public(wanted) and "+" not in wanted):
            continue
        notes.append(
            f"{name}: the base has {wanted}, which the index does not offer for Python {plan.python.minor}: "
            f"the twin has {got}, the nearest release" + _hint(name, wanted)
        )
    return notes


def _hint(name: str, version: str) -> str:
    if "+cpu" in version and name in ("torch", "torchvision", "torchaudio"):
        return " (its +cpu builds are on https://download.pytorch.org/whl/cpu: add it as an index)"
    return ""


def build(plan: Plan, *, index: Index | None = None) -> ImageEnv:
    """Build the twin of ``plan`` into the cache (a temp folder renamed into place) and return it."""
    started = time.monotonic()
    uv = require_uv()
    root = cache_root()
    _sweep(root)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{plan.path.name}-", dir=root))
    venv = work / "env"
    try:
        run([uv, "venv", "--quiet", "--relocatable", "--no-config", "--python", plan.python.executable, str(venv)],
            what="cannot create the image twin's venv", env=_uv_env())  # fmt: skip
        args = _index_args(index)
        relaxed: dict[str, str] = {}
        offline = True  # uv's cache first: no index needed for what uv has seen
        while True:
            try:
                _install(uv, venv, plan, relaxed, args, offline)
                break
            except ToolFailed as exc:
                if offline:
                    offline = False
                    continue
                if _NETWORK.search(exc.output) or _NOT_ON_INDEX.search(exc.output):
                    raise _failure(plan, exc) from None
                names = set(plan.requirements) | set(plan.constraints)
                culprit = _culprit(exc.output, names)
                if culprit is None or relaxed.get(culprit) == "any" or len(relaxed) >= _MAX_RELAXED:
                    raise _failure(plan, exc) from None
                relaxed[culprit] = "any" if culprit in relaxed else "below"
        site = Path(next(venv.glob("lib/python*/site-packages")))
        _compile(venv, site)
        installed, infos = _installed(site)
        seconds = time.monotonic() - started
        notes = _fallback_notes(plan, installed, relaxed)
        marker: dict[str, Any] = {
            "format": FORMAT, "key": plan.key, "python": {"executable": plan.python.executable,
            "version": plan.python.version}, "requested": plan.requirements, "installed": installed,
            "dist_info": infos, "site_packages": str(site.relative_to(venv)), "notes": notes,
            "built_at": time.time(), "seconds": round(seconds, 2),
        }  # fmt: skip
        (venv / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        os.replace(venv, plan.path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    set_writable(plan.path, False)
    rel = Path(marker["site_packages"])
    return ImageEnv(plan.path, plan.python, installed, plan.path / rel, built=True, seconds=seconds, notes=notes)


def _sweep(root: Path, older_than: float = 24 * 3600) -> None:
    """Leftovers of builds that died (a killed process): temp folders of the cache a day old."""
    now = time.time()
    for entry in root.glob(".tmp-*"):
        try:
            if now - entry.stat().st_mtime > older_than:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue
    for entry in root.glob(".trash-*"):
        set_writable(entry, True)
        shutil.rmtree(entry, ignore_errors=True)
