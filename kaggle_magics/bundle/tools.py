"""The wheels a bundle carries so it installs on a stock image: kaggle-magics, packaging, and uv.

kaggle-magics and packaging are pure Python: the install cell puts them on ``sys.path`` as zip files. uv's
wheel holds a binary for one platform: it is taken from this machine's uv when its tags fit the target, else
fetched from the index for the target; when neither works, the bundle installs with pip (slower) and says so.
Repacked wheels are cached in the user's cache folder (keyed by the installed files' RECORD), so freezing
again does not compress uv's 40 MB binary again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
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


@dataclass
class Tool:
    role: str  # kaggle-magics | packaging | installer
    path: Path


def _cache_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kaggle-magics")) / "wheels"


def _repacked(project: str, compresslevel: int = 6) -> Path:
    """A wheel of an installed distribution, from the cache when the same files were repacked before."""
    dist = md.distribution(project)
    record = (dist.read_text("RECORD") or "").encode()
    key = f"{project}-{dist.version}-{hashlib.sha256(record).hexdigest()[:16]}"
    folder = _cache_root() / key
    cached = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if cached:
        return cached[0]
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder.parent))
    except OSError:  # no writable cache: build in a temp folder, every time
        return repack_installed(
            project, Path(tempfile.mkdtemp(prefix="kaggle-magics-tools-")), compresslevel=compresslevel
        )
    try:
        wheel = repack_installed(project, scratch, compresslevel=compresslevel)
        os.replace(scratch, folder)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if folder.is_dir() and sorted(folder.glob("*.whl")):  # another process won the race
            return sorted(folder.glob("*.whl"))[0]
        raise
    return folder / wheel.name


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


def _uv_wheel(
    out_dir: Path, target: Target, uv: str, index: IndexOptions, work: Path, stage: Stage
) -> Path | None:
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
