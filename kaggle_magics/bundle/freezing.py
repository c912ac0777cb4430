"""``freeze``: resolve a requirement set for Kaggle's interpreter and write an offline bundle of wheels.

Steps: choose the target (the running interpreter inside Kaggle, else CPython 3.12 manylinux x86_64) and the
base (what the target image already has); resolve the closure with uv, preferring the base's versions and
leaving out what the base provides; download the wheels the lock names (several at once, each checked against
its sha256); build every sdist, folder and VCS requirement into a wheel; check that every wheel fits the
target; add the tools the installer needs and the packed ``dirs``; write the manifest. All of it happens in a
temp folder next to ``dest`` that replaces ``dest`` in one rename at the end.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__, runtime
from ..errors import BundleError
from ..results import Result
from ._util import all_or_nothing, disk_full_error, human_size, is_disk_full, sha256_file
from .archive import check_outward_links, pack_dir, unpacked_by_kaggle
from .base import SHIPPED_DESCRIPTION, BaseSnapshot, read_base, running_environment, shipped_base
from .build import FREEZE_ON_KAGGLE, build_wheel, check_built_fits
from .fetch import fetch_all
from .manifest import MANIFEST_NAME, BundleFile, Manifest, read_manifest
from .names import plain_name_problem
from .progress import Progress, ProgressArg
from .resolve import (
    Artifact,
    BundleInputError,
    IndexOptions,
    Pin,
    check_requirements,
    compile_lock,
    named_requirements,
    normalise_inline,
    read_requirement_files,
    require_uv,
)
from .target import Target, for_interpreter, for_platform
from .tools import Tool, gather_tools
from .wheels import WheelName

DEFAULT_DEST = "kaggle_deps"


@dataclass
class FreezeResult(Result):
    """A bundle written by :func:`freeze`."""

    dest: Path
    target: str
    files: int
    size_bytes: int
    wheels: list[str] = field(default_factory=list)  # project==version shipped
    left_out: list[str] = field(default_factory=list)
    built_from_source: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    installer: str = "pip"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    manifest: Manifest | None = field(default=None, repr=False)

    _title = "bundle frozen"

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6

    def rows(self) -> list[tuple[str, object]]:
        return [
            ("dest", self.dest),
            ("target", self.target),
            ("files", f"{self.files} files, {human_size(self.size_bytes)}"),
            ("wheels", f"{len(self.wheels)}: {', '.join(self.wheels)}" if self.wheels else "none"),
            ("left out", f"{len(self.left_out)}: {', '.join(self.left_out)}" if self.left_out else "nothing"),
            ("built from source", ", ".join(self.built_from_source) if self.built_from_source else "nothing"),
            ("dirs", self.dirs),
            ("installer", self.installer),
            ("time", f"{self.seconds:.1f} s"),
            ("notes", "; ".join(self.notes)),
        ]

    def __repr__(self) -> str:
        return str(self)


def freeze(
    requirements: list[str] | tuple[str, ...] | str = (),
    *,
    requirement_files: list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...] = (),
    dest: str | os.PathLike[str] | None = None,
    python_version: str | None = None,
    platform: str | None = None,
    base: str | os.PathLike[str] | None = None,
    no_base: bool = False,
    dirs: list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...] = (),
    name: str | None = None,
    index_url: str | None = None,
    find_links: list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...] = (),
    no_index: bool = False,
    progress: ProgressArg = None,
) -> FreezeResult:
    """Freeze ``requirements`` (and ``requirement_files``, and ``dirs``) into an offline bundle at ``dest``.

    Defaults: inside Kaggle, the running interpreter is the target, its installed packages the base, and
    the bundle goes to ``<working dir>/<name or kaggle_deps>`` (the notebook's output); elsewhere the target
    is CPython ``runtime.KAGGLE_PYTHON`` on ``runtime.KAGGLE_PLATFORM``, the base is ``base`` or else, for
    Kaggle's Python, the image list shipped in the package (:func:`.base.shipped_base`; ``no_base`` leaves
    nothing out), and the bundle goes to ``./<name or kaggle_deps>``. ``no_index`` with ``find_links``
    freezes without any index.
    """
    started = time.monotonic()
    if isinstance(requirements, str):
        requirements = [requirements]
    reqs = [r.strip() for r in requirements if r and r.strip()]
    files = [Path(f) for f in requirement_files]
    if not reqs and not files and not dirs:
        raise BundleInputError(
            "nothing to freeze", hint="name requirements, a requirements file (-r) or --dir PATH"
        )
    check_requirements(reqs)
    written = reqs + read_requirement_files(files)
    inside = runtime.in_kaggle()
    target = _choose_target(python_version, platform, inside)
    folder = name or DEFAULT_DEST
    dest_path = Path(dest) if dest else (runtime.working_dir() / folder if inside else Path(folder))
    dest_path = dest_path.expanduser().absolute()
    _check_dest(dest_path)
    snapshot = _choose_base(base, no_base, target)
    dir_paths = _check_dirs(dirs)
    links = tuple(str(f) if "://" in str(f) else str(Path(f).expanduser().absolute()) for f in find_links)
    for given, link in zip(find_links, links, strict=True):
        if "://" not in link and not Path(link).exists():
            raise BundleInputError(
                f"--find-links {given}: no such folder", hint="pass a folder of wheels and sdists, or a URL"
            )
    index = IndexOptions(index_url, links, no_index)
    reuse = _reusable(dest_path)
    progress_ = Progress(progress)
    notes: list[str] = []
    try:
        with all_or_nothing(dest_path) as out, _workdir(dest_path) as work:
            manifest = _freeze_into(
                out, work, reqs, files, written, target, snapshot, dir_paths, index, reuse, progress_, notes,
                name or dest_path.name,
            )  # fmt: skip
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(dest_path) from None
        raise
    manifest.path = dest_path
    size = sum(f.size for f in manifest.files)
    installer = manifest.tool("installer")
    return FreezeResult(
        dest=dest_path,
        target=target.label,
        files=len(manifest.files),
        size_bytes=size,
        wheels=[f"{f.project}=={f.version}" for f in manifest.of_kind("wheel")],
        left_out=[f"{x['project']}=={x['version']}" for x in manifest.left_out],
        built_from_source=[f"{x['project']}=={x['version']}" for x in manifest.built_from_source],
        dirs=[f.filename for f in manifest.of_kind("dir")],
        installer=f"uv {installer.version}" if installer else "pip (no uv wheel for the target)",
        seconds=time.monotonic() - started,
        notes=manifest.notes,
        manifest=manifest,
    )


def _workdir(dest: Path):
    import tempfile

    return tempfile.TemporaryDirectory(prefix=f"kaggle-magics-freeze-{dest.name}-")


def _freeze_into(
    out: Path,
    work_dir: str,
    reqs: list[str],
    files: list[Path],
    written: list[str],
    target: Target,
    snapshot: BaseSnapshot | None,
    dir_paths: list[Path],
    index: IndexOptions,
    reuse: dict[str, Path],
    progress: Progress,
    notes: list[str],
    name: str,
) -> Manifest:
    work = Path(work_dir)
    uv = require_uv()
    shipped: list[Pin] = []
    left_out: list[dict[str, str]] = []
    if reqs or files:
        shipped, left_out = _resolve(uv, reqs, files, target, snapshot, index, work, progress)
        if snapshot is not None:
            notes += _replaces_base(shipped, snapshot)

    wheel_jobs: list[tuple[Pin, Artifact]] = []
    source_jobs: list[tuple[Pin, Artifact | None]] = []
    for pin in shipped:
        kind, artifact = _plan(pin, target)
        (wheel_jobs if kind == "wheel" else source_jobs).append((pin, artifact))  # type: ignore[arg-type]

    entries: list[BundleFile] = []
    built: list[dict[str, str]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        tools_dir = work / "tools"
        tools_dir.mkdir()
        tools_future = pool.submit(_tools, tools_dir, target, uv, index, work, progress, notes)
        total = sum((a.size or 0) for _, a in wheel_jobs) + sum((a.size or 0) for _, a in source_jobs if a)
        with progress.stage("download", total or None, unit="B", desc="download") as stage:
            fetched = fetch_all([a for _, a in wheel_jobs], out, stage, reuse=reuse)
            sources_dir = work / "sources"
            sources_dir.mkdir()
            fetched_sources = fetch_all([a for _, a in source_jobs if a is not None], sources_dir, stage)
        for (_pin, artifact), (path, digest, size) in zip(wheel_jobs, fetched, strict=True):
            entries.append(
                _wheel_entry(path, digest, size, target, origin="index" if artifact.url else "find-links")
            )
        located = iter(fetched_sources)
        with progress.stage("build", len(source_jobs), desc="build from source") as stage:
            for pin, artifact in source_jobs:
                source = next(located)[0] if artifact is not None else None
                path = build_wheel(uv, pin, source, out, index, work)
                wheel = check_built_fits(path, pin, target)
                digest, size = sha256_file(path)
                entries.append(
                    _wheel_entry(path, digest, size, target, origin=f"built from {pin.describe_source()}")
                )
                built.append(
                    {"project": wheel.project, "version": wheel.version, "source": pin.describe_source()}
                )
                stage.advance()
        tools = tools_future.result()

    have = {e.project: e for e in entries}
    for tool in tools:
        wheel = WheelName.parse(tool.path.name)
        same = have.get(wheel.project)
        if same is not None:  # the closure has its own wheel of this project: that one serves
            same.role = tool.role
            continue
        path = out / tool.path.name
        shutil.move(str(tool.path), path)
        digest, size = sha256_file(path)
        entries.append(
            BundleFile(
                path.name, "tool", digest, size, wheel.project, wheel.version, wheel.tag_strings, tool.role
            )
        )

    with progress.stage("pack", len(dir_paths), desc="pack dirs") as stage:
        for folder in dir_paths:
            archive = pack_dir(folder, out)
            digest, size = sha256_file(archive)
            entries.append(BundleFile(archive.name, "dir", digest, size, origin=str(folder)))
            stage.advance()

    if snapshot is None:
        notes.insert(
            0,
            "no base: nothing was left out (freeze inside Kaggle, or pass a base snapshot written there by "
            "`kaggle-magics freeze --capture-base FILE`)",
        )
    elif snapshot.source == SHIPPED_DESCRIPTION:
        notes.insert(
            0,
            f"left out what {SHIPPED_DESCRIPTION} has; for your image's exact packages, write a snapshot in a "
            "Kaggle notebook (`kaggle-magics freeze --capture-base FILE`) and freeze with --base FILE "
            "(--no-base leaves nothing out)",
        )
    install_reqs = list(dict.fromkeys(named_requirements(written)))
    for item in built:
        direct = next((p for p in shipped if p.project == item["project"] and p.direct), None)
        if direct is not None:
            install_reqs.append(f"{item['project']}=={item['version']}")
    manifest = Manifest(
        name=name,
        target=target.describe(),
        requirements=written,
        install_requirements=install_reqs,
        files=sorted(entries, key=lambda e: (("wheel", "tool", "dir").index(e.kind), e.filename)),
        base={"source": snapshot.source, "packages": len(snapshot.packages)} if snapshot else {},
        left_out=left_out,
        built_from_source=built,
        notes=notes,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        created_by=f"kaggle-magics {__version__}",
    )
    _write_readme(out, manifest)
    manifest.write(out)
    for path in out.iterdir():
        if unpacked_by_kaggle(path.name):  # pragma: no cover - a guard on the names above
            raise BundleError(f"{path.name}: Kaggle would unpack a file of this name")
    return manifest


def _tools(
    out: Path, target: Target, uv: str, index: IndexOptions, work: Path, progress: Progress, notes: list[str]
) -> list[Tool]:
    # in the background while the download bar shows: no bar of its own (see Progress.stage)
    with progress.stage("tools", None, unit="B", desc="installer wheels", show=False) as stage:
        return gather_tools(out, target, uv, index, work, stage, notes)


def _resolve(
    uv: str,
    reqs: list[str],
    files: list[Path],
    target: Target,
    snapshot: BaseSnapshot | None,
    index: IndexOptions,
    work: Path,
    progress: Progress,
) -> tuple[list[Pin], list[dict[str, str]]]:
    """The pins to ship and what the base makes unnecessary."""
    sources: list[Path] = []
    if reqs:
        inline = work / "requirements.in"
        cwd = Path.cwd()
        inline.write_text("\n".join(normalise_inline(r, cwd) for r in reqs) + "\n", encoding="utf-8")
        sources.append(inline)
    sources += [f.resolve() for f in files]
    preferences = snapshot.preferences() if snapshot else None
    with progress.stage("resolve", None, desc=f"resolve for {target.label}"):
        pins = compile_lock(uv, sources, target, index, work, preferences=preferences)
        if snapshot is None:
            return pins, []
        provided = [p for p in pins if p.version and not p.direct and snapshot.provides(p.project, p.version)]
        if not provided:
            return pins, []
        kept = compile_lock(
            uv, sources, target, index, work, preferences=preferences,
            excludes=[p.project for p in provided], tag="ship",
        )  # fmt: skip
    kept_names = {p.project for p in kept}
    left_out = [
        {
            "project": p.project,
            "version": p.version or "",
            "reason": f"the base has {snapshot.version_of(p.project)}",
        }
        for p in provided
    ]
    left_out += [
        {"project": p.project, "version": p.version or "", "reason": "needed only by packages the base has"}
        for p in pins
        if p.project not in kept_names and p not in provided
    ]
    return kept, sorted(left_out, key=lambda x: x["project"])


def _replaces_base(shipped: list[Pin], snapshot: BaseSnapshot) -> list[str]:
    """A note naming what the bundle installs over other versions the image has (torch pulled to a newer
    release by a requirement, say): gigabytes that are easy to miss in a long list of wheels."""
    changed = []
    for pin in shipped:
        had = snapshot.version_of(pin.project)
        if had is not None and pin.version and had != pin.version:
            changed.append(f"{pin.project} {had} -> {pin.version}")
    if not changed:
        return []
    return [
        "replaces the base's versions (the requirements need others; pin them to the base's to keep them): "
        + ", ".join(changed)
    ]


def _plan(pin: Pin, target: Target) -> tuple[str, Artifact | None]:
    """How to get a wheel for ``pin``: fetch one (best tag first) or build from a source."""
    priorities = target.priorities
    ranked = []
    for artifact in pin.wheels:
        rank = WheelName.parse(artifact.filename).rank(priorities)
        if rank is not None:
            ranked.append((rank, artifact))
    if ranked:
        return "wheel", min(ranked, key=lambda x: x[0])[1]
    if pin.archive is not None:
        if pin.archive.filename.endswith(".whl"):
            _check_fits(pin.archive.filename, target)
            return "wheel", pin.archive
        return "build", pin.archive
    if pin.directory is not None or pin.vcs is not None:
        return "build", None
    if pin.sdist is not None:
        return "build", pin.sdist
    names = ", ".join(a.filename for a in pin.wheels) or "no files"
    raise BundleError(
        f"{pin.project} {pin.version}: no wheel fits {target.label} (the index has {names})",
        hint=f"pick a version with a wheel for the target; or {FREEZE_ON_KAGGLE}",
    )


def _check_fits(filename: str, target: Target) -> WheelName:
    wheel = WheelName.parse(filename)
    if not target.fits(wheel):
        raise BundleError(
            f"{filename} does not fit {target.label}: its tags are {', '.join(wheel.tag_strings)}; "
            f"the target accepts {target.tag_summary()}",
            hint="use a requirement that resolves to a wheel for the target, or freeze on the target",
        )
    return wheel


def _wheel_entry(path: Path, digest: str, size: int, target: Target, origin: str) -> BundleFile:
    wheel = _check_fits(path.name, target)
    return BundleFile(
        path.name, "wheel", digest, size, wheel.project, wheel.version, wheel.tag_strings, origin=origin
    )


def _choose_target(python_version: str | None, platform: str | None, inside: bool) -> Target:
    if inside and python_version is None and platform is None:
        return for_interpreter(None)
    return for_platform(python_version or runtime.KAGGLE_PYTHON, platform or runtime.KAGGLE_PLATFORM)


def _choose_base(base: str | os.PathLike[str] | None, no_base: bool, target: Target) -> BaseSnapshot | None:
    if no_base:
        return None
    if base:
        return read_base(base)
    if target.executable:  # the running interpreter inside Kaggle: its image is the base
        return running_environment()
    shipped = shipped_base()
    if shipped.python and target.python_version == shipped.python:  # Kaggle's own Python: its image list
        return shipped
    return None


def _check_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise BundleError(f"--dest {dest} is a file", hint="choose a folder for the bundle")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MANIFEST_NAME).is_file():
        raise BundleError(
            f"--dest {dest} exists and is not a bundle; freezing would replace what it holds",
            hint="choose a new folder (or an existing bundle's folder to refresh it)",
        )


def _check_dirs(dirs: list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...]) -> list[Path]:
    paths: list[Path] = []
    names: dict[str, Path] = {}
    for item in dirs:
        path = Path(item).expanduser().absolute()
        if not path.is_dir():
            raise BundleError(f"--dir {item}: not a folder", hint="pass the path of an existing directory")
        name = path.resolve().name  # the name pack_dir gives it: `--dir ..` is the parent's
        problem = plain_name_problem(name)
        if problem is not None:
            raise BundleError(
                f"--dir {item}: its name {name!r} cannot name a packed folder ({problem})",
                hint="pass a folder with a plain name (e.g. give its path instead of . or ..)",
            )
        if name in names:
            raise BundleError(
                f"--dir {item} and {names[name]} have the same name {name!r}", hint="rename one"
            )
        names[name] = path
        check_outward_links(path)
        paths.append(path)
    return paths


def _reusable(dest: Path) -> dict[str, Path]:
    """Files of the bundle already at ``dest``, by sha256: freezing again need not download them again."""
    try:
        manifest = read_manifest(dest)
    except BundleError:
        return {}
    return {f.sha256: dest / f.filename for f in manifest.files if f.kind == "wheel"}


def _write_readme(out: Path, manifest: Manifest) -> None:
    target = manifest.target
    lines = [
        f"Offline dependency bundle {manifest.name!r} made by {manifest.created_by} on {manifest.created}.",
        f"Target: Python {target.get('python_version')} "
        f"{target.get('platform') or target.get('interpreter')}.",
        "",
        "Install it in a notebook with no internet (kaggle-magics need not be installed):",
        "    import glob, os, subprocess, sys",
        "    d = '<this folder>'",
        "    tools = glob.glob(d + '/kaggle_magics-*.whl') + glob.glob(d + '/packaging-*.whl')",
        "    subprocess.run([sys.executable, '-m', 'kaggle_magics.bundle.install_main', '--from', d],",
        "                   env={**os.environ, 'PYTHONPATH': ':'.join(tools)}, check=True)",
        "or, with kaggle-magics installed: %kaggle_install --from <this folder>",
        "",
        f"{MANIFEST_NAME} lists every file with its sha256; *.tar.gz.kmx files are packed folders.",
    ]
    (out / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
