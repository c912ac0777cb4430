"""Batch conversion: many notebooks (or percent-format scripts) into Kaggle-ready kernel folders at once.

Each file becomes ``OUT/<slug>/`` exactly as ``%kaggle_push FILE --dry-run`` would write it (kernelspec,
cleared outputs, explicit enable_internet); a file that fails is reported and, unless ``warn_only``, makes the
batch fail, but never stops the others (as jupytext's and pypa/build's command lines do).

A file with a kernel-metadata.json beside it that names it (a pulled kernel, a repository's kernel folder)
keeps that metadata: its id, title, sources and settings, the flags adding to them. Only the others are named
after their file, with the owner from ``--owner`` or the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn

from . import config
from .errors import InvalidRef, KaggleMagicsError, os_errors
from .handles import slugify
from .results import Result
from .submission import KernelOptions, metadata_beside, push_path


@dataclass
class Converted:
    source: Path
    folder: Path | None = None
    error: str | None = None
    hint: str | None = None
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.error:
            return f"FAILED {self.source}: {self.error}" + (f"\n         hint: {self.hint}" if self.hint else "")
        return f"ok     {self.source} -> {self.folder}" + "".join(f"\n         {n}" for n in self.notes)


@dataclass
class ConvertResult(Result):
    """What a batch produced: one line per file."""

    out: Path
    files: list[Converted] = field(default_factory=list)
    warn_only: bool = False

    _title = "converted"
    _hidden = ("files", "warn_only")

    @property
    def failed(self) -> list[Converted]:
        return [f for f in self.files if f.error]

    @property
    def exit_code(self) -> int:
        return 0 if self.warn_only or not self.failed else 1

    def rows(self) -> list[tuple[str, object]]:
        return [("out", self.out), ("converted", len(self.files) - len(self.failed)), ("failed", len(self.failed))]

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *(f"  {f}" for f in self.files)])

    def __repr__(self) -> str:
        return str(self)


def convert(
    paths: list[str | Path],
    options: KernelOptions,
    *,
    out: str | Path,
    defaults: config.ProjectDefaults,
    warn_only: bool = False,
) -> ConvertResult:
    """Write one kernel folder per file under ``out``; the kernel slug is the file's name, slugified."""
    if options.id:
        raise KaggleMagicsError("--id names one kernel", hint="convert names each kernel after its file; omit --id")
    out = Path(out).expanduser()
    result = ConvertResult(out=out, warn_only=warn_only)
    written: dict[str, Path] = {}  # kernel folder -> the file it was written from, in this batch
    for path in map(Path, paths):
        item = Converted(source=path)
        try:
            beside, _ = metadata_beside(path)
            slug = beside.ref.slug if beside is not None and beside.id else slugify(path.stem)
            if slug in written:
                raise KaggleMagicsError(
                    f"its kernel folder {out / slug} was already written from {written[slug]} in this batch",
                    hint="give each kernel its own slug (rename the file, or change the id in its metadata)",
                )
            named = None if beside is not None and beside.id else slug
            with os_errors():  # a name too long for the file system fails this file, not the batch
                pushed = push_path(
                    path,
                    replace(options, id=named, dir=str(out / slug), dry_run=True),
                    defaults=defaults,
                    backend_factory=_no_backend,
                )
            item.folder, item.notes = pushed.folder, pushed.notes
            written[slug] = path
        except KaggleMagicsError as exc:
            item.error, item.hint = exc.message, _batch_hint(exc)
        result.files.append(item)
    return result


def _batch_hint(exc: KaggleMagicsError) -> str | None:
    """In a batch the kernel is named after its file and its owner comes from --owner: the fix says so."""
    if isinstance(exc, InvalidRef) and "no owner" in exc.message:
        return "pass --owner YOUR-KAGGLE-NAME, or set owner in [tool.kaggle_magics]"
    if isinstance(exc, InvalidRef) and "slug" in exc.message:
        return "each kernel is named after its file: rename the file (a slug of at least 5 characters)"
    return exc.hint


def _no_backend(flag: str | None) -> NoReturn:  # a dry run never asks for one
    raise AssertionError("convert does not push")
