"""Resolving a requirement set for a target with ``uv pip compile``, and reading what it decided.

uv resolves for a foreign target (``--python-version`` / ``--python-platform``) even when the closure holds
packages that exist only as sdists, and writes a PEP 751 lock (``pylock.toml``) that names, for each package,
the wheel files that fit the target with their URL, size and sha256, or the sdist / directory / VCS source to
build. Versions a base image has are passed as preferences (a prior lock file, which uv honours as such);
packages the base provides are then excluded (``--excludes``) so that their own dependencies are not pulled
in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import BundleError
from ._util import ToolFailed, isolated_env, run
from .target import Target

MIN_UV = (0, 8, 0)


class BundleInputError(BundleError):
    """Freeze's or install's arguments given wrong (a requirement, a requirements file or a folder that is not
    there): bad input (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class IndexOptions:
    """Where packages come from: an index (default PyPI), find-links folders or pages, or no index at all."""

    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def uv_args(self) -> list[str]:
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        elif self.index_url:
            args += ["--index-url", self.index_url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args

    def pip_args(self) -> list[str]:
        return self.uv_args()  # pip spells these options the same way

    def describe(self) -> str:
        parts = ["no index" if self.no_index else (self.index_url or "PyPI")]
        parts += [f"find-links {link}" for link in self.find_links]
        return ", ".join(parts)


@dataclass
class Artifact:
    """A file the lock points to: by URL or local path, with the sha256 and size when known."""

    filename: str
    url: str | None = None
    path: Path | None = None
    sha256: str | None = None
    size: int | None = None

    @property
    def location(self) -> str:
        return str(self.path) if self.path else str(self.url)


@dataclass
class Pin:
    """One package of the resolved closure."""

    project: str  # canonical name
    version: str | None
    wheels: list[Artifact] = field(default_factory=list)
    sdist: Artifact | None = None
    directory: Path | None = None
    vcs: dict[str, str] | None = None
    archive: Artifact | None = None

    @property
    def direct(self) -> bool:
        return self.directory is not None or self.vcs is not None or self.archive is not None

    def describe_source(self) -> str:
        if self.directory is not None:
            return f"directory {self.directory}"
        if self.vcs is not None:
            return (
                f"{self.vcs.get('type', 'vcs')}+{self.vcs.get('url')}@{self.vcs.get('commit-id', '')}".rstrip(
                    "@"
                )
            )
        if self.archive is not None:
            return f"archive {self.archive.location}"
        if self.sdist is not None:
            return f"sdist {self.sdist.filename}"
        return "index"


# -- finding uv ------------------------------------------------------------------------------------------
def find_uv() -> str | None:
    """The uv executable: the ``uv`` package installed beside kaggle-magics, else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def uv_version(uv: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return ()
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in match.groups()) if match else ()


def require_uv() -> str:
    uv = find_uv()
    if uv is None:
        raise BundleError(
            "freezing needs uv, and none was found",
            hint="pip install uv (or kaggle-magics with its dependencies), then freeze again",
        )
    version = uv_version(uv)
    if version and version < MIN_UV:
        raise BundleError(
            f"uv {'.'.join(map(str, version))} at {uv} is too old to freeze "
            f"(needs {'.'.join(map(str, MIN_UV))}+)",
            hint="pip install -U uv",
        )
    return uv


# -- requirements as written -----------------------------------------------------------------------------
def read_requirement_files(files: list[Path]) -> list[str]:
    """The requirement lines of requirement files (nested ``-r`` followed; options and ``-c`` skipped)."""
    out: list[str] = []
    seen: set[Path] = set()

    def visit(path: Path) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BundleInputError(
                f"requirements file {path}: cannot read it ({exc.strerror})",
                hint="give the path of a requirements file (-r FILE), one requirement a line",
            ) from None
        for line in text.replace("\\\n", " ").splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()
            if not line:
                continue
            if line.startswith(("-r ", "--requirement ", "-r", "--requirement=")):
                name = re.sub(r"^(-r|--requirement)[= ]?", "", line).strip()
                visit(path.parent / name)
            elif line.startswith(("-e ", "--editable ")):
                out.append(line.split(None, 1)[1].strip())
            elif not line.startswith("-"):
                out.append(line)

    for file in files:
        visit(Path(file))
    return out


def is_local_path(text: str) -> bool:
    """A requirement written as a path (``./pkg``, ``/abs/pkg``, ``dist/x-1.0.tar.gz``), not a name."""
    if "://" in text or " @ " in text:
        return False
    if text.startswith((".", "/", "~")) or os.sep in text:
        return True
    return text.endswith((".whl", ".tar.gz", ".zip")) and Path(text).exists()


def normalise_inline(requirement: str, cwd: Path) -> str:
    """A requirement as uv should read it from a file elsewhere: local paths made absolute."""
    text = requirement.strip()
    if is_local_path(text):
        return str((cwd / Path(text).expanduser()).resolve())
    return text


def _is_requirement(text: str) -> bool:
    try:
        Requirement(text)
    except InvalidRequirement:
        return False
    return True


def named_requirements(requirements: list[str]) -> list[str]:
    """The requirements that name a project without a URL or path (the others are pinned after building)."""
    out = []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.url is None:
            out.append(str(req))
    return out


def check_requirements(requirements: list[str]) -> None:
    """Reject what is neither a requirement, a URL nor an existing path, naming it."""
    for text in requirements:
        if _is_requirement(text) or is_local_path(text) or re.match(r"^[a-z+]+://", text):
            continue
        raise BundleInputError(
            f"{text!r} is not a requirement",
            hint="write name, name==1.2, name>=1.2, name[extra], a path, or name @ URL",
        )


# -- uv pip compile --------------------------------------------------------------------------------------
def _write_preferences(path: Path, preferences: dict[str, str]) -> None:
    """A minimal prior lock: uv prefers the versions an existing output file pins."""
    lines = ['lock-version = "1.0"', 'created-by = "uv"', ""]
    for name, version in sorted(preferences.items()):
        lines += ["[[packages]]", f'name = "{name}"', f'version = "{version}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def compile_lock(
    uv: str,
    sources: list[Path],
    target: Target,
    index: IndexOptions,
    workdir: Path,
    *,
    preferences: dict[str, str] | None = None,
    excludes: list[str] = (),  # type: ignore[assignment]
    tag: str = "main",
) -> list[Pin]:
    """Resolve the requirements files ``sources`` for ``target``; returns the pinned closure.

    uv runs from the current folder, as pip would: a relative path in a requirements file (``./pkg``,
    ``../libs/x``) means the same here as in ``pip install -r``."""
    lock = workdir / f"pylock.{tag}.toml"
    lock.unlink(missing_ok=True)
    if preferences:
        _write_preferences(lock, preferences)
    cmd = [uv, "pip", "compile", "--quiet", "--no-config", "--no-header", "--format", "pylock.toml",
           "-o", str(lock), "--no-python-downloads", *target.uv_args(), *index.uv_args()]  # fmt: skip
    if excludes:
        exclude_file = workdir / f"excludes.{tag}.txt"
        exclude_file.write_text("\n".join(excludes) + "\n", encoding="utf-8")
        cmd += ["--excludes", str(exclude_file)]
    cmd += [str(s) for s in sources]
    try:
        run(cmd, what=f"cannot resolve the requirements for {target.label}", env=isolated_env(), cwd=Path.cwd())
    except ToolFailed as exc:
        from .wheel_check import no_wheel_error

        raise no_wheel_error(uv, sources, exc.output, target, index, workdir) or _explain(exc) from None
    return parse_lock(lock)


def _explain(exc: ToolFailed) -> BundleError:
    text = exc.output
    message = exc.message.replace("╰─▶", "").replace("│", "")
    message = re.sub(
        r"No solution found when resolving dependencies( for split \([^)]*\))?:?\s*(cause:\s*)?", "", message
    )
    message = " ".join(message.replace(" hint: ", "; ").split())
    if "not found in the package registry" in text or "not found in the provided package locations" in text:
        hint = "check the name (and version) on the index, or the --index-url / --find-links you passed"
    elif (
        "matching platform tag" in text
        or "matching Python ABI tag" in text
        or "matching Python implementation" in text
    ):
        hint = f"the index has no wheel of it for the target: pick another version, or {_ON_KAGGLE}"
    elif "Failed to build" in text or "Failed to download and build" in text:
        hint = f"a source distribution failed to build while reading its metadata; or {_ON_KAGGLE}"
    elif "unsatisfiable" in text:
        hint = "the requirements conflict: relax one of the version specifiers named above"
    else:
        hint = "see the resolver's message above"
    return BundleError(message, hint=hint)


_ON_KAGGLE = (
    "freeze inside a Kaggle notebook (internet on), where it resolves and builds for Kaggle's own Python"
)


def _toml_load(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def _artifact(entry: dict, lock_dir: Path) -> Artifact:
    url = entry.get("url")
    path = entry.get("path")
    if url and url.startswith("file://"):
        path, url = unquote(urlparse(url).path), None
    local = (lock_dir / path).resolve() if path else None
    name = entry.get("name") or Path(unquote(urlparse(url).path) if url else str(path)).name
    hashes = entry.get("hashes") or {}
    return Artifact(filename=name, url=url, path=local, sha256=hashes.get("sha256"), size=entry.get("size"))


def parse_lock(path: Path) -> list[Pin]:
    data = _toml_load(path)
    lock_dir = path.parent
    pins = []
    for item in data.get("packages", []):
        pin = Pin(project=str(canonicalize_name(item["name"])), version=item.get("version"))
        pin.wheels = [_artifact(w, lock_dir) for w in item.get("wheels", [])]
        if "sdist" in item:
            pin.sdist = _artifact(item["sdist"], lock_dir)
        if "directory" in item:
            pin.directory = (lock_dir / item["directory"]["path"]).resolve()
        if "vcs" in item:
            pin.vcs = {k: str(v) for k, v in item["vcs"].items()}
        if "archive" in item:
            pin.archive = _artifact(item["archive"], lock_dir)
        pins.append(pin)
    return pins
