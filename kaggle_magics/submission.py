"""Submission notebooks: turn a cell, a notebook or a kernel folder into a Kaggle-ready kernel folder, and push it.

The folder is what ``kaggle kernels push -p`` reads: kernel-metadata.json (every key explicit, internet off for
competitions) and a notebook with a kernelspec and no outputs. The user's own files are never modified: a
notebook or kernel folder given to :func:`push_path` is copied into a staging folder first.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from . import config, notebook
from .errors import CheckFailed, KaggleMagicsError, MetadataError, NotebookError
from .handles import CompetitionRef, DatasetRef, KernelRef, ModelRef, slugify
from .kernel_folders import default_dir, place, same_files, staging, write_kernel_folder
from .metadata import DEFAULT_GPU, KERNEL_METADATA, KernelMetadata, check_accelerator, write_text_atomic
from .results import PushResult
from .scan import code_cells

if TYPE_CHECKING:
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
    deps_datasets: list[str] = field(default_factory=list)  # datasets holding a bundle (frozen locally)
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
    no_check: bool = False
    backend: str | None = None
    input_layout: str | None = None  # where local runs mount the inputs (nested | flat)

    @property
    def bundles(self) -> list[str]:
        """The attached sources whose bundles the first cell installs: deps kernels, then deps datasets."""
        return [*self.deps, *self.deps_datasets]

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
            deps_datasets=list(self.deps_datasets),
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
            no_check=self.no_check,
            backend=config.first(self.backend, defaults.backend),
            input_layout=config.first(self.input_layout, defaults.input_layout),
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
    competitions = []
    for text in options.competition:
        competition, note = CompetitionRef.normalise(text)
        competitions.append(competition.slug)
        notes += [note] if note else []
    shape = check_accelerator(options.accelerator) if options.accelerator else (DEFAULT_GPU if options.gpu else None)
    internet = bool(options.internet) if options.internet is not None else False
    if options.internet is None:
        notes.append("internet off (pass --internet to turn it on)")
    kernel_sources = [str(KernelRef.parse(s)) for s in [*options.deps, *options.attach]]
    dataset_sources = [str(DatasetRef.parse(s)) for s in [*options.datasets, *options.deps_datasets]]
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
        dataset_sources=list(dict.fromkeys(dataset_sources)),
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


def run_check(
    cells: Sequence[tuple[int | None, str]],
    meta: KernelMetadata,
    options: KernelOptions,
    defaults: config.ProjectDefaults,
    notes: list[str],
    **where: object,
) -> None:
    """``kaggle-magics check`` of what is about to be pushed: its findings join ``notes``; errors stop the
    push (a CheckFailed listing them) unless ``--no-check``, or a dry run, which pushes nothing."""
    if options.no_check:
        return
    from .check.runner import check_kernel

    report = check_kernel(
        cells, meta, defaults=defaults, backend=options.backend, layout=options.input_layout, **where  # type: ignore[arg-type]
    )
    lines = [f"check: {f.where}: {f.severity} [{f.kind}] {f.what}" + (f" (fix: {f.fix})" if f.fix else "")
             for f in report.findings]  # fmt: skip
    if report.errors and not options.dry_run:
        raise CheckFailed(
            f"the check found {len(report.errors)} error(s) in {report.path}, nothing pushed:\n  " + "\n  ".join(lines),
            hint="fix them (kaggle-magics check shows them all), or push anyway with --no-check",
        )
    if report.errors:
        lines.append(f"check: {len(report.errors)} error(s): a push would stop here (--no-check pushes anyway)")
    notes += lines


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
        folder,
        timeout=options.timeout,
        accelerator=options.accelerator,
        no_run=options.no_run,
        input_layout=options.input_layout,
    )
    result.folder = folder if keep else None
    result.backend = result.backend or backend.name
    result.notes = list(dict.fromkeys([*notes, *result.notes]))  # the backend validates the folder again
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
    run_check([(None, body)], meta, options, defaults, notes, path="this cell", installs_bundles=bool(options.bundles),
              magic_cell=True)  # fmt: skip
    cells = [c for c in (install_cell(options.bundles), body) if c]
    nb = notebook.build_notebook(cells)
    if not nb.cells:
        raise NotebookError("the cell is empty", hint="write the submission code below the %%kaggle_sub line")
    dest = Path(options.dir).expanduser() if options.dir else default_dir(ref)
    folder = write_kernel_folder(nb, meta, dest, given=bool(options.dir))
    return _push(folder, ref, options, backend_factory, notes, keep=True)


def push_path(
    path: str | Path,
    options: KernelOptions,
    *,
    defaults: config.ProjectDefaults,
    backend_factory: Callable[[str | None], Backend],
) -> PushResult:
    """``%kaggle_push PATH``: a kernel folder, or a ``.ipynb`` / percent-format ``.py`` plus the flags' metadata.

    A file whose folder holds a kernel-metadata.json naming it (as ``kaggle kernels pull -m`` leaves it) starts
    from that metadata, the flags override. The pushed copy is prepared in a staging folder (or ``--dir``, or
    ./kaggle/<slug>/ for a dry run); ``path`` itself is never written to."""
    path = Path(path).expanduser()
    if path.is_dir():
        return _push_folder(path, options, defaults=defaults, backend_factory=backend_factory)
    if not path.exists():
        raise NotebookError(f"{path}: no such file or folder", hint="give a kernel folder, a .ipynb or a .py")
    beside, notes = metadata_beside(path)
    if beside is not None:
        notes = apply_flags(beside, options, defaults, str(path.parent / KERNEL_METADATA)) + notes
        return _push_kernel(path.parent, path, beside, _push_options(options, defaults), notes, backend_factory,
                            defaults)  # fmt: skip
    options = options.with_defaults(defaults)
    nb = notebook.read_notebook(path)
    ref = kernel_ref(options, defaults, fallback_slug=slugify(path.stem) or None)
    meta, built_notes = build_metadata(options, ref, f"{ref.slug}.ipynb")
    notes = notebook.prepare(nb, str(path)) + built_notes + notes
    run_check(list(code_cells(nb)), meta, options, defaults, notes, path=str(path), folder=path.parent,
              installs_bundles=bool(options.bundles))  # fmt: skip
    cell = install_cell(options.bundles)
    if cell:
        notebook.insert_code_cell(nb, 0, cell)
    if options.dir or options.dry_run:
        dest = Path(options.dir).expanduser() if options.dir else default_dir(ref)
        folder = write_kernel_folder(nb, meta, dest, given=bool(options.dir))
        return _push(folder, ref, options, backend_factory, notes, keep=True)
    with staging(None) as tmp:
        folder = write_kernel_folder(nb, meta, tmp / ref.slug)
        return _push(folder, ref, options, backend_factory, notes, keep=False)


_METADATA_FLAGS = (
    "id", "title", "competition", "attach", "deps", "deps_datasets", "datasets", "models", "internet", "public"
)  # fmt: skip


def metadata_beside(path: Path) -> tuple[KernelMetadata | None, list[str]]:
    """The kernel-metadata.json in ``path``'s folder when its ``code_file`` names ``path`` (a pulled kernel, a
    repository's kernel folder), read and normalised; else None, with a note when it names another file."""
    meta_path = path.parent / KERNEL_METADATA
    if not meta_path.is_file():
        return None, []
    try:
        raw = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raw = None  # KernelMetadata.read names the problem
    code_file = raw.get("code_file") if isinstance(raw, dict) else None
    if isinstance(code_file, str) and code_file and (path.parent / code_file).resolve() != path.resolve():
        return None, [f"{meta_path} is for {code_file!r}, not {path.name!r}: not used"]
    meta = KernelMetadata.read(path.parent)
    if "enable_internet" not in raw:
        meta.normalised.append(
            "enable_internet was missing (the official client would default it to true): pushed with false"
        )
    return meta, []


def apply_flags(
    meta: KernelMetadata, options: KernelOptions, defaults: config.ProjectDefaults, where: str = KERNEL_METADATA
) -> list[str]:
    """The flags given on top of an existing kernel-metadata.json (``where``): scalars override, sources are
    added. Returns the notes of the resulting metadata (what reading the file normalised first)."""
    if options.id:
        ref = kernel_ref(options, defaults)
        if meta.id_no is not None:
            meta.normalised.append(f"id_no {meta.id_no} left out: --id {ref.id} names the kernel")
            meta.id_no = None
        meta.id = ref.id
    if options.title is not None:
        if len(options.title) < 5:
            raise MetadataError(
                f"--title {options.title!r} is shorter than 5 characters", hint="Kaggle needs a title of 5 or more"
            )
        meta.title = options.title
    for text in options.competition:
        competition, note = CompetitionRef.normalise(text)
        meta.normalised += [note] if note else []
        meta.competition_sources = list(dict.fromkeys([*meta.competition_sources, competition.slug]))
    added = {
        "kernel_sources": [str(KernelRef.parse(s)) for s in [*options.deps, *options.attach]],
        "dataset_sources": [str(DatasetRef.parse(s)) for s in [*options.datasets, *options.deps_datasets]],
        "model_sources": [str(ModelRef.parse(s, require_version=True)) for s in options.models],
    }
    for key, sources in added.items():
        setattr(meta, key, list(dict.fromkeys([*getattr(meta, key), *sources])))
    shape = check_accelerator(options.accelerator) if options.accelerator else (DEFAULT_GPU if options.gpu else None)
    if shape:
        _set_shape(meta, shape)
    if options.internet is not None:
        meta.enable_internet = options.internet
    if options.public:
        meta.is_private = False
    if not meta.id:
        raise MetadataError(
            f"{where}: id_no alone does not name the kernel",
            hint='add "id": "owner/kernel-slug" to the file, or pass --id owner/kernel-slug',
        )
    return meta.validate(where)


def _set_shape(meta: KernelMetadata, shape: str) -> None:
    """The machine shape in the metadata too, so a --dry-run folder pushed later by the official client keeps
    it."""
    meta.machine_shape = shape
    meta.enable_gpu = shape.startswith("Nvidia")
    meta.enable_tpu = shape.startswith("Tpu")


def _push_options(options: KernelOptions, defaults: config.ProjectDefaults, *, folder: bool = False) -> KernelOptions:
    """The push options (not metadata) of ``options``, unset ones from the project defaults (a kernel folder
    takes its backend only from them: it is pushed as it is)."""
    if folder:
        defaults = config.ProjectDefaults(backend=defaults.backend, input_layout=defaults.input_layout)
    return KernelOptions(
        accelerator=check_accelerator(options.accelerator) if options.accelerator else (
            DEFAULT_GPU if options.gpu else None
        ),
        deps=list(options.deps),
        deps_datasets=list(options.deps_datasets),
        timeout=config.first(options.timeout, defaults.timeout),
        dry_run=options.dry_run,
        no_run=options.no_run,
        no_check=options.no_check,
        backend=config.first(options.backend, defaults.backend),
        dir=config.first(options.dir, defaults.kernel_dir),
        input_layout=config.first(options.input_layout, defaults.input_layout),
    )


def _push_folder(
    folder: Path,
    options: KernelOptions,
    *,
    defaults: config.ProjectDefaults,
    backend_factory: Callable[[str | None], Backend],
) -> PushResult:
    """Push an existing kernel folder: validated, kernelspec and enable_internet made explicit in a copy."""
    given = [name for name in _METADATA_FLAGS if getattr(options, name) not in (None, [], False)]
    meta_path = folder / KERNEL_METADATA
    if given:
        code = KernelMetadata.read(folder).code_file if meta_path.is_file() else "NOTEBOOK"
        raise MetadataError(
            f"{folder}: --{given[0]} cannot change an existing kernel folder",
            hint=f"edit {meta_path}, or push its code file with the flags ({folder / code}): the folder's "
            "metadata is kept and the flags override it",
        )
    meta = KernelMetadata.read(folder)
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
    push = _push_options(options, defaults, folder=True)
    if push.accelerator:
        _set_shape(meta, push.accelerator)
    return _push_kernel(folder, folder / meta.code_file, meta, push, notes, backend_factory, defaults)


def _push_kernel(
    source: Path,
    code: Path,
    meta: KernelMetadata,
    options: KernelOptions,
    notes: list[str],
    backend_factory: Callable[[str | None], Backend],
    defaults: config.ProjectDefaults,
) -> PushResult:
    """Stage ``meta`` and its ``code`` file as a kernel folder (a notebook made ready; ``--deps`` install cell
    first), then push it; ``source`` is the user's folder, never written to. ``--dir`` keeps the folder, and
    so does a dry run (at ./kaggle/<slug>/ unless --dir)."""
    ref = meta.ref
    code_file = meta.code_file
    with staging(None) as tmp:
        stage = tmp / ref.slug
        stage.mkdir()
        if meta.kernel_type == "notebook":
            nb = notebook.read_notebook(code)
            notes = notebook.prepare(nb, str(code)) + notes
            cells: list[tuple[int | None, str]] = list(code_cells(nb))  # the user's, before the install cell
            cell = install_cell(options.bundles)
            if cell:
                notebook.insert_code_cell(nb, 0, cell)
            if PurePath(meta.code_file).suffix != ".ipynb":
                meta.code_file = str(PurePath(meta.code_file).with_suffix(".ipynb"))
                notes.append(f"code_file {code.name!r} is a notebook kernel's: pushed as {meta.code_file!r}")
            (stage / meta.code_file).parent.mkdir(parents=True, exist_ok=True)  # code_file may name a subfolder
            write_text_atomic(stage / meta.code_file, notebook.dumps(nb))
        else:
            cells = [(None, code.read_text(encoding="utf-8"))]
            if options.bundles:
                raise MetadataError(
                    f"--deps and --deps-dataset need a notebook kernel, and {code.name} is a script kernel",
                    hint="install the bundle in the script yourself, or make the kernel a notebook",
                )
            (stage / meta.code_file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(code, stage / meta.code_file)
        if meta.language == "python":
            run_check(cells, meta, options, defaults, notes, path=str(code), folder=source, code_file=code_file,
                      installs_bundles=bool(options.bundles))  # fmt: skip
        meta.write(stage)
        dest = Path(options.dir).expanduser() if options.dir else (default_dir(ref) if options.dry_run else None)
        if dest is None:
            return _push(stage, ref, options, backend_factory, notes, keep=False)
        if dest.resolve() == source.resolve():
            if options.dir:
                raise MetadataError(f"--dir {dest} is the folder being pushed", hint="choose another --dir")
            if not same_files(stage, source):
                raise MetadataError(
                    f"the dry run would rewrite {dest}, the folder being pushed (its default place)",
                    hint="pass --dir OTHER-FOLDER to write the prepared copy elsewhere",
                )
            notes = [*notes, f"{dest} is already what would be pushed: left as it is"]
        else:
            place(stage, dest, given=bool(options.dir))
        return _push(dest, ref, options, backend_factory, notes, keep=True)
