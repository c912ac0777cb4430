"""Submission notebooks: turn a cell, a notebook or a kernel folder into a Kaggle-ready kernel folder, and push it.

The folder is what ``kaggle kernels push -p`` reads: kernel-metadata.json (every key explicit, internet off for
competitions) and a notebook with a kernelspec and no outputs. The user's own files are never modified: a
notebook or kernel folder given to :func:`push_path` is copied into a staging folder first.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from . import config, notebook
from .errors import KaggleMagicsError, MetadataError, NotebookError
from .handles import CompetitionRef, DatasetRef, KernelRef, ModelRef, slugify
from .metadata import DEFAULT_GPU, KERNEL_METADATA, KernelMetadata, check_accelerator, write_text_atomic
from .results import PushResult

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .backends import Backend


@dataclass
class KernelOptions:
    """What the flags of ``%%kaggle_sub`` / ``%kaggle_push`` / ``kaggle-magics push`` say. None means unset:
    the project defaults (pyproject.toml, %config) fill it in."""

    id: str | None = None
    title: str | None = None
    competition: list[str] = field(default_factory=list)
    attach: list[str] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    accelerator: str | None = None
    gpu: bool = False
    internet: bool | None = None
    public: bool | None = None
    timeout: int | None = None
    dir: str | None = None
    dry_run: bool = False
    no_run: bool = False
    backend: str | None = None

    def with_defaults(self, defaults: config.ProjectDefaults) -> KernelOptions:
        """These options with every unset one taken from ``defaults`` (lists are added to, not replaced)."""

        def merged(mine: list[str], theirs: list[str]) -> list[str]:
            return list(dict.fromkeys([*theirs, *mine]))

        return KernelOptions(
            id=self.id,
            title=self.title,
            competition=self.competition or ([defaults.competition] if defaults.competition else []),
            attach=merged(self.attach, defaults.attach),
            deps=list(self.deps),
            datasets=merged(self.datasets, defaults.datasets),
            models=merged(self.models, defaults.models),
            accelerator=self.accelerator or (None if self.gpu else defaults.accelerator),
            gpu=self.gpu,
            internet=config.first(self.internet, defaults.internet),
            public=config.first(self.public, defaults.public),
            timeout=config.first(self.timeout, defaults.timeout),
            dir=config.first(self.dir, defaults.kernel_dir),
            dry_run=self.dry_run,
            no_run=self.no_run,
            backend=config.first(self.backend, defaults.backend),
        )


def kernel_ref(options: KernelOptions, defaults: config.ProjectDefaults, fallback_slug: str | None = None) -> KernelRef:
    """The kernel's ``owner/slug`` from ``--id`` (or ``fallback_slug``), the owner from the defaults if missing."""
    text = options.id or fallback_slug
    if not text:
        raise KaggleMagicsError("no kernel id", hint="pass --id owner/kernel-slug")
    owner = defaults.owner or config.kaggle_username()
    ref = KernelRef.parse(text, default_owner=owner)
    if ref.version is not None:
        raise KaggleMagicsError(f"--id {text!r} must not carry a version", hint="use owner/kernel-slug")
    return ref


def build_metadata(options: KernelOptions, ref: KernelRef, code_file: str) -> tuple[KernelMetadata, list[str]]:
    """kernel-metadata.json for these options, and notes worth telling the user."""
    notes: list[str] = []
    if options.title is not None and len(options.title) < 5:
        raise MetadataError(
            f"--title {options.title!r} is shorter than 5 characters", hint="Kaggle needs a title of 5 or more"
        )
    competitions = [str(CompetitionRef.parse(c)) for c in options.competition]
    shape = check_accelerator(options.accelerator) if options.accelerator else (DEFAULT_GPU if options.gpu else None)
    internet = bool(options.internet) if options.internet is not None else False
    if options.internet is None:
        notes.append("internet off (pass --internet to turn it on)")
    kernel_sources = [str(KernelRef.parse(s)) for s in [*options.deps, *options.attach]]
    meta = KernelMetadata(
        id=ref.id,
        title=options.title or ref.slug,
        code_file=code_file,
        language="python",
        kernel_type="notebook",
        is_private=not options.public,
        enable_gpu=bool(shape and shape.startswith("Nvidia")),
        enable_tpu=bool(shape and shape.startswith("Tpu")),
        enable_internet=internet,
        dataset_sources=[str(DatasetRef.parse(s)) for s in options.datasets],
        competition_sources=competitions,
        kernel_sources=list(dict.fromkeys(kernel_sources)),
        model_sources=[str(ModelRef.parse(s, require_version=True)) for s in options.models],
        machine_shape=shape,
    )
    notes += meta.validate()
    return meta, notes


def install_cell(deps: list[str]) -> str | None:
    """The first cell that installs the attached dependency bundles offline, or None without bundles."""
    if not deps:
        return None
    from .bundle import install_cell_source

    return install_cell_source(deps)


def default_dir(ref: KernelRef) -> Path:
    return Path("kaggle") / ref.slug


@contextmanager
def _staging(parent: Path | None) -> Iterator[Path]:
    """A temp folder (beside ``parent`` when given, so the final rename stays on one file system)."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".kaggle-magics-", dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_replaceable(dest: Path) -> None:
    """Refuse a ``--dir`` that holds anything but a kernel folder (its metadata and code file): the folder is
    replaced whole, and the user's own files must never go with it."""
    if not dest.exists() and not dest.is_symlink():
        return
    if dest.is_symlink() or not dest.is_dir():
        raise MetadataError(f"--dir {dest} exists and is not a folder", hint="give a new or empty folder")
    names = {entry.name for entry in dest.iterdir()}
    if not names:
        return
    ours = {KERNEL_METADATA}
    try:
        ours.add(KernelMetadata.read(dest).code_file)
    except KaggleMagicsError:
        ours = set()
    extra = sorted(names - ours) if KERNEL_METADATA in ours else sorted(names)
    if extra:
        shown = ", ".join(extra[:3]) + (f" (+{len(extra) - 3} more)" if len(extra) > 3 else "")
        raise MetadataError(
            f"--dir {dest} holds files of its own ({shown}): it would be replaced whole",
            hint="give a new or empty folder, or a kernel folder written by kaggle-magics",
        )


def write_kernel_folder(nb: NotebookNode, meta: KernelMetadata, dest: Path) -> Path:
    """Write the notebook and its metadata into ``dest`` atomically: built beside it, then renamed into place.

    An existing ``dest`` is replaced only once the new folder is complete, and only if it holds nothing but a
    kernel folder (see :func:`check_replaceable`)."""
    dest = Path(dest)
    check_replaceable(dest)
    with _staging(dest.parent) as tmp:
        build = tmp / dest.name
        build.mkdir()
        notebook.validate(nb, meta.code_file)
        (build / meta.code_file).write_text(notebook.dumps(nb), encoding="utf-8")
        meta.write(build)
        old = tmp / (dest.name + ".old")
        if dest.exists():
            dest.rename(old)
        build.rename(dest)
    return dest


def _push(
    folder: Path,
    ref: KernelRef,
    options: KernelOptions,
    backend_factory: Callable[[str | None], Backend],
    notes: list[str],
    keep: bool,
) -> PushResult:
    if options.dry_run:
        if options.timeout:
            notes = [
                *notes,
                "--timeout is a push option, not part of kernel-metadata.json: push the folder with"
                f" `kaggle kernels push -p {folder} -t {options.timeout}` to keep it",
            ]
        return PushResult(ref=ref.id, url=None, folder=folder if keep else None, dry_run=True, notes=notes)
    backend = backend_factory(options.backend)
    result = backend.push_kernel(
        folder, timeout=options.timeout, accelerator=options.accelerator, no_run=options.no_run
    )
    result.folder = folder if keep else None
    result.backend = result.backend or backend.name
    result.notes = [*notes, *result.notes]
    from . import history

    history.record(result)
    return result


def submit_cell(
    body: str,
    options: KernelOptions,
    *,
    defaults: config.ProjectDefaults,
    backend_factory: Callable[[str | None], Backend],
) -> PushResult:
    """``%%kaggle_sub``: the cell body becomes a kernel folder (written to ``--dir``), pushed unless dry run."""
    options = options.with_defaults(defaults)
    ref = kernel_ref(options, defaults)
    code_file = f"{ref.slug}.ipynb"
    meta, notes = build_metadata(options, ref, code_file)
    cells = [c for c in (install_cell(options.deps), body) if c]
    nb = notebook.build_notebook(cells)
    if not nb.cells:
        raise NotebookError("the cell is empty", hint="write the submission code below the %%kaggle_sub line")
    dest = Path(options.dir).expanduser() if options.dir else default_dir(ref)
    folder = write_kernel_folder(nb, meta, dest)
    return _push(folder, ref, options, backend_factory, notes, keep=True)


def push_path(
    path: str | Path,
    options: KernelOptions,
    *,
    defaults: config.ProjectDefaults,
    backend_factory: Callable[[str | None], Backend],
) -> PushResult:
    """``%kaggle_push PATH``: a kernel folder, or a ``.ipynb`` / percent-format ``.py`` plus the flags' metadata.

    The pushed copy is prepared in a staging folder (or ``--dir``); ``path`` itself is never written to."""
    path = Path(path).expanduser()
    if path.is_dir():
        return _push_folder(path, options, defaults=defaults, backend_factory=backend_factory)
    if not path.exists():
        raise NotebookError(f"{path}: no such file or folder", hint="give a kernel folder, a .ipynb or a .py")
    options = options.with_defaults(defaults)
    nb = notebook.read_notebook(path)
    ref = kernel_ref(options, defaults, fallback_slug=slugify(path.stem) or None)
    meta, notes = build_metadata(options, ref, f"{ref.slug}.ipynb")
    notes = notebook.prepare(nb, str(path)) + notes
    cell = install_cell(options.deps)
    if cell:
        import nbformat.v4 as v4

        nb.cells.insert(0, v4.new_code_cell(cell))
    if options.dir or options.dry_run:
        dest = Path(options.dir).expanduser() if options.dir else default_dir(ref)
        folder = write_kernel_folder(nb, meta, dest)
        return _push(folder, ref, options, backend_factory, notes, keep=True)
    with _staging(None) as tmp:
        folder = write_kernel_folder(nb, meta, tmp / ref.slug)
        return _push(folder, ref, options, backend_factory, notes, keep=False)


_METADATA_FLAGS = ("id", "title", "competition", "attach", "deps", "datasets", "models", "internet", "public")


def _push_folder(
    folder: Path,
    options: KernelOptions,
    *,
    defaults: config.ProjectDefaults,
    backend_factory: Callable[[str | None], Backend],
) -> PushResult:
    """Push an existing kernel folder: validated, kernelspec and enable_internet made explicit in a copy."""
    given = [name for name in _METADATA_FLAGS if getattr(options, name) not in (None, [], False)]
    if given:
        raise MetadataError(
            f"{folder}: --{given[0]} cannot change an existing kernel folder",
            hint=f"edit {folder / KERNEL_METADATA}, or push the notebook file itself with these flags",
        )
    meta = KernelMetadata.read(folder)
    meta_path = folder / KERNEL_METADATA
    if not meta.id:
        raise MetadataError(
            f"{meta_path}: id_no alone does not name the kernel",
            hint='add "id": "owner/kernel-slug" (the slug from the notebook\'s URL)',
        )
    notes = meta.validate(str(meta_path), folder=folder)
    raw = json.loads(meta_path.read_text(encoding="utf-8"))
    if "enable_internet" not in raw:
        notes.append(
            "enable_internet was missing (the official client would default it to true): pushed with false"
        )
    inside = PurePath(meta.code_file)
    if inside.is_absolute() or ".." in inside.parts:
        raise MetadataError(
            f"{meta_path}: code_file {meta.code_file!r} is outside the kernel folder",
            hint="put the notebook or script in the folder and name it relative to it",
        )
    code = folder / meta.code_file
    options = KernelOptions(
        accelerator=options.accelerator or (DEFAULT_GPU if options.gpu else None),
        timeout=options.timeout,
        dry_run=options.dry_run,
        no_run=options.no_run,
        backend=config.first(options.backend, defaults.backend),
        dir=options.dir,
    )
    if options.accelerator:
        options.accelerator = check_accelerator(options.accelerator)
        # Written into the copy too, so a --dry-run folder pushed later by the official client keeps it.
        meta.machine_shape = options.accelerator
        meta.enable_gpu = options.accelerator.startswith("Nvidia")
        meta.enable_tpu = options.accelerator.startswith("Tpu")
    ref = meta.ref
    with _staging(None) as tmp:
        stage = tmp / folder.name
        (stage / meta.code_file).parent.mkdir(parents=True)  # code_file may name a subfolder
        if meta.kernel_type == "notebook":
            nb = notebook.read_notebook(code)
            notes = notebook.prepare(nb, str(code)) + notes
            write_text_atomic(stage / meta.code_file, notebook.dumps(nb))
        else:
            shutil.copy2(code, stage / meta.code_file)
        meta.write(stage)
        if options.dir:
            dest = Path(options.dir).expanduser()
            if dest.resolve() == folder.resolve():
                raise MetadataError(f"--dir {dest} is the folder being pushed", hint="choose another --dir")
            check_replaceable(dest)
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(stage, dest)
            return _push(dest, ref, options, backend_factory, notes, keep=True)
        return _push(stage, ref, options, backend_factory, notes, keep=False)
