"""``%kaggle_dataset``: the code dataset of the seed workflow, uploaded only when its content changed.

Re-running the upload cell is the normal case, so it must cost nothing: a content hash of the folder (names,
sizes, modes and sha256 of every file) is kept locally per dataset and backend, and an unchanged folder sends
no request at all. A changed one is staged in a temporary copy (the user's folder is never touched) where what
Kaggle would damage is protected, as the bundle issue does for dependency bundles:

- Kaggle unpacks files named ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz``, ``.7z``:
  such files get a name it leaves alone (see :mod:`kaggle_magics.bundle.archive`);
- a symlink that leads outside the folder, at any depth, is refused (the client would upload what it points
  at: ``pw -> /etc/passwd``, a link to ``~/.kaggle/kaggle.json``); one that stays inside is uploaded as what
  it points at, at the top level, and kept as a link in a packed tool folder;
- Kaggle keeps no file modes and no symlinks: a folder that holds an executable (other than a Python file,
  which is run by Python anyway) or a symlink is a tool folder, packed whole into one archive under such a
  name, so unpacking it in the notebook restores both; a lone executable at the top is packed the same way;
- every other subfolder is left to the backend, which zips it as ``kaggle datasets version -r zip`` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import config, inputs
from .backends.base import Backend
from .errors import BackendError, InputError, InvalidRef, MaybeApplied, NotFound, PermissionDenied
from .explain import reword
from .handles import DatasetRef
from .links import refuse_outward_links
from .results import DatasetResult

HASH_FORMAT = "kaggle-magics dataset content v1"
# Names never uploaded: version control, caches, and what the official client skips (DEFAULT_IGNORE_PATTERNS).
IGNORED = frozenset({".git", ".cache", ".huggingface", "__pycache__", ".ipynb_checkpoints", ".DS_Store"})
# Read by the backend as the dataset's metadata, not uploaded as a file, so not part of the content.
METADATA_FILES = frozenset({"dataset-metadata.json", "datapackage.json"})
# Files that need no exec bit to be used: their interpreter runs them.
NO_EXEC_NEEDED = (".py", ".ipynb", ".pyc")


class DatasetFolderError(InputError):
    """The folder to upload is missing, empty or holds something that cannot be uploaded."""


def as_dataset_ref(ref: DatasetRef | str) -> DatasetRef:
    parsed = ref if isinstance(ref, DatasetRef) else DatasetRef.parse(ref)
    if parsed.version is not None:
        raise InvalidRef(
            f"{parsed}: an upload makes a new version, so the ref takes none",
            hint=f"use {parsed.id}; the result names the version",
        )
    return parsed


# -- the content hash ----------------------------------------------------------------------------------------
def _walk(folder: Path) -> Iterator[tuple[str, os.stat_result, Path]]:
    """Every entry under ``folder`` (relative posix name, lstat, path), sorted, ignored names skipped.
    Symlinked folders are listed, not entered."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        here = Path(root)
        for name in sorted([*dirs, *files]):
            if name in IGNORED:
                continue
            path = here / name
            rel = path.relative_to(folder).as_posix()
            if here == folder and name in METADATA_FILES:
                continue
            yield rel, path.lstat(), path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(folder: Path, _seen: frozenset[Path] = frozenset()) -> str:
    """A digest of everything an upload would carry: each entry's name and kind, and for files the size, the
    permission bits and the sha256 of the bytes; for symlinks the link text and what it points at (a file's
    bytes, a folder's own digest). Timestamps are left out: touching a file is not a change."""
    seen = _seen | {folder.resolve()}
    digest = hashlib.sha256(HASH_FORMAT.encode() + b"\0")
    for rel, st, path in _walk(folder):
        if stat.S_ISLNK(st.st_mode):
            record = ["L", rel, os.readlink(path)]
            if path.is_file():
                record += [str(path.stat().st_size), _sha256(path)]
            elif path.is_dir() and path.resolve() not in seen:
                record += [content_hash(path.resolve(), seen)]
        elif stat.S_ISDIR(st.st_mode):
            record = ["D", rel, oct(stat.S_IMODE(st.st_mode))]
        elif stat.S_ISREG(st.st_mode):
            record = ["F", rel, str(st.st_size), oct(stat.S_IMODE(st.st_mode)), _sha256(path)]
        else:
            raise DatasetFolderError(
                f"{path} is neither a file, a folder nor a symlink", hint="remove it from the dataset folder"
            )
        digest.update(json.dumps(record).encode() + b"\n")
    return digest.hexdigest()


# -- what was uploaded last time -----------------------------------------------------------------------------
def default_state_dir() -> Path:
    """``$KAGGLE_MAGICS_STATE_DIR/datasets``, else under the user's cache dir (losing it costs one upload)."""
    return config.state_dir() / "datasets"


@dataclass
class UploadState:
    """What the last successful upload of a dataset from this machine carried."""

    ref: str
    backend: str
    content_hash: str
    version: int | None = None
    url: str | None = None
    files: list[str] = field(default_factory=list)
    uploaded_at: float = 0.0

    @staticmethod
    def path(state_dir: Path, ref: DatasetRef, backend: Backend) -> Path:
        key = f"{backend.name}\n{backend.describe()}\n{ref.id}"
        return state_dir / f"{ref.owner}__{ref.slug}__{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"

    @classmethod
    def load(cls, path: Path) -> UploadState | None:
        """The recorded state, or None when there is none or it is unreadable (then we simply upload)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.__dict__, handle, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# -- staging -------------------------------------------------------------------------------------------------
def _needs_exec(path: Path, st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111) and not path.name.endswith(NO_EXEC_NEEDED)


def _is_tool_folder(folder: Path) -> bool:
    """A folder Kaggle's zip-and-unpack would break: it holds a symlink or a file that needs its exec bit."""
    return any(stat.S_ISLNK(st.st_mode) or _needs_exec(path, st) for _rel, st, path in _walk(folder))


KEEP_SUFFIX = ".kmx"  # appended to names Kaggle would unpack; bundle/archive.py's archives end in it too


def protected_name(name: str) -> str:
    """The name a file Kaggle would unpack is uploaded under: ``data.tar.gz`` -> ``data.tar.gz.kmx``."""
    return name + KEEP_SUFFIX


def unpack_hint(
    archive_name: str, folder: str, ref: DatasetRef, *, lone_file: bool = False, layout: str | None = None
) -> str:
    """The notebook command that restores a packed folder with its modes (tar keeps them; so does
    :func:`kaggle_magics.bundle.archive.unpack_archive`). A lone executable is packed as a folder holding only
    it: that one member is extracted, so it lands at ``/kaggle/working/<name>`` itself. The archive's path
    follows the input ``layout`` (today's nested one by default)."""
    where = inputs.mount_path(inputs.dataset_path(ref, inputs.check_layout(layout, "input_layout")))
    if lone_file:
        return f"tar -xzf {where}/{archive_name} -C /kaggle/working ./{folder}"
    return f"mkdir -p /kaggle/working/{folder} && tar -xzf {where}/{archive_name} -C /kaggle/working/{folder}"


def stage(folder: Path, staging: Path, ref: DatasetRef, layout: str | None = None) -> list[str]:
    """Copy ``folder`` into the empty ``staging`` folder in the form to upload; returns notes on what was
    renamed or packed (with the commands that restore them, their paths in the input ``layout``). The user's
    folder is only read."""
    from .bundle import archive

    notes: list[str] = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name in IGNORED:
            continue
        if entry.is_symlink() and not entry.exists():
            raise DatasetFolderError(f"{entry} is a broken symlink", hint="remove it or point it at a file")
        if name in METADATA_FILES:
            shutil.copy2(entry, staging / name)
        elif entry.is_dir():
            if _is_tool_folder(entry):
                packed = archive.pack_dir(entry, staging, name=name)
                notes.append(
                    f"{name}/ holds executables or symlinks: uploaded packed as {packed.name} so they"
                    " survive;"
                    f" in the notebook: {unpack_hint(packed.name, name, ref, layout=layout)}"
                )
            else:
                shutil.copytree(entry, staging / name, ignore=shutil.ignore_patterns(*IGNORED))
                for inner in sorted((staging / name).rglob("*")):
                    if inner.is_file() and archive.unpacked_by_kaggle(inner.name):
                        renamed = inner.with_name(protected_name(inner.name))
                        inner.rename(renamed)
                        notes.append(
                            f"{inner.relative_to(staging)} uploaded as {renamed.relative_to(staging)}"
                            " (Kaggle would unpack it)"
                        )
        elif _needs_exec(entry, entry.stat()):
            with tempfile.TemporaryDirectory(dir=staging.parent) as lone:
                shutil.copy2(entry, Path(lone) / name)
                packed = archive.pack_dir(Path(lone), staging, name=name)
            notes.append(
                f"{name} is executable: uploaded packed as {packed.name} so it keeps its exec bit;"
                f" in the notebook: {unpack_hint(packed.name, name, ref, lone_file=True, layout=layout)}"
            )
        elif archive.unpacked_by_kaggle(name):
            target = protected_name(name)
            shutil.copy2(entry, staging / target)
            notes.append(f"{name} uploaded as {target} (Kaggle would unpack it)")
        else:
            shutil.copy2(entry, staging / name)
    return notes


def _staged_names(staging: Path) -> list[str]:
    return sorted(
        p.name + ("/" if p.is_dir() else "") for p in staging.iterdir() if p.name not in METADATA_FILES
    )


# -- the workflow --------------------------------------------------------------------------------------------
def upload_dataset(
    backend: Backend,
    folder: str | os.PathLike[str],
    ref: DatasetRef | str,
    *,
    message: str = "",
    title: str | None = None,
    public: bool = False,
    state_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    layout: str | None = None,
) -> DatasetResult:
    """Create the dataset ``ref`` from ``folder`` or add a version, unless the content is what this machine
    last uploaded there (``force`` uploads anyway, e.g. after the dataset was deleted on Kaggle). The result's
    ``input_path`` and the commands in the notes name input paths in ``layout`` (today's nested one by default)."""
    ref = as_dataset_ref(ref)
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetFolderError(
            f"dataset folder {str(folder)!r} not found", hint="give the folder to upload"
        )
    if not any(rel for rel, st, _ in _walk(folder) if not stat.S_ISDIR(st.st_mode)):
        raise DatasetFolderError(
            f"dataset folder {str(folder)!r} holds no files", hint="put the code in it first"
        )
    refuse_outward_links(folder, "dataset", skip=IGNORED)  # at any depth, before anything is read or sent
    digest = content_hash(folder)
    where = inputs.mount_path(inputs.dataset_path(ref, inputs.check_layout(layout, "input_layout")))
    state_path = UploadState.path(Path(state_dir) if state_dir else default_state_dir(), ref, backend)
    last = UploadState.load(state_path)
    if last is not None and last.content_hash == digest and not force:
        return DatasetResult(
            ref=ref.id,
            url=last.url or ref.url,
            version=last.version,
            status="unchanged, no new version",
            input_path=where,
            changed=False,
            files=list(last.files),
            notes=[
                "same content as the upload of "
                f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(last.uploaded_at))}"
                "; force an upload to make a version anyway"
            ],
            content_hash=digest,
        )

    with tempfile.TemporaryDirectory(prefix="kaggle-magics-dataset-") as tmp:
        staging = Path(tmp) / ref.slug
        staging.mkdir()
        notes = stage(folder, staging, ref, layout)
        try:
            result = backend.dataset_upload(staging, ref, message=message, title=title, public=public)
        except NotFound as exc:
            raise reword(
                exc,
                f"dataset {ref.id} could not be found or created",
                hint=f"check the owner ({ref.owner!r} must be you or an organisation you belong to)"
                f" and {ref.url}",
            ) from None
        except PermissionDenied as exc:
            raise reword(
                exc, f"not allowed to write to dataset {ref.id}", hint=f"check who owns it: {ref.url}"
            ) from None
        except MaybeApplied as exc:
            raise reword(
                exc,
                f"the upload of dataset {ref.id} may have made a version: its answer was lost and it could not"
                " be checked",
                hint=f"look at {ref.url} before running it again (it was not repeated)",
            ) from None
        except BackendError as exc:
            raise reword(
                exc,
                f"the upload of dataset {ref.id} failed",
                hint=f"it may have made a version anyway: look at {ref.url} before running it again"
                " (running again makes at most one extra version)",
            ) from None
        files = _staged_names(staging)

    result.ref = result.ref or ref.id
    result.url = result.url or ref.url
    result.changed = True
    result.input_path = where
    result.files = result.files or files
    result.notes = [*result.notes, *notes]
    result.content_hash = digest
    UploadState(
        ref=ref.id,
        backend=backend.name,
        content_hash=digest,
        version=result.version,
        url=result.url,
        files=list(result.files),
        uploaded_at=time.time(),
    ).save(state_path)
    return result
