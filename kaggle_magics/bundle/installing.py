"""``install``: install attached bundles offline into an interpreter: verified first, fast, only if needed.

Order of work, so that a bad bundle changes nothing and a second run costs nothing:

1. find the bundles (given folders, ``owner/slug`` under the input root, or every bundle under it) and read
   their manifests: every name in them one plain file name (:mod:`.names`);
2. ask the target interpreter (a clean subprocess) whether the bundles' requirements are already met,
   following installed dependencies with its own markers: if they are, stop here (a no-op, well under a
   second);
3. check everything (:mod:`.checks`): every file present, sha256 and size as the manifest says, every wheel
   fits the interpreter's tags, every member of every packed folder stays inside it (the whole tree, links
   resolved), and the wheels fit on the disk; any failure stops before anything is installed or unpacked;
4. unpack the packed folders, each into a fresh temp folder beside its destination;
5. install with uv (its binary taken from the bundle's uv wheel; ``--offline --no-index``, no bytecode
   compilation; uv's cache when it is on the target's file system, so files are hard-linked from it, else a
   temporary cache next to site-packages), or with pip (``--no-index``) when there is no uv: the installer
   resolves the original requirements against the bundle *and* what is installed, so
   packages the image already satisfies are left alone; nothing is ever force-reinstalled;
6. rename the unpacked folders into place (removed instead if the install failed), and report what changed
   and how long it took.
"""

from __future__ import annotations

import atexit
import importlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import runtime
from ..errors import BundleError
from ..results import Result
from ._util import DiskFull, ToolFailed, is_disk_full, isolated_env, run
from .archive import StagedUnpack, archive_name, stage_unpack
from .cell import SEARCH_DEPTH
from .checks import check_archives, check_in_bundles, check_space, unpack_targets, verify
from .manifest import MANIFEST_NAME, Manifest, find_manifests, read_manifest
from .progress import Progress, ProgressArg
from .resolve import BundleInputError
from .target import probe
from .wheels import WheelName, tag_priorities

_HANDLE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*(/\d+)?$")


@dataclass
class InstallResult(Result):
    """What :func:`install` did."""

    python: str
    bundles: list[str] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)  # project==version, new or changed
    replaced: list[str] = field(default_factory=list)  # project old -> new
    already_satisfied: bool = False
    dirs: list[str] = field(default_factory=list)  # name -> folder
    installer: str | None = None
    verified_files: int = 0
    unpacked: int = 0  # packed folders unpacked by this run
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def _title(self) -> str:  # type: ignore[override]
        if self.already_satisfied:
            return "bundle install: nothing to do, everything is already installed"
        count = len(self.installed)
        title = f"bundle installed: {count} package{'' if count == 1 else 's'}"
        if self.unpacked:
            title += f", {self.unpacked} folder{'s' if self.unpacked > 1 else ''} unpacked"
        return title

    def rows(self) -> list[tuple[str, object]]:
        return [
            ("python", self.python),
            ("bundles", self.bundles),
            ("installed", ", ".join(self.installed) if self.installed else None),
            ("replaced", self.replaced),
            ("dirs", self.dirs),
            ("installer", self.installer),
            ("verified", f"{self.verified_files} files (sha256, tags)" if self.verified_files else None),
            ("time", f"{self.seconds:.2f} s"),
            ("notes", "; ".join(self.notes)),
        ]

    def __repr__(self) -> str:
        return str(self)


def install(
    sources: list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...] | str = (),
    *,
    requirements: list[str] | tuple[str, ...] = (),
    python: str | os.PathLike[str] | None = None,
    input_root: str | os.PathLike[str] | None = None,
    dirs_dest: str | os.PathLike[str] | None = None,
    installer: str | None = None,
    progress: ProgressArg = None,
) -> InstallResult:
    """Install the bundles ``sources`` (folders, or ``owner/slug`` attached under the input root; default:
    every bundle under the input root) into ``python`` (default: this interpreter), offline.

    ``requirements`` installs only these (from the bundles) instead of everything the bundles were frozen for.
    Packed folders are unpacked under ``dirs_dest`` (default ``$TMPDIR/kaggle-dirs``), one folder per name.
    ``installer`` forces ``"uv"`` or ``"pip"`` (default: uv when the bundle or this machine has it).
    """
    started = time.monotonic()
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    root = Path(input_root) if input_root else runtime.input_root()
    bundles = locate_bundles(list(sources), root)
    reqs = list(dict.fromkeys(requirements)) or list(
        dict.fromkeys(r for m in bundles for r in m.install_requirements)
    )
    exe = _interpreter(python)
    info = probe(exe, reqs)
    label = f"Python {info['python_full_version']} at {info['executable']}"
    dirs_root = Path(dirs_dest) if dirs_dest else Path(tempfile.gettempdir()) / "kaggle-dirs"
    targets = unpack_targets(bundles, dirs_root)
    pending = [(m, f, dest) for m, f, dest in targets if not _unpacked(dest, f.sha256)]
    result = InstallResult(python=label, bundles=[str(m.folder) for m in bundles])
    result.dirs = [f"{archive_name(f.filename)} -> {dest}" for _, f, dest in targets]
    if not info["unsatisfied"] and not pending:
        result.already_satisfied = True
        result.seconds = time.monotonic() - started
        return result

    # Everything is checked before anything is written: a refusal leaves no package installed, no folder
    # unpacked.
    if requirements:
        check_in_bundles(reqs, bundles, info["installed"])
    progress_ = Progress(progress)
    result.verified_files = verify(bundles, info["tags"], label, progress_)
    check_archives(pending, progress_)
    if info["unsatisfied"]:
        check_space(bundles, info)
    staged: list[StagedUnpack] = []
    installing = False
    try:
        # Packed folders are unpacked beside their destinations first and renamed into place only once the
        # packages are installed: a failure in either leaves neither.
        with progress_.stage("unpack", len(pending), desc="unpack dirs") as stage:
            for manifest, item, dest in pending:
                ready = stage_unpack(manifest.folder / item.filename, dest, stamp=item.sha256)
                if ready is not None:
                    staged.append(ready)
                stage.advance()
        if info["unsatisfied"]:
            installing = True
            _install_packages(bundles, reqs, exe, info, installer, result)
        while staged:
            staged[0].commit()
            staged.pop(0)
            result.unpacked += 1
    except (OSError, DiskFull) as exc:
        if isinstance(exc, DiskFull) or is_disk_full(exc):
            raise BundleError(
                f"no space left on the device while installing into {info['purelib']} or {dirs_root}",
                hint="free some space; packages already written stay installed, run the install again after"
                if installing
                else "free some space, then run the install again (nothing was installed)",
            ) from None
        raise
    finally:
        for left in staged:
            left.discard()
    if os.path.realpath(info["prefix"]) == os.path.realpath(sys.prefix):  # installed into this very process
        importlib.invalidate_caches()
        purelib = info.get("purelib")
        if purelib and purelib not in sys.path and os.path.isdir(purelib):
            import site

            site.addsitedir(purelib)
        stale = _imported_before(result.replaced)
        if stale:
            result.notes.append(
                f"restart the kernel to use the new {', '.join(stale)}: the old one is already imported"
            )
    result.seconds = time.monotonic() - started
    return result


def _interpreter(python: str | os.PathLike[str] | None) -> str:
    """``python`` as a path the installer can use from its own folder: a relative path made absolute (not
    resolved: a venv's python is a link whose location says which venv), a bare name looked up on PATH."""
    if not python:
        return sys.executable
    text = os.fspath(python)
    if os.sep in text or (os.altsep and os.altsep in text) or os.path.exists(text):
        return os.path.abspath(os.path.expanduser(text))
    return shutil.which(text) or text


def _imported_before(replaced: list[str]) -> list[str]:
    """Replaced distributions whose modules this process had already imported (old until a restart)."""
    if not replaced:
        return []
    import importlib.metadata as md

    from packaging.utils import canonicalize_name

    names = {line.split()[0] for line in replaced}
    stale: set[str] = set()
    for module, dists in md.packages_distributions().items():
        if module in sys.modules:
            stale.update(str(canonicalize_name(d)) for d in dists if canonicalize_name(d) in names)
    return sorted(stale)


# -- finding bundles -------------------------------------------------------------------------------------
def locate_bundles(sources: list[str | os.PathLike[str]], root: Path) -> list[Manifest]:
    """The manifests of the bundles named by ``sources`` (or all under ``root``), read and checked."""
    folders: list[Path] = []
    if not sources:
        folders = find_manifests(root, max_depth=SEARCH_DEPTH)
        if not folders:
            raise BundleError(
                f"no bundle found under the input root {root} ({describe_folder(root)})",
                hint="attach the notebook or dataset holding the bundle (its output has "
                f"{MANIFEST_NAME}), or pass --from FOLDER",
            )
    for source in sources:
        path = Path(source).expanduser().absolute()  # the installer runs from another folder
        if path.exists():
            found = find_manifests(path)
            if not found:
                wheels = sorted(path.rglob("*.whl")) if path.is_dir() else []
                if wheels:
                    raise BundleError(
                        f"{source}: {len(wheels)} wheels but no {MANIFEST_NAME}, the bundle's manifest "
                        "(it lists each file's sha256: without it nothing can be verified)",
                        hint=f"copy {MANIFEST_NAME} along with the wheels (the whole folder a freeze wrote), "
                        "or freeze again",
                    )
                raise BundleError(
                    f"{source}: no bundle in it ({MANIFEST_NAME} not found; {describe_folder(path)})",
                    hint="pass the folder a freeze wrote (or the attached input that holds it)",
                )
        elif _HANDLE.match(str(source)):
            found = [m for candidate in _attached(str(source), root) for m in find_manifests(candidate)]
            if not found:
                raise BundleError(
                    f"{source}: no bundle attached under {root} ({describe_folder(root)})",
                    hint=f"attach {source} to the notebook (kernel_sources or dataset_sources), "
                    "or pass its folder",
                )
        else:
            raise BundleInputError(f"--from {source}: no such folder", hint="pass a bundle folder or owner/slug")
        folders += [f for f in found if f not in folders]
    return [read_manifest(folder) for folder in folders]


def _attached(handle: str, root: Path) -> list[Path]:
    """Where Kaggle may have put the input ``owner/slug[/version]``: today's nested layout
    (``notebooks/<owner>/<slug>``, ``datasets/<owner>/<slug>``), the old flat one (``<slug>``), or between."""
    owner, slug = handle.split("/")[:2]
    candidates = [
        root / "notebooks" / owner / slug,
        root / "datasets" / owner / slug,
        root / slug,
        root / owner / slug,
    ]
    out = [c for c in candidates if c.is_dir()]
    if not out and root.is_dir():
        for dirpath, dirnames, _files in os.walk(root):
            depth = len(Path(dirpath).relative_to(root).parts)
            if Path(dirpath).name == slug and depth:
                out.append(Path(dirpath))
                dirnames[:] = []
            elif depth >= 3:
                dirnames[:] = []
    return out


def describe_folder(folder: Path, limit: int = 12) -> str:
    """What a folder holds, in a few words (for messages that must say where we looked)."""
    if not folder.exists():
        return "it does not exist"
    if not folder.is_dir():
        return "it is a file"
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    if not entries:
        return "it is empty"
    names = [p.name + ("/" if p.is_dir() else "") for p in entries[:limit]]
    more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
    return "it holds " + ", ".join(names) + more


def _unpacked(folder: Path, sha256: str) -> bool:
    if folder.is_symlink():
        return False
    marker = folder / ".kaggle-magics-archive"
    try:
        return marker.read_text().strip() == sha256
    except OSError:
        return False


# -- installing ------------------------------------------------------------------------------------------
def _install_packages(
    bundles: list[Manifest],
    reqs: list[str],
    exe: str,
    info: dict,
    preference: str | None,
    result: InstallResult,
) -> None:
    folders = [str(m.folder) for m in bundles]
    links = [arg for folder in folders for arg in ("--find-links", folder)]
    with tempfile.TemporaryDirectory(prefix="kaggle-magics-install-") as scratch_s:
        scratch = Path(scratch_s)
        hidden = _hidden_from_uv(bundles, info) if preference is None else []
        uv, uv_label = (None, None) if preference == "pip" or hidden else _find_installer(bundles, scratch)
        if preference == "uv" and uv is None:
            raise BundleError(
                "no uv to install with: the bundle has no uv wheel for this machine and none is here"
            )
        if uv is not None:
            cmd = [uv, "pip", "install", "--python", exe, "--offline", "--no-index", "--no-config",
                   "--no-build", "--no-python-downloads", "--quiet", *_uv_cache_args(uv, info, scratch),
                   *links, *reqs]  # fmt: skip
            result.installer = uv_label
        else:
            base = (
                [exe, "-m", "pip"] if info.get("has_pip") else [sys.executable, "-m", "pip", "--python", exe]
            )
            cmd = [*base, "install", "--isolated", "--no-index", "--only-binary=:all:", "--no-compile",
                   "--disable-pip-version-check", "--no-input", "--quiet", *links, *reqs]  # fmt: skip
            result.installer = "pip (no uv available)"
            if hidden:
                result.installer = (
                    f"pip (the bundle relies on {', '.join(hidden)}, installed outside this interpreter's "
                    "site-packages, where uv does not look)"
                )
        try:
            run(cmd, what="installing from the bundle failed", env=isolated_env(), cwd=scratch)
        except ToolFailed as exc:
            raise BundleError(exc.message, hint=_install_hint(exc.output)) from None
    before = info["installed"]
    after_info = probe(exe, reqs)
    after = after_info["installed"]
    result.installed = sorted(f"{n}=={v}" for n, v in after.items() if before.get(n) != v)
    result.replaced = sorted(
        f"{n} {before[n]} -> {after[n]}" for n in after if n in before and before[n] != after[n]
    )
    if after_info["unsatisfied"]:
        result.notes.append("still unmet after installing: " + ", ".join(after_info["unsatisfied"]))


def _hidden_from_uv(bundles: list[Manifest], info: dict) -> list[str]:
    """What the bundles left out (the image has it) that the target has only outside its own site-packages
    (a venv layered over another by a ``.pth``, as a local run's over its image twin): uv would not see it
    and would look for it in the bundle, so pip (which sees all of sys.path) installs instead."""
    from packaging.utils import canonicalize_name

    layered = set(info.get("layered", ()))
    relied = {str(canonicalize_name(item["project"])) for m in bundles for item in m.left_out if item.get("project")}
    return sorted(relied & layered)


def _install_hint(output: str) -> str:
    if "not found in the provided package locations" in output or "No matching distribution" in output:
        return (
            "the bundle lacks a package this interpreter does not have: it was left out as present in the "
            "base, "
            "or it was never frozen; freeze with --no-base (or a base snapshot of this very image)"
        )
    return "nothing was changed if the installer stopped before writing; see its message above"


def _uv_cache_args(uv: str, info: dict, scratch: Path) -> list[str]:
    """Where uv unpacks wheels: its own cache when that shares a file system with site-packages (files are
    then hard-linked, the fastest install there is), else a temporary cache next to site-packages."""
    purelib = Path(info.get("purelib") or "")
    proc = subprocess.run(
        [uv, "cache", "dir"], capture_output=True, text=True, env=isolated_env(), check=False
    )
    cache = Path(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None
    if cache is not None and _device(cache) is not None and _device(cache) == _device(purelib):
        return ["--link-mode", "hardlink"]
    parent = purelib.parent
    if parent.is_dir() and os.access(parent, os.W_OK) and _device(parent) != _device(scratch):
        near = Path(tempfile.mkdtemp(prefix=".kaggle-magics-uv-cache-", dir=parent))
        atexit.register(shutil.rmtree, near, True)
        return ["--cache-dir", str(near), "--link-mode", "hardlink"]
    return [
        "--cache-dir",
        str(scratch / "cache"),
        "--link-mode",
        "hardlink" if _device(scratch) == _device(purelib) else "copy",
    ]


def _device(path: Path) -> int | None:
    """The device of ``path`` or of its nearest existing parent."""
    for candidate in (path, *path.parents):
        try:
            return candidate.stat().st_dev
        except OSError:
            continue
    return None


def _find_installer(bundles: list[Manifest], scratch: Path) -> tuple[str | None, str | None]:
    """uv from a bundle's wheel (when it fits this machine), else a uv installed here, else None."""
    from packaging.tags import sys_tags

    here = tag_priorities([str(t) for t in sys_tags()])
    for manifest in bundles:
        tool = manifest.tool("installer")
        if tool is None or WheelName.parse(tool.filename).rank(here) is None:
            continue
        binary = _extract_uv(manifest.folder / tool.filename, scratch)
        if binary is not None:
            return str(binary), f"uv {tool.version} (from the bundle)"
    from .resolve import find_uv

    found = find_uv()
    return (found, "uv (installed here)") if found else (None, None)


def _extract_uv(wheel: Path, scratch: Path) -> Path | None:
    name = "uv.exe" if os.name == "nt" else "uv"
    with zipfile.ZipFile(wheel) as archive:
        member = next(
            (m for m in archive.namelist() if re.fullmatch(rf"[^/]+\.data/scripts/{re.escape(name)}", m)),
            None,
        )
        if member is None:
            return None
        out = scratch / name
        with archive.open(member) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return out
