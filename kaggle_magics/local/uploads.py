"""The local Kaggle's datasets and models: versions in the store, and what Kaggle does to the archives
uploaded in a dataset (a part of :class:`~kaggle_magics.local.backend.LocalBackend`)."""

from __future__ import annotations

import shutil
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

from ..errors import BackendError, NotFound
from ..handles import DatasetRef, ModelRef
from ..links import refuse_outward_links
from ..results import DatasetResult, ModelResult
from . import store
from .store import Store

# Archives Kaggle unpacks when they are uploaded in a dataset (what it unpacks loses its exec bits).
_UNPACKED = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip")


def _uri(path: Path) -> str:
    return path.resolve().as_uri()


def _now() -> float:
    return time.time()


class Uploads:
    """Datasets and models of the local store (mixed into the local backend)."""

    store: Store

    # -- datasets and models ---------------------------------------------------------------------------------
    def dataset_exists(self, ref: DatasetRef) -> bool:
        return bool(store.version_numbers(self.store.dataset_dir(ref.owner, ref.slug) / "versions"))

    def dataset_upload(
        self,
        folder: Path,
        ref: DatasetRef,
        *,
        message: str = "",
        title: str | None = None,
        public: bool = False,
    ) -> DatasetResult:
        folder = Path(folder)
        if not folder.is_dir():
            raise NotFound(f"dataset folder {str(folder)!r} not found")
        refuse_outward_links(folder, "dataset")  # as the Kaggle backend's workflow does, at any depth
        self.store.ensure()
        home = self.store.dataset_dir(ref.owner, ref.slug)
        info_path = home / "dataset.json"
        if info_path.exists():  # a damaged record stops the upload before a version is made
            store.read_json_object(info_path, "dataset record")
        notes: list[str] = []
        with store.new_version(home / "versions") as new:
            files = new.path / "files"
            shutil.copytree(folder, files, symlinks=True, ignore=shutil.ignore_patterns("dataset-metadata.json"))
            notes += _unpack_like_kaggle(files)
            store.write_json(new.path / "version.json", {"message": message, "created": _now()})
        with store.locked(home):
            info: dict[str, Any] = (
                store.read_json_object(info_path, "dataset record") if info_path.exists() else {"created": _now()}
            )
            info.update(id=ref.id, title=title or info.get("title") or ref.slug, is_private=not public)
            store.write_json(info_path, info)
        listed = sorted(str(p.relative_to(new.path / "files")) for p in (new.path / "files").rglob("*") if p.is_file())
        return DatasetResult(
            ref=ref.id, url=_uri(new.path), version=new.number, status="ready", files=listed, notes=notes
        )

    def _model_version_dir(self, ref: ModelRef) -> Path:
        return (
            self.store.model_instance_dir(ref.owner, ref.model, ref.framework, ref.variation)
            / "versions"
            / str(ref.version)
        )

    def model_upload(self, ref: ModelRef, folder: Path, *, notes: str = "") -> ModelResult:
        folder = Path(folder)
        if not folder.is_dir():
            raise NotFound(f"model folder {str(folder)!r} not found")
        refuse_outward_links(folder, "model")  # a link kept in the store would reach outside it in a run
        self.store.ensure()
        instance = self.store.model_instance_dir(ref.owner, ref.model, ref.framework, ref.variation)
        with store.new_version(instance / "versions") as new:
            listed = store.copy_tree(folder, new.path / "files")
            store.write_json(new.path / "version.json", {"notes": notes, "created": _now(), "handle": ref.handle})
        versioned = ref.with_version(new.number)
        return ModelResult(
            handle=ref.handle,
            version=new.number,
            model_source=str(versioned),
            input_path=versioned.input_path,
            url=_uri(new.path),
            files=listed,
        )


# -- datasets: what Kaggle does to archives, submissions: the format check -----------------------------------
def _unpack_like_kaggle(files: Path) -> list[str]:
    """Kaggle unpacks the archives uploaded in a dataset, and what it unpacks loses its exec bits: do the
    same, so that a local run meets the trap a Kaggle run would."""
    notes = []
    for path in sorted(files.rglob("*")):
        suffix = next((s for s in _UNPACKED if path.name.lower().endswith(s)), None)
        if suffix is None or not path.is_file():
            continue
        target = path.with_name(path.name[: -len(suffix)] or "archive")
        try:
            if suffix == ".zip":
                with zipfile.ZipFile(path) as archive:
                    _safe_names(archive.namelist(), path)
                    archive.extractall(target)
            else:
                with tarfile.open(path) as archive:
                    _safe_names(archive.getnames(), path)
                    if hasattr(tarfile, "data_filter"):
                        archive.extractall(target, filter="data")
                    else:  # pragma: no cover - Python before 3.10.12
                        archive.extractall(target)
        except (zipfile.BadZipFile, tarfile.TarError) as exc:
            notes.append(f"{path.name}: not a readable archive ({exc}); kept as it is")
            continue
        path.unlink()
        for item in target.rglob("*"):
            if item.is_file() and not item.is_symlink():
                item.chmod(item.stat().st_mode & ~0o111)
        notes.append(
            f"{path.relative_to(files)} was unpacked into {target.relative_to(files)}/ and lost its exec "
            "bits, as Kaggle does with archives in datasets"
        )
    return notes


def _safe_names(names: list[str], archive: Path) -> None:
    for name in names:
        if name.startswith("/") or ".." in Path(name).parts:
            raise BackendError(f"{archive.name}: member {name!r} would land outside its folder")
