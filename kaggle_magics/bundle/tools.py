"""The wheels a bundle carries so it installs on a stock image: kaggle-magics, packaging, and uv.

kaggle-magics and packaging are pure Python: the install cell puts them on ``sys.path`` as zip files. uv's
wheel holds a binary for one platform: it is taken from this machine's uv when its tags fit the target, else
fetched from the index for the target; when neither works, the bundle installs with pip (slower) and says so.
Repacked wheels are kept for the life of the process, so freezing again does not compress uv's binary again.
"""

from __future__ import annotations

import atexit
import importlib.metadata as md
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BundleError
from .fetch import fetch_all
from .progress import Stage
from .resolve import IndexOptions, compile_lock
from .target import Target
from .wheels import WheelName, installed_wheel_tags, own_wheel, repack_installed

_CACHE: dict[tuple[str, str, str], Path] = {}
_CACHE_DIR: Path | None = None


@dataclass
class Tool:
    role: str  # kaggle-magics | packaging | installer
    path: Path


def _cache_dir() -> Path:
    global _CACHE_DIR
    if _CACHE_DIR is None or not _CACHE_DIR.is_dir():
        _CACHE_DIR = Path(tempfile.mkdtemp(prefix="kaggle-magics-tools-"))
        atexit.register(shutil.rmtree, _CACHE_DIR, True)
    return _CACHE_DIR


def _repacked(project: str, compresslevel: int = 6) -> Path:
    dist = md.distribution(project)
    key = (project, dist.version, str(dist.locate_file("")))
    cached = _CACHE.get(key)
    if cached is None or not cached.is_file():
        folder = Path(tempfile.mkdtemp(dir=_cache_dir()))
        cached = repack_installed(project, folder, compresslevel=compresslevel)
        _CACHE[key] = cached
    return cached


def _copy_into(source: Path, out_dir: Path) -> Path:
    out = Path(out_dir) / source.name
    shutil.copyfile(source, out)
    return out


def gather_tools(
    out_dir: Path, target: Target, uv: str, index: IndexOptions, work: Path, stage: Stage, notes: list[str]
) -> list[Tool]:
    """Put the tool wheels into ``out_dir``; what could not be had is explained in ``notes``."""
    tools = [Tool("kaggle-magics", own_wheel(out_dir))]
    try:
        tools.append(Tool("packaging", _copy_into(_repacked("packaging"), out_dir)))
    except (md.PackageNotFoundError, BundleError) as exc:
        notes.append(f"packaging's wheel is not in the bundle ({exc}): the image must have packaging")
    installer = _uv_wheel(out_dir, target, uv, index, work, stage)
    if installer is None:
        notes.append(
            f"no uv wheel for {target.label} (none installed here fits it, and the index has none): "
            "install will use pip, which is slower"
        )
    else:
        tools.append(Tool("installer", installer))
    return tools


def _uv_wheel(out_dir: Path, target: Target, uv: str, index: IndexOptions, work: Path, stage: Stage) -> Path | None:
    try:
        dist = md.distribution("uv")
    except md.PackageNotFoundError:
        dist = None
    if dist is not None and any(str(t) in target.priorities for t in installed_wheel_tags(dist)):
        # level 1: uv's binary is most of a bundle's tools; zlib's fastest level costs ~10% in size only
        return _copy_into(_repacked("uv", compresslevel=1), out_dir)
    version = dist.version if dist is not None else None
    requirement = f"uv=={version}" if version else "uv"
    try:
        spec = work / "uv-tool.in"
        spec.write_text(requirement + "\n", encoding="utf-8")
        pins = compile_lock(uv, [spec], target, index, work, tag="tool")
        wheels = [w for p in pins if p.project == "uv" for w in p.wheels]
        fitting = [w for w in wheels if target.fits(WheelName.parse(w.filename))]
        if not fitting:
            return None
        [(path, _digest, _size)] = fetch_all(fitting[:1], out_dir, stage)
        return path
    except BundleError:
        return None
