"""A check from start to end: the settings, each file read, its cells scanned once, every check run over the
same facts, a report per file."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .. import config, inputs
from ..bundle.base import load_base
from ..config import ProjectDefaults
from ..errors import ConfigError, KaggleMagicsError
from ..metadata import KernelMetadata
from .context import Context
from .drivers import check_driver, driving_magics
from .facts import gather
from .files import Code, Unit, read_code, units, validate_notebook
from .findings import ERROR, CheckReport, FileReport, Finding, Places
from .imports import check_imports
from .internet import check_internet
from .metadata import bare_metadata, kernelspec_findings, read_folder
from .outputs import check_submission
from .paths import check_paths as check_input_paths
from .syntax import check_syntax
from .target import Settings, Target, build_target, bundle_folders, mounted_sources


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: parsing makes thousands of short-lived nodes (freed by their
    reference counts, they hold no cycles), and the collector scanning them made the check twice as slow."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


CHECKS: tuple[Callable[[Context], None], ...] = (
    check_syntax, check_imports, check_internet, check_input_paths, check_submission
)
_INSTALLS = ("kaggle_magics.bundle.install_main", "kaggle_install", "--no-index")


def make_settings(
    defaults: ProjectDefaults,
    *,
    base: str | None = None,
    layout: str | None = None,
    input_root: str | None = None,
    bundles: Iterable[str] = (),
    backend: str | None = None,
    store: str | None = None,
) -> Settings:
    """The settings of a check: flags first, then ``[tool.kaggle_magics]``; inside Kaggle the input root is
    ``/kaggle/input`` itself. The local store is read when the backend is the local one."""
    from ..backends import choose_backend_name

    root = Path(input_root).expanduser() if input_root else None
    if root is None and config.in_kaggle():
        root = Path(os.environ.get(config.ENV_INPUT_ROOT) or inputs.INPUT_ROOT)
    store_path = None
    if choose_backend_name(backend, defaults.backend) == "local":
        chosen = config.first(store, defaults.store)
        store_path = Path(chosen).expanduser() if chosen else config.default_store_dir()
    try:
        snapshot = load_base(config.first(base, defaults.base))
    except KaggleMagicsError as exc:  # a base file that cannot be read is bad input
        raise ConfigError(exc.message, hint=exc.hint) from None
    return Settings(
        base=snapshot,
        layout=inputs.check_layout(config.first(layout, defaults.input_layout)),
        input_root=root,
        store=store_path,
        bundles=bundle_folders(list(bundles)),
    )


def check_cells(
    cells: Sequence[tuple[int | None, str]], target: Target, report: FileReport, places: Places | None = None
) -> FileReport:
    """Run every check over ``cells`` for ``target``; the findings go into ``report``."""
    scan, facts = gather(cells)
    if not target.installs_bundles:
        target.installs_bundles = any(marker in source for _, source in cells for marker in _INSTALLS)
    ctx = Context(scan, facts, target, places or Places())
    for check in CHECKS:
        check(ctx)
    report.findings += sorted(ctx.findings, key=_order)
    report.imports = ctx.imports
    _describe(report, target)
    return report


def _order(finding: Finding) -> tuple[int, int, int, int]:
    """Cell by cell, line by line; what concerns the whole notebook (the submission) after the cells."""
    placed = finding.cell is not None or finding.line is not None or finding.kind == "notebook"
    return (0 if placed else 1, finding.cell or 0, finding.line or 0, 0 if finding.severity == ERROR else 1)


def _describe(report: FileReport, target: Target) -> None:
    report.internet = target.internet
    report.layout = target.layout
    report.base = target.settings.base.source
    report.competition = target.competition
    report.sources = target.sources()
    report.sources_known = target.sources_known


def check_unit(unit: Unit, options: object, defaults: ProjectDefaults, settings: Settings) -> list[FileReport]:
    """The report of a kernel folder, notebook or script; of a notebook that drives kaggle-magics, its own
    report and one for each kernel it pushes (:mod:`.drivers`)."""
    if unit.kind != "kernel folder" and unit.code is not None:
        code = read_code(unit.code)
        magics = [] if code.problem else driving_magics(code.cells)
        if magics:
            return check_driver(unit.path, code.cells, magics, defaults, settings)
        return [_check_unit(unit, options, defaults, settings, code)]
    return [_check_unit(unit, options, defaults, settings, None)]


def _check_unit(
    unit: Unit, options: object, defaults: ProjectDefaults, settings: Settings, code: Code | None
) -> FileReport:
    report = FileReport(path=str(unit.path), kind=unit.kind)
    if unit.kind == "kernel folder":
        kernel = read_folder(unit.path)
        report.findings += kernel.findings
        report.notes += kernel.notes
        if kernel.meta is None or kernel.code is None or not kernel.code.is_file():
            report.base = settings.base.source
            return report
        meta = kernel.meta
        if meta.language != "python":
            report.notes.append(f"not checked: a {meta.language} kernel")
            return report
        code = read_code(kernel.code, script=meta.kernel_type == "script")
        target = build_target(meta, settings, folder=unit.path, code_file=meta.code_file)
        report.kind = f"kernel folder ({meta.code_file})"
    else:
        assert unit.code is not None
        meta, known, notes = bare_metadata(options, defaults)
        report.findings += notes
        if not known and settings.input_root is not None and config.in_kaggle():
            meta, known = with_mounted_sources(meta, settings.input_root), True
        code = code or read_code(unit.code)
        deps = bool(getattr(options, "bundles", None))
        target = build_target(
            meta, settings, sources_known=known, folder=unit.path.parent, code_file=None, installs_bundles=deps
        )
        kaggle_metadata(target, code.notebook, options, report)
    return _check_code(code, target, report, unit.kind == "kernel folder")


def kaggle_metadata(target: Target, nb: object, options: object, report: FileReport) -> None:
    """What a notebook downloaded from Kaggle says of how it ran there, where the flags say nothing: the
    check follows push's defaults (internet off, a CPU kernel), and what they make fail but the notebook's own
    settings would not becomes a warning; the notes say how to check it as it ran."""
    kaggle = nb.get("metadata", {}).get("kaggle") if isinstance(nb, dict) else None
    if not isinstance(kaggle, dict):
        return
    if kaggle.get("isInternetEnabled") is True and getattr(options, "internet", None) is None:
        target.internet_hint = True
        report.notes.append("its Kaggle metadata says internet on; checked with it off, as push sends it "
                            "(--internet: on)")  # fmt: skip
    shape = kaggle.get("accelerator")
    gpu = kaggle.get("isGpuEnabled") is True or (isinstance(shape, str) and shape.lower() not in ("", "none"))
    if gpu and not getattr(options, "accelerator", None) and not getattr(options, "gpu", False):
        target.accelerator_hint = shape if isinstance(shape, str) and shape else "GPU"
        report.notes.append(f"its Kaggle metadata says accelerator {target.accelerator_hint}; checked as a CPU "
                            "kernel, as push sends it (--accelerator SHAPE: with it)")  # fmt: skip
    if kaggle.get("dataSources") and not target.sources_known:
        report.notes.append(f"its Kaggle metadata lists {len(kaggle['dataSources'])} attached sources (by id): pass "
                            "them (--competition, --dataset, --attach, --model) to check against them")  # fmt: skip


def with_mounted_sources(meta: KernelMetadata, root: Path) -> KernelMetadata:
    found = mounted_sources(root)
    meta.competition_sources = found["competitions"]
    meta.dataset_sources = found["datasets"]
    meta.kernel_sources = found["kernels"]
    meta.model_sources = found["models"]
    return meta


def _check_code(code: Code, target: Target, report: FileReport, folder: bool) -> FileReport:
    if code.problem:
        report.findings.append(Finding("notebook", ERROR, f"Kaggle cannot run it: {code.problem}", None))
        _describe(report, target)
        return report
    if code.notebook is not None:
        invalid, added = validate_notebook(code.notebook)
        if invalid:
            report.findings.append(
                Finding("notebook", ERROR, f"push refuses it: invalid notebook ({invalid})", "fix the notebook JSON")
            )
        if folder:
            report.findings += kernelspec_findings(added)
    return check_cells(code.cells, target, report, Places(file_lines=code.file_lines))


def check_paths(
    paths: list[str | Path],
    options: object,
    *,
    defaults: ProjectDefaults,
    settings: Settings,
    warn_only: bool = False,
    format: str = "text",
) -> CheckReport:
    """Check every kernel folder, notebook and percent-format script that ``paths`` name (folders walked)."""
    started = time.perf_counter()
    report = CheckReport(warn_only=warn_only, format=format)
    with no_gc():
        for unit in units(paths):
            report.files += check_unit(unit, options, defaults, settings)
    report.seconds = time.perf_counter() - started
    return report



def check_kernel(
    cells: Sequence[tuple[int | None, str]],
    meta: KernelMetadata,
    *,
    defaults: ProjectDefaults,
    backend: str | None,
    path: str,
    layout: str | None = None,
    folder: Path | None = None,
    code_file: str | None = None,
    installs_bundles: bool = False,
    magic_cell: bool = False,
) -> FileReport:
    """The check push runs before it pushes: ``cells`` (the user's, before the install cell goes first) as
    the kernel ``meta`` describes it; ``magic_cell``: one cell, the body of ``%%kaggle_sub`` (its lines
    counted from the magic's line)."""
    settings = make_settings(defaults, backend=backend, layout=layout)
    target = build_target(meta, settings, folder=folder, code_file=code_file, installs_bundles=installs_bundles)
    places = Places(single="this cell", line_shift=1) if magic_cell else None
    with no_gc():
        return check_cells(cells, target, FileReport(path=path, kind="cell" if magic_cell else "notebook"), places)
