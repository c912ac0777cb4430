"""The local Kaggle's on-disk store: plain JSON files and folders a user may read and edit by hand.

Layout (``<root>`` is ``$KAGGLE_MAGICS_STORE`` or the user's cache dir)::

    <root>/store.json                                   {"format": 1}
    <root>/kernels/<owner>/<slug>/versions/<n>/         kernel-metadata.json, the code file, push.json,
                                                         run/ (status.json, log.json, output/, ...)
    <root>/datasets/<owner>/<slug>/dataset.json         title, privacy
    <root>/datasets/<owner>/<slug>/versions/<n>/        version.json, files/
    <root>/models/<owner>/<model>/<framework>/<variation>/versions/<n>/   version.json, files/
    <root>/competitions/<slug>/competition.json         title, daily limit, where the data came from
    <root>/competitions/<slug>/data/                    the competition's files
    <root>/competitions/<slug>/submissions/<ref>.json   one per submission
    <root>/rehearsals/<name>/<stamp>/run/               foreground runs (``rehearse``)

A version exists once its folder is renamed into ``versions/<n>``: it is built under a temporary name first,
and the number is taken under a lock, so two pushes at once get two distinct, complete versions. A file that
is missing or not valid JSON is reported with its path; nothing is rewritten to "repair" it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from ..errors import BackendError

FORMAT = 1
LOCK_NAME = ".lock"


class StoreError(BackendError):
    """A file of the local store is missing, unreadable or not what it should be."""


def read_json(path: Path, what: str | None = None) -> Any:
    """The JSON in ``path``; a missing or damaged file is a StoreError that names it."""
    label = f"{what} " if what else ""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StoreError(
            f"local store: {label}{path} is missing",
            hint="the store is plain files: restore the file, or delete the folder that holds it",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"local store: cannot read {label}{path} ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"local store: {label}{path} is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})",
            hint="it was edited or damaged: fix it by hand (nothing was changed), or delete the folder that holds it",
        ) from None


def read_json_object(path: Path, what: str | None = None) -> dict[str, Any]:
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise StoreError(
            f"local store: {path} should hold a JSON object, not {type(data).__name__}",
            hint="fix it by hand, or delete the folder that holds it",
        )
    return data


def write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically (temp file beside it, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (a ``.lock`` file in it, flock'd), held for the ``with`` body."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def version_numbers(versions_dir: Path) -> list[int]:
    """The committed versions in ``versions_dir`` (folders named 1, 2, ...), ascending."""
    if not versions_dir.is_dir():
        return []
    return sorted(int(p.name) for p in versions_dir.iterdir() if p.name.isdigit() and p.is_dir())


@dataclass
class NewVersion:
    """A version being built: fill ``path``; leaving the ``with`` block makes it ``versions/<number>``."""

    path: Path
    number: int | None = None


@contextlib.contextmanager
def new_version(versions_dir: Path) -> Iterator[NewVersion]:
    """Build a version in a temporary folder, then take the next number under a lock and rename it in.

    Copying happens outside the lock (pushes of big folders do not wait on each other); only the numbering
    and the rename are serialised. On an error the temporary folder is removed and no version appears.
    """
    versions_dir.mkdir(parents=True, exist_ok=True)
    pending = NewVersion(Path(tempfile.mkdtemp(prefix=".new-", dir=versions_dir)))
    try:
        yield pending
        with locked(versions_dir):
            number = max(version_numbers(versions_dir), default=0) + 1
            final = versions_dir / str(number)
            os.rename(pending.path, final)
        pending.path, pending.number = final, number
    except BaseException:
        shutil.rmtree(pending.path, ignore_errors=True)
        raise


def copy_tree(source: Path, target: Path) -> list[str]:
    """Copy the files of ``source`` into ``target`` (created), keeping modes and symlinks; the relative
    names copied, sorted."""
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    return sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())


class Store:
    """Paths and bookkeeping of one store folder. Cheap to build; creates the folder on first use."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root).expanduser() if root is not None else config.default_store_dir()

    def ensure(self) -> Store:
        """Create the store if needed and check its format marker."""
        marker = self.root / "store.json"
        if marker.exists():
            try:
                data = read_json_object(marker, "store marker")
            except StoreError as exc:  # the folder that holds it is the whole store: never say delete it
                raise StoreError(
                    exc.message,
                    hint=f'write {{"format": {FORMAT}}} into it (it marks the folder as a kaggle-magics store)',
                ) from None
            if not isinstance(data.get("format"), int) or data["format"] > FORMAT:
                raise StoreError(
                    f"local store: {marker} has format {data.get('format')!r}; this kaggle-magics reads "
                    "format "
                    f"{FORMAT}",
                    hint="upgrade kaggle-magics, or point KAGGLE_MAGICS_STORE at another folder",
                )
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            with locked(self.root):
                if not marker.exists():
                    write_json(marker, {"format": FORMAT})
        return self

    # -- kernels ---------------------------------------------------------------------------------------------
    def kernel_dir(self, owner: str, slug: str) -> Path:
        return self.root / "kernels" / owner / slug

    def kernel_versions_dir(self, owner: str, slug: str) -> Path:
        return self.kernel_dir(owner, slug) / "versions"

    # -- datasets --------------------------------------------------------------------------------------------
    def dataset_dir(self, owner: str, slug: str) -> Path:
        return self.root / "datasets" / owner / slug

    # -- models ----------------------------------------------------------------------------------------------
    def model_instance_dir(self, owner: str, model: str, framework: str, variation: str) -> Path:
        return self.root / "models" / owner / model / framework.lower() / variation

    # -- competitions ----------------------------------------------------------------------------------------
    def competition_dir(self, slug: str) -> Path:
        return self.root / "competitions" / slug

    # -- foreground runs -------------------------------------------------------------------------------------
    def rehearsals_dir(self) -> Path:
        return self.root / "rehearsals"
