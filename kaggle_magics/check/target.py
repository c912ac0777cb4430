"""What a notebook is checked against: the kernel as Kaggle would run it.

:class:`Settings` holds what the caller decides for every file (the base image list, the input layout, where
attached sources can be read); :class:`Target` is one kernel: its internet setting, its attached sources with
where Kaggle mounts them, and what of their files could be read (bundles' manifests, code datasets' modules).

An attached source's files are read from, in order: the input root (``--input-root``; inside Kaggle,
``/kaggle/input`` itself), the local Kaggle's store when the backend is the local one, and ``--bundle``
folders (which stand for the attached kernels' bundles). Anything else is *not seen*: a check that needs it
says so as a warning, never as an error.
"""

from __future__ import annotations

import functools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from .. import inputs
from ..bundle.base import BaseSnapshot
from ..errors import ConfigError, KaggleMagicsError
from ..metadata import KernelMetadata
from ..scan import modules_in
from .findings import Source

DEFAULT_PYTHON = "3.12"




@dataclass
class Bundle:
    """A bundle an attached source holds: its wheels' projects, and the top-level modules they install."""

    label: str  # "kernel me/deps" or the folder
    folder: Path
    projects: dict[str, str]  # canonical project -> version

    def modules(self) -> dict[str, str]:
        """Top-level module -> project, read from the wheels' file lists."""
        return _wheel_modules(str(self.folder), tuple(sorted(self.projects)))


@functools.lru_cache(maxsize=32)
def _wheel_modules(folder: str, projects: tuple[str, ...]) -> dict[str, str]:
    from ..bundle.manifest import read_manifest

    found: dict[str, str] = {}
    for item in read_manifest(folder).of_kind("wheel"):
        try:
            with zipfile.ZipFile(Path(folder) / item.filename) as archive:
                names = archive.namelist()
        except (OSError, zipfile.BadZipFile):
            continue
        for name in names:
            top = name.split("/", 1)[0]
            if top.endswith((".dist-info", ".data")) or top.endswith(".pth"):
                continue
            module = top.split(".", 1)[0] if "/" not in name else top
            if module.isidentifier():
                found.setdefault(module, str(canonicalize_name(item.project or "")))
    return found


def read_bundles(folder: Path, label: str, depth: int = 3) -> list[Bundle]:
    """The bundles under ``folder`` (a kernel's output, a dataset, a folder a freeze wrote)."""
    from ..bundle.manifest import find_manifests, read_manifest

    found = []
    for where in find_manifests(folder, max_depth=depth):
        try:
            manifest = read_manifest(where)
        except KaggleMagicsError:
            continue
        projects = {
            str(canonicalize_name(f.project)): f.version or ""
            for f in manifest.of_kind("wheel")
            if f.project
        }
        found.append(Bundle(label, where, projects))
    return found


@dataclass
class Settings:
    """What holds for every file of one check."""

    base: BaseSnapshot
    layout: str = inputs.DEFAULT_LAYOUT
    input_root: Path | None = None
    store: Path | None = None  # the local Kaggle's store, when the backend is the local one
    bundles: list[Bundle] = field(default_factory=list)  # --bundle folders

    @property
    def python(self) -> str:
        return self.base.python or DEFAULT_PYTHON


def bundle_folders(folders: list[str]) -> list[Bundle]:
    """``--bundle DIR`` folders, each holding at least one bundle (a ConfigError names one that does not)."""
    found: list[Bundle] = []
    for text in folders:
        path = Path(text).expanduser()
        bundles = read_bundles(path, str(path)) if path.is_dir() else []
        if not bundles:
            raise ConfigError(
                f"--bundle {text}: no bundle in it (no kaggle-magics-bundle.json)",
                hint="pass the folder a freeze wrote (./kaggle_deps by default)",
            )
        found += bundles
    return found


@dataclass
class Target:
    """One kernel as Kaggle would run it, and what of its attached sources could be read."""

    meta: KernelMetadata
    settings: Settings
    internet: bool
    sources_known: bool = True
    installs_bundles: bool = False  # push adds the install cell (--deps) or the notebook installs them
    internet_hint: bool = False  # off as checked, but the notebook's Kaggle metadata says on
    accelerator_hint: str | None = None  # none as checked, but the notebook's Kaggle metadata names one
    folder: Path | None = None  # where the code file is (its neighbours are not uploaded)
    code_file: str | None = None
    mounts: list[inputs.Mount] = field(default_factory=list)
    seen: dict[str, Path] = field(default_factory=dict)  # Mount.source -> the folder its files were read from
    bundles: list[Bundle] = field(default_factory=list)
    provided: dict[str, str] = field(default_factory=dict)  # top-level module -> the source whose files have it

    @property
    def layout(self) -> str:
        return self.settings.layout

    @property
    def competition(self) -> bool:
        return bool(self.meta.competition_sources)

    @property
    def accelerated(self) -> bool:
        """A GPU or TPU kernel: Kaggle runs another image than the CPU one the base lists."""
        return bool(self.meta.enable_gpu or self.meta.enable_tpu or self.meta.machine_shape or self.accelerator_hint)

    def unseen(self) -> list[inputs.Mount]:
        return [m for m in self.mounts if m.source not in self.seen]

    def sources(self) -> list[Source]:
        return [
            Source(m.kind, m.source, inputs.mount_path(m.path(self.layout)), str(self.seen.get(m.source) or "") or None)
            for m in self.mounts
        ]

    def attach_flag(self, kind: str, ref: str) -> str:
        """How to attach a source: a flag for a bare notebook, a key of kernel-metadata.json for a folder."""
        keys = {"competition": "competition_sources", "dataset": "dataset_sources", "kernel": "kernel_sources",
                "model": "model_sources"}  # fmt: skip
        flags = {"competition": "--competition", "dataset": "--dataset", "kernel": "--attach", "model": "--model"}
        if self.code_file is not None and self.folder is not None and (self.folder / "kernel-metadata.json").is_file():
            return f'add "{ref}" to {keys[kind]} in kernel-metadata.json'
        return f"attach it: {flags[kind]} {ref}"


def build_target(meta: KernelMetadata, settings: Settings, **fields: object) -> Target:
    """The target for ``meta``: its mounts, and the files of each that can be read."""
    target = Target(meta=meta, settings=settings, internet=bool(fields.pop("internet", meta.enable_internet)))
    for name, value in fields.items():
        setattr(target, name, value)
    target.mounts = inputs.mounts(
        {
            "competitions": meta.competition_sources,
            "datasets": meta.dataset_sources,
            "kernels": meta.kernel_sources,
            "models": meta.model_sources,
        }
    )
    for mount in target.mounts:
        folder = _locate(mount, settings)
        if folder is None:
            continue
        target.seen[mount.source] = folder
        label = f"{mount.kind} {mount.source}"
        if mount.kind in ("kernel", "dataset"):
            target.bundles += read_bundles(folder, label)
        for module in modules_in(folder):
            target.provided.setdefault(module, label)
    if settings.bundles:
        target.bundles += settings.bundles
        for mount in target.mounts:  # the bundles stand for the attached kernels
            if mount.kind == "kernel" and mount.source not in target.seen:
                target.seen[mount.source] = settings.bundles[0].folder
    return target


def _locate(mount: inputs.Mount, settings: Settings) -> Path | None:
    root = settings.input_root
    if root is not None:
        other = inputs.FLAT if settings.layout == inputs.NESTED else inputs.NESTED
        for layout in (settings.layout, other):
            candidate = root / mount.path(layout)
            if candidate.is_dir():
                return candidate
    if settings.store is not None:
        return _in_store(mount, settings.store)
    return None


def _in_store(mount: inputs.Mount, store: Path) -> Path | None:
    """Where the local Kaggle keeps a source's files (a kernel's latest completed output...), or None."""
    from ..local.backend import LocalBackend

    backend, sources = LocalBackend(store), [mount.source]
    try:
        if mount.kind == "competition":
            found, _ = backend.resolve_sources(competitions=sources)
        elif mount.kind == "dataset":
            found, _ = backend.resolve_sources(datasets=sources)
        elif mount.kind == "kernel":
            found, _ = backend.resolve_sources(kernels=sources)
        else:
            found, _ = backend.resolve_sources(models=sources)
    except KaggleMagicsError:
        return None
    return next(iter(found.values()), None)


def mounted_sources(root: Path) -> dict[str, list[str]]:
    """The sources mounted under an input root laid out in today's nested layout (inside Kaggle: what this
    session has attached), as kernel-metadata.json's lists."""
    found: dict[str, list[str]] = {"competitions": [], "datasets": [], "kernels": [], "models": []}

    def dirs(folder: Path) -> list[Path]:
        try:
            return sorted(p for p in folder.iterdir() if p.is_dir())
        except OSError:
            return []

    for comp in dirs(root / "competitions"):
        found["competitions"].append(comp.name)
    for key, kind in (("datasets", "datasets"), ("kernels", "notebooks")):
        for owner in dirs(root / kind):
            found[key] += [f"{owner.name}/{slug.name}" for slug in dirs(owner)]
    for owner in dirs(root / "models"):
        for model in dirs(owner):
            for framework in dirs(model):
                for variation in dirs(framework):
                    found["models"] += [
                        f"{owner.name}/{model.name}/{framework.name}/{variation.name}/{v.name}"
                        for v in dirs(variation)
                        if v.name.isdigit()
                    ]
    return found
