"""kernel-metadata.json: a typed model of every key the official client reads, validated on read and on
write, written atomically.

Two traps this module closes: the client's default for ``enable_internet`` is *true* (its docs say false), so
we always write the key; and a competition kernel gets ``false`` unless the user asks for internet.

Files as Kaggle's own tools and users write them are read, and what is changed is said in a note
(:attr:`KernelMetadata.normalised`): ``kaggle kernels pull -m`` writes ``id_no`` beside ``id``, ``""`` for an
unset ``machine_shape`` (``"None"`` where Kaggle's answer names the CPU machine so), may write ``null`` for a
boolean and ``""`` among a kernel's sources; repositories keep ``"c/SLUG"`` or ``"competitions/SLUG"`` in
``competition_sources`` and ``"true"``/``"false"`` strings as booleans.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import InvalidRef, MetadataError
from .handles import CompetitionRef, DatasetRef, KernelRef, ModelRef, slugify

KERNEL_METADATA = "kernel-metadata.json"

ACCELERATORS = (
    "NvidiaTeslaP100",
    "NvidiaTeslaT4",
    "NvidiaTeslaT4Highmem",
    "NvidiaL4",
    "NvidiaL4X1",
    "NvidiaTeslaA100",
    "NvidiaH100",
    "NvidiaRtxPro6000",
    "TpuV38",
    "Tpu1VmV38",
    "TpuV5E8",
    "TpuV6E8",
)
DEFAULT_GPU = "NvidiaTeslaT4"  # T4 x2, what code competitions usually allow
LANGUAGES = ("python", "r", "rmarkdown")
KERNEL_TYPES = ("script", "notebook")
PINNING_TYPES = ("original", "latest")
_UNSET_WHEN_EMPTY = ("machine_shape", "docker_image", "docker_image_pinning_type")


def check_accelerator(name: str) -> str:
    """The canonical machine_shape name for ``name`` (case-insensitive), or a MetadataError listing them all."""
    for shape in ACCELERATORS:
        if shape.lower() == name.strip().lower():
            return shape
    raise MetadataError(f"unknown accelerator {name!r}", hint="use one of: " + ", ".join(ACCELERATORS))


_BOOLEANS = {"is_private": True, "enable_gpu": False, "enable_tpu": False, "enable_internet": False}


def _bool(value: Any, key: str, where: str, notes: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:  # a pull of a kernel whose server answer left the field out
        default = _BOOLEANS[key]
        notes.append(f"{key} null read as {str(default).lower()}" + (
            " (internet stays off unless you turn it on)" if key == "enable_internet" else ""
        ))
        return default
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        read = value.strip().lower() == "true"
        notes.append(f"{key} {value!r} (a string) read as {str(read).lower()}")
        return read
    raise MetadataError(
        f"{where}: {key} must be true or false, not {value!r}", hint=f'write "{key}": true or "{key}": false'
    )


def _unknown_key(key: str, known: set[str], where: str) -> MetadataError:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    if close:
        return MetadataError(f"{where}: unknown key {key!r}", hint=f"did you mean {close[0]!r}?")
    return MetadataError(f"{where}: unknown key {key!r}", hint="known keys: " + ", ".join(sorted(known)))


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MetadataError(f"{where}: {key} must be a list of strings, not {value!r}")
    return list(value)


@dataclass
class KernelMetadata:
    """The keys of kernel-metadata.json, with the types and defaults the official client applies."""

    id: str | None = None
    id_no: int | None = None
    title: str | None = None
    code_file: str = ""
    language: str = "python"
    kernel_type: str = "notebook"
    is_private: bool = True
    enable_gpu: bool = False
    enable_tpu: bool = False
    enable_internet: bool = False
    dataset_sources: list[str] = field(default_factory=list)
    competition_sources: list[str] = field(default_factory=list)
    kernel_sources: list[str] = field(default_factory=list)
    model_sources: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    docker_image_pinning_type: str | None = None
    docker_image: str | None = None
    machine_shape: str | None = None
    # What reading the file changed, one note each (not a key of the file).
    normalised: list[str] = field(default_factory=list, compare=False, repr=False)

    # -- reading ---------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, where: str = KERNEL_METADATA) -> KernelMetadata:
        if not isinstance(data, dict):
            raise MetadataError(f"{where}: expected a JSON object, found {type(data).__name__}")
        known = set(_KEYS)
        unknown = sorted(set(data) - known)
        if unknown:
            raise _unknown_key(unknown[0], known, where)
        notes: list[str] = []
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in _BOOLEANS:
                values[key] = _bool(value, key, where, notes)
            elif key.endswith("_sources") or key == "keywords":
                values[key] = _str_list(value, key, where)
                empty = sum(1 for v in values[key] if not v.strip())
                if empty and key.endswith("_sources"):  # a pulled kernel's sources can hold "" entries
                    values[key] = [v for v in values[key] if v.strip()]
                    notes.append(f"{key}: {empty} empty {'entry' if empty == 1 else 'entries'} left out")
            elif key == "machine_shape" and isinstance(value, str) and value.strip().lower() == "none":
                # `kaggle kernels pull -m` of a CPU kernel writes the server's "None"
                values[key] = None
                notes.append(f"machine_shape {value!r} read as unset (the CPU machine)")
            elif key == "id_no":
                values[key] = _id_no(value, where, notes)
            else:
                if value is not None and not isinstance(value, str):
                    raise MetadataError(f"{where}: {key} must be a string, not {value!r}")
                # `kaggle kernels init` and `kernels pull -m` write "" for an unset machine_shape/docker_image
                values[key] = None if value == "" and key in _UNSET_WHEN_EMPTY else value
                if key in ("language", "kernel_type") and isinstance(value, str) and value != value.lower():
                    values[key] = value.lower()
                    notes.append(f"{key} {value!r} read as {value.lower()!r}")
        if values.get("id") and values.get("id_no") is not None:
            # `kaggle kernels pull -m` writes both; the push would then name the kernel twice, and a pulled
            # number still points at the pulled kernel after `id` is changed to a new one.
            notes.append(f"id_no {values['id_no']} left out: id {values['id']!r} names the kernel")
            values["id_no"] = None
        competitions = []
        for source in values.get("competition_sources", []):
            try:
                ref, note = CompetitionRef.normalise(source)
            except InvalidRef as exc:
                raise MetadataError(f"{where}: competition_sources: {exc.message}", hint=exc.hint) from None
            competitions.append(ref.slug)
            notes += [note] if note else []
        if "competition_sources" in values:
            values["competition_sources"] = competitions
        meta = cls(**values, normalised=notes)
        meta.validate(where)
        return meta

    @classmethod
    def read(cls, folder: Path) -> KernelMetadata:
        path = Path(folder) / KERNEL_METADATA
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise MetadataError(
                f"{path}: not found", hint="a kernel folder holds kernel-metadata.json and its code file"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise MetadataError(f"{path}: cannot read it ({exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MetadataError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        return cls.from_dict(data, where=str(path))

    # -- validating ------------------------------------------------------------------------------------
    def validate(self, where: str = KERNEL_METADATA, folder: Path | None = None) -> list[str]:
        """Raise MetadataError on the first invalid field; return notes on things that work but surprise
        (what reading the file normalised first)."""
        notes: list[str] = list(self.normalised)
        if not self.id and self.id_no is None:
            raise MetadataError(f"{where}: no id", hint='set "id": "owner/kernel-slug"')
        ref = None
        if self.id:
            try:
                ref = KernelRef.parse(self.id)
            except InvalidRef as exc:
                raise MetadataError(f"{where}: id: {exc.message}", hint=exc.hint) from None
            if ref.version is not None:
                raise MetadataError(f"{where}: id {self.id!r} must not carry a version", hint="use owner/slug")
        if self.title is not None:
            if len(self.title) < 5:
                raise MetadataError(
                    f"{where}: title {self.title!r} is shorter than 5 characters", hint="use a longer title"
                )
            if ref and slugify(self.title) != ref.slug.lower():
                notes.append(
                    f"title {self.title!r} gives the slug {slugify(self.title)!r}, not {ref.slug!r}: Kaggle may "
                    "create a new kernel instead of a new version"
                )
        if not self.code_file:
            raise MetadataError(f"{where}: no code_file", hint='set "code_file" to the notebook or script name')
        if self.language not in LANGUAGES:
            raise MetadataError(f"{where}: language {self.language!r}", hint="one of: " + ", ".join(LANGUAGES))
        if self.kernel_type not in KERNEL_TYPES:
            raise MetadataError(
                f"{where}: kernel_type {self.kernel_type!r}", hint="one of: " + ", ".join(KERNEL_TYPES)
            )
        if self.docker_image_pinning_type is not None and self.docker_image_pinning_type not in PINNING_TYPES:
            raise MetadataError(
                f"{where}: docker_image_pinning_type {self.docker_image_pinning_type!r}",
                hint="one of: " + ", ".join(PINNING_TYPES),
            )
        if self.machine_shape is not None:
            try:
                self.machine_shape = check_accelerator(self.machine_shape)
            except MetadataError as exc:
                raise MetadataError(f"{where}: machine_shape: {exc.message}", hint=exc.hint) from None
        parsers = {
            "dataset_sources": lambda s: DatasetRef.parse(s),
            "kernel_sources": lambda s: KernelRef.parse(s),
            "model_sources": lambda s: ModelRef.parse(s, require_version=True),
            "competition_sources": lambda s: CompetitionRef.parse(s),
        }
        for key, parse in parsers.items():
            for source in getattr(self, key):
                try:
                    parse(source)
                except InvalidRef as exc:
                    raise MetadataError(f"{where}: {key}: {exc.message}", hint=exc.hint) from None
        if folder is not None and not (Path(folder) / self.code_file).is_file():
            raise MetadataError(
                f"{where}: code_file {self.code_file!r} not found in {folder}",
                hint="put the notebook or script beside kernel-metadata.json, or fix code_file",
            )
        if self.competition_sources and self.enable_internet:
            notes.append("internet is on: code competitions refuse submissions from notebooks with internet on")
        return notes

    @property
    def ref(self) -> KernelRef:
        return KernelRef.parse(self.id or "")

    # -- writing ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every key the client reads; ``enable_internet`` always explicit; empty optional keys left out."""
        data: dict[str, Any] = {}
        for name in _KEYS:
            value = getattr(self, name)
            if name == "enable_internet" or value not in (None, ""):
                data[name] = value
        return data

    def write(self, folder: Path) -> Path:
        """Validate, then write ``folder/kernel-metadata.json`` atomically."""
        self.validate(str(Path(folder) / KERNEL_METADATA))
        return write_json_atomic(Path(folder) / KERNEL_METADATA, self.to_dict())


_KEYS = tuple(f.name for f in fields(KernelMetadata) if f.name != "normalised")  # the file's keys, in order


def _id_no(value: Any, where: str, notes: list[str]) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        notes.append(f"id_no {value!r} (a string) read as {int(value)}")
        return int(value)
    raise MetadataError(f"{where}: id_no must be a whole number, not {value!r}", hint="the kernel's number, or drop it")


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write JSON to a temp file beside ``path`` and rename it into place (never a half-written file)."""
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_text_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
