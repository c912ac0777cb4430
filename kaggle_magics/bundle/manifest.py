"""The bundle manifest: ``kaggle-magics-bundle.json`` at the top of every bundle folder.

A bundle is flat (every file at the top level, so a dataset upload that skips subfolders keeps it whole):

    kaggle-magics-bundle.json       this manifest
    README.txt                      what the folder is and how to install it by hand
    <project>-<version>-<tags>.whl  the dependency closure, wheels only (kind "wheel")
    kaggle_magics-*.whl, packaging-*.whl, uv-*.whl   what the installer needs (kind "tool")
    <name>.tar.gz.kmx               packed folders (kind "dir"), a name Kaggle does not unpack

Every file is listed with its sha256 and size; wheels with project, version and tags.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BundleError
from .archive import ARCHIVE_SUFFIX, archive_name
from .names import HOSTILE_HINT as _HOSTILE
from .names import check_name

MANIFEST_NAME = "kaggle-magics-bundle.json"

FORMAT = "kaggle-magics-bundle"
FORMAT_VERSION = 1
KINDS = ("wheel", "tool", "dir")


@dataclass
class BundleFile:
    """One file of a bundle."""

    filename: str
    kind: str  # wheel | tool | dir
    sha256: str
    size: int
    project: str | None = None
    version: str | None = None
    tags: list[str] = field(default_factory=list)
    role: str | None = None  # tools: kaggle-magics | packaging | installer
    origin: str | None = None  # wheels: index | built from sdist | built from <url> ...; dirs: source folder

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> BundleFile:
        if not isinstance(data, dict):
            raise BundleError(f"{where}: a file entry is not an object ({data!r})", hint=_HOSTILE)
        try:
            item = cls(**{k: data[k] for k in data if k in cls.__dataclass_fields__})
        except TypeError as exc:
            raise BundleError(f"{where}: a file entry is incomplete ({exc})") from None
        if item.kind not in KINDS:
            raise BundleError(f"{where}: bad file entry {data!r}")
        check_name(item.filename, f"{where}: file name")
        if not isinstance(item.sha256, str) or not isinstance(item.size, int):
            raise BundleError(f"{where}: {item.filename!r} has no sha256 or size", hint=_HOSTILE)
        if item.kind == "dir":
            if not item.filename.endswith(ARCHIVE_SUFFIX):
                raise BundleError(
                    f"{where}: packed folder {item.filename!r} does not end in {ARCHIVE_SUFFIX}", hint=_HOSTILE
                )
            check_name(archive_name(item.filename), f"{where}: the folder {item.filename!r} unpacks to")
        elif not item.filename.endswith(".whl"):
            raise BundleError(f"{where}: {item.kind} {item.filename!r} is not a wheel", hint=_HOSTILE)
        return item


@dataclass
class Manifest:
    """What a bundle holds and how it was made."""

    name: str
    target: dict[str, Any]
    requirements: list[str] = field(default_factory=list)  # as the user wrote them
    install_requirements: list[str] = field(default_factory=list)  # what install asks the installer for
    files: list[BundleFile] = field(default_factory=list)
    base: dict[str, Any] = field(default_factory=dict)  # {"source": ..., "packages": N} or {}
    left_out: list[dict[str, str]] = field(default_factory=list)  # [{project, version, reason}]
    built_from_source: list[dict[str, str]] = field(default_factory=list)  # [{project, version, source}]
    notes: list[str] = field(default_factory=list)
    created: str | None = None
    created_by: str | None = None
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    path: Path | None = field(default=None, compare=False)  # the folder, once read

    @property
    def folder(self) -> Path:
        if self.path is None:
            raise ValueError("manifest not read from a folder")
        return self.path

    def of_kind(self, kind: str) -> list[BundleFile]:
        return [f for f in self.files if f.kind == kind]

    def tool(self, role: str) -> BundleFile | None:
        return next((f for f in self.files if f.role == role), None)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("path")
        order = ["format", "format_version", "name", "created", "created_by", "target", "requirements",
                 "install_requirements", "base", "left_out", "built_from_source", "notes",
                 "files"]  # fmt: skip
        return json.dumps({k: data[k] for k in order}, indent=1) + "\n"

    def write(self, folder: Path) -> Path:
        path = Path(folder) / MANIFEST_NAME
        tmp = path.with_name(f".{MANIFEST_NAME}.tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)
        return path


def read_manifest(folder: str | os.PathLike[str]) -> Manifest:
    """Read and check the manifest of a bundle folder."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{folder} is not a bundle: it has no {MANIFEST_NAME}") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: cannot read it ({exc})", hint="freeze the bundle again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"{path}: not a kaggle-magics bundle manifest")
    if data.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format {data.get('format_version')!r}, "
            f"this kaggle-magics reads {FORMAT_VERSION}",
            hint="freeze it again with this version, or install with the kaggle-magics wheel it carries",
        )
    where = str(path)
    try:
        files = [BundleFile.from_dict(item, where) for item in data.get("files", [])]
        fields_ = {
            k: data[k] for k in Manifest.__dataclass_fields__ if k in data and k not in ("files", "path")
        }
        manifest = Manifest(**fields_, files=files, path=folder)
    except (TypeError, AttributeError) as exc:
        raise BundleError(f"{path}: malformed manifest ({exc})", hint="freeze the bundle again") from None
    _check_listing(manifest, where)
    return manifest


def _check_listing(manifest: Manifest, where: str) -> None:
    """Each file listed once, no entry that stands for the manifest itself, and requirements that name a
    project (an installer option or a URL would make the installer read or fetch what the bundle lacks)."""
    from packaging.requirements import InvalidRequirement, Requirement

    seen: set[str] = set()
    for item in manifest.files:
        if item.filename in seen:
            raise BundleError(f"{where}: {item.filename!r} is listed twice", hint=_HOSTILE)
        seen.add(item.filename)
    if not isinstance(manifest.install_requirements, list):
        raise BundleError(f"{where}: install_requirements is not a list", hint=_HOSTILE)
    for text in manifest.install_requirements:
        try:
            req = Requirement(text) if isinstance(text, str) else None
        except InvalidRequirement:
            req = None
        if req is None or req.url or text.lstrip().startswith("-"):
            raise BundleError(f"{where}: {text!r} in install_requirements is not a project name", hint=_HOSTILE)


def find_manifests(root: Path, max_depth: int = 6) -> list[Path]:
    """Folders under ``root`` (itself included) that hold a bundle manifest, without descending into them."""
    root = Path(root)
    found: list[Path] = []
    if not root.is_dir():
        return found
    base_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        if MANIFEST_NAME in filenames:
            found.append(here)
            dirnames[:] = []
            continue
        if len(here.parts) - base_depth >= max_depth:
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found)
