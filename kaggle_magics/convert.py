"""Batch conversion: many notebooks (or percent-format scripts) into Kaggle-ready kernel folders at once.

Each file becomes ``OUT/<slug>/`` exactly as ``%kaggle_push FILE --dry-run`` would write it (kernelspec,
cleared outputs, explicit enable_internet); a file that fails is reported and, unless ``warn_only``, makes the
batch fail, but never stops the others (as jupytext's and pypa/build's command lines do).

A file with a kernel-metadata.json beside it that names it (a pulled kernel, a repository's kernel folder)
keeps that metadata: its id, title, sources and settings, the flags adding to them. Only the others are named
after their file, with the owner from ``--owner`` or the configuration. A kernel folder may be given for its
code file.

``check`` (``convert --check``, for CI and pre-commit) writes nothing: each file is converted into a temporary
folder and compared with what is there (:mod:`.folder_diff`), and every difference is listed; the batch fails
when anything would change. Converting a converted folder changes nothing, so a folder that passes once keeps
passing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn

from . import config
from .errors import InvalidRef, KaggleMagicsError, os_errors
from .handles import slugify
from .metadata import KERNEL_METADATA, KernelMetadata
from .results import Result
from .submission import KernelOptions, metadata_beside, push_path


@dataclass
class Converted:
    source: Path
    folder: Path | None = None
    error: str | None = None
    hint: str | None = None
    notes: list[str] = field(default_factory=list)
    changes: list[str] | None = None  # with --check: what converting would change (empty: nothing)

    def __str__(self) -> str:
        if self.error:
            return f"FAILED {self.source}: {self.error}" + (f"\n         hint: {self.hint}" if self.hint else "")
        if self.changes is not None:
            if not self.changes:
                return f"ok     {self.source}: Kaggle-ready, nothing would change in {self.folder}"
            return f"CHANGE {self.source} -> {self.folder}" + "".join(f"\n         {c}" for c in self.changes)
        return f"ok     {self.source} -> {self.folder}" + "".join(f"\n         {n}" for n in self.notes)


@dataclass
class ConvertResult(Result):
    """What a batch produced: one line per file."""

    out: Path
    files: list[Converted] = field(default_factory=list)
    warn_only: bool = False
    check: bool = False

    _title = "converted"
    _hidden = ("files", "warn_only", "check")

    def __post_init__(self) -> None:
        if self.check:
            self._title = "convert --check (nothing written)"

    @property
    def failed(self) -> list[Converted]:
        return [f for f in self.files if f.error]

    @property
    def would_change(self) -> list[Converted]:
        return [f for f in self.files if f.changes]

    @property
    def exit_code(self) -> int:
        return 0 if self.warn_only or not (self.failed or self.would_change) else 1

    def rows(self) -> list[tuple[str, object]]:
        if self.check:
            ready = len(self.files) - len(self.failed) - len(self.would_change)
            return [("out", self.out), ("ready", ready), ("would change", len(self.would_change)),
                    ("failed", len(self.failed))]  # fmt: skip
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
    check: bool = False,
) -> ConvertResult:
    """Write one kernel folder per file under ``out`` (with ``check``, write nothing and say what would change);
    the kernel slug is the id of the metadata beside the file, else the file's name, slugified."""
    if options.id:
        raise KaggleMagicsError("--id names one kernel", hint="convert names each kernel after its file; omit --id")
    out = Path(out).expanduser()
    result = ConvertResult(out=out, warn_only=warn_only, check=check)
    scratch = Path(tempfile.mkdtemp(prefix="kaggle-magics-check-")) if check else None
    try:
        jobs: list[tuple[Path, str, str | None]] = []
        planned: list[Converted | int] = []  # a failed file's result, or its place in jobs
        written: dict[str, Path] = {}  # kernel folder -> the file it is written from, in this batch
        for given in map(Path, paths):
            try:
                path, slug, named = _plan(given, out, written)
                written[slug] = path
                planned.append(len(jobs))
                jobs.append((given, slug, named))
            except KaggleMagicsError as exc:
                planned.append(Converted(source=given, error=exc.message, hint=_batch_hint(exc)))
        done = _run(jobs, options, out, defaults, scratch)
        result.files = [item if isinstance(item, Converted) else done[item] for item in planned]
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return result


_PARALLEL_FROM = 64  # files: for fewer, a second process costs more than it saves


def _run(
    jobs: list[tuple[Path, str, str | None]],
    options: KernelOptions,
    out: Path,
    defaults: config.ProjectDefaults,
    scratch: Path | None,
) -> list[Converted]:
    """Convert the planned files, on every CPU this process may use for a large batch (forked workers: the
    modules are imported once; never from a process that runs threads, which fork does not carry over)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = min(cpus, 4) if len(jobs) >= _PARALLEL_FROM else 1
    args = [(given, slug, named, options, out, defaults, scratch) for given, slug, named in jobs]
    if workers > 1 and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            return list(pool.map(_convert_job, args, chunksize=max(1, len(args) // (workers * 8))))
    return [_convert_job(arg) for arg in args]


def _code_file(path: Path) -> Path:
    """A kernel folder stands for its code file; anything else is itself."""
    if path.is_dir() and (path / KERNEL_METADATA).is_file():
        return path / KernelMetadata.read(path).code_file
    return path


def _plan(given: Path, out: Path, written: dict[str, Path]) -> tuple[Path, str, str | None]:
    """The code file of ``given``, its kernel folder's slug, and the id to give it (None: its metadata's)."""
    path = _code_file(given)
    beside, _ = metadata_beside(path)
    slug = beside.ref.slug if beside is not None and beside.id else slugify(path.stem)
    if slug in written:
        raise KaggleMagicsError(
            f"its kernel folder {out / slug} was already written from {written[slug]} in this batch",
            hint="give each kernel its own slug (rename the file, or change the id in its metadata)",
        )
    return path, slug, None if beside is not None and beside.id else slug


_Job = tuple[Path, str, "str | None", KernelOptions, Path, config.ProjectDefaults, "Path | None"]


def _convert_job(job: _Job) -> Converted:
    """One file of a batch, as a worker process gets it."""
    given, slug, named, options, out, defaults, scratch = job
    return _convert_one(given, slug, named, options, out, defaults, scratch)


def _convert_one(
    given: Path,
    slug: str,
    named: str | None,
    options: KernelOptions,
    out: Path,
    defaults: config.ProjectDefaults,
    scratch: Path | None,
) -> Converted:
    """Convert one file into ``out`` (or, with ``scratch``, into it, and say what would change in ``out``)."""
    check = scratch is not None
    item = Converted(source=given)
    try:
        path = _code_file(given)
        in_place = (out / slug).resolve() == path.parent.resolve()  # a converted folder, converted again
        with contextlib.ExitStack() as stack:
            if scratch is None and in_place:
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kaggle-magics-convert-")))
            target = out / slug if scratch is None else scratch / slug
            with os_errors():  # a name too long for the file system fails this file, not the batch
                pushed = push_path(
                    path,
                    replace(options, id=named, dir=str(target), dry_run=True),
                    defaults=defaults,
                    backend_factory=_no_backend,
                )
            item.folder, item.notes = out / slug, pushed.notes
            if scratch is not None:
                from .folder_diff import folder_changes

                item.changes = folder_changes(target, out / slug, path)
        if in_place and not check:
            if item.changes:
                raise KaggleMagicsError(
                    f"{path.parent} is the folder it would be written to, and converting would change it: "
                    + "; ".join(item.changes),
                    hint="write it elsewhere (--out DIR) or convert the original notebook; nothing was changed",
                )
            item.changes, item.notes = None, ["already Kaggle-ready: nothing to write"]
    except KaggleMagicsError as exc:
        item.error, item.hint = exc.message, _batch_hint(exc)
    return item


def _batch_hint(exc: KaggleMagicsError) -> str | None:
    """In a batch the kernel is named after its file and its owner comes from --owner: the fix says so."""
    if isinstance(exc, InvalidRef) and "no owner" in exc.message:
        return "pass --owner YOUR-KAGGLE-NAME, or set owner in [tool.kaggle_magics]"
    if isinstance(exc, InvalidRef) and "slug" in exc.message:
        return "each kernel is named after its file: rename the file (a slug of at least 5 characters)"
    return exc.hint


def _no_backend(flag: str | None) -> NoReturn:  # a dry run never asks for one
    raise AssertionError("convert does not push")
