"""``kaggle-magics rehearse PATH`` / ``%kaggle_rehearse``: run a kernel now, in the foreground, as Kaggle
would.

The same runner as a pushed kernel's (sandbox, ``/kaggle/input`` from the local store, internet cut, the
session timeout), but nothing is pushed: the run goes to ``<store>/rehearsals/<name>/<stamp>/`` and the answer
is how long each cell took, the total, and where the outputs are.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import notebook
from ..errors import NotebookError
from ..handles import KernelRef
from ..metadata import KERNEL_METADATA
from . import environment, runner, runs
from .backend import LocalBackend
from .kernel_folder import read_kernel_folder
from .runs import CellTiming, RunResult


@dataclass
class Runnable:
    """What ``rehearse`` (and ``local image build``) read from a path: the code and how it runs."""

    path: Path
    name: str
    kernel_type: str
    language: str
    code: str  # notebook JSON, or the script's text
    sources: dict[str, list[str]]  # kernels, datasets, competitions, models
    internet: bool
    exclude: KernelRef | None  # the kernel itself (it may not attach itself)
    notes: list[str] = field(default_factory=list)


def read_runnable(
    path: Path | str, *, internet: bool | None = None, sources: dict[str, list[str]] | None = None
) -> Runnable:
    """A kernel folder (kernel-metadata.json + code), a ``.ipynb`` or a percent-format ``.py``, as a run
    reads it; ``sources`` add to a folder's own."""
    path = Path(path).expanduser()
    notes: list[str] = []
    sources = {key: list((sources or {}).get(key, [])) for key in ("kernels", "datasets", "competitions", "models")}
    if path.is_dir():
        pushed = read_kernel_folder(path)
        meta = pushed.meta
        name, kernel_type, language, code = meta.ref.slug, meta.kernel_type, meta.language, pushed.code
        notes += pushed.notes
        for key, listed in (
            ("kernels", meta.kernel_sources),
            ("datasets", meta.dataset_sources),
            ("competitions", meta.competition_sources),
            ("models", meta.model_sources),
        ):
            sources[key] = [*listed, *(s for s in sources[key] if s not in listed)]
        run_internet = pushed.internet if internet is None else internet
        exclude = meta.ref
    elif path.is_file():
        name, language, exclude, kernel_type = path.stem, "python", None, "notebook"
        if path.suffix not in (*notebook.NOTEBOOK_SUFFIXES, *notebook.SCRIPT_SUFFIXES):
            raise NotebookError(
                f"{path}: cannot rehearse a {path.suffix or 'suffix-less'} file",
                hint=f"give a kernel folder ({KERNEL_METADATA} + code), a .ipynb or a .py",
            )
        # As `push` reads it: a .py is percent-format (`# %%` cells), so each cell is run and timed on its
        # own; the notebook gets the kernelspec push would add, and no outputs.
        nb = notebook.read_notebook(path)
        notes += notebook.prepare(nb, str(path))
        code = notebook.dumps(nb)
        run_internet = bool(internet)
        if internet is None:
            notes.append("internet off (as for a competition submission); --internet allows it")
    else:
        raise NotebookError(
            f"{path}: no such file or folder",
            hint=f"give a kernel folder ({KERNEL_METADATA} + code), a .ipynb or a .py",
        )
    return Runnable(path, name, kernel_type, language, code, sources, run_internet, exclude, notes)


def rehearse(
    path: Path | str,
    *,
    store: Path | None = None,
    timeout: int | None = None,
    internet: bool | None = None,
    on_cell: Callable[[CellTiming], None] | None = None,
    kernel_sources: Iterable[str] = (),
    dataset_sources: Iterable[str] = (),
    competition_sources: Iterable[str] = (),
    model_sources: Iterable[str] = (),
    sandbox_mode: str | None = None,
    env: str | None = None,
    base: str | None = None,
) -> RunResult:
    """Run ``path`` (a kernel folder with kernel-metadata.json, a ``.ipynb`` or a percent-format ``.py``) and
    return its result; ``on_cell`` is called as each cell finishes (for a live display).

    A folder's sources and internet setting come from its metadata (the ``*_sources`` arguments add to them;
    ``internet`` overrides). A bare notebook or script takes its sources from the arguments and runs with
    internet off unless ``internet=True``, as a competition submission does.

    ``env`` is the kernel's environment: ``twin`` (default: Kaggle's image as it would be for this notebook,
    made of the base snapshot ``base``, by default the image list shipped in the package) or ``user`` (this
    interpreter's packages); see :mod:`.environment`.
    """
    target = read_runnable(
        path,
        internet=internet,
        sources={
            "kernels": list(kernel_sources),
            "datasets": list(dataset_sources),
            "competitions": list(competition_sources),
            "models": list(model_sources),
        },
    )
    name, kernel_type, language, code = target.name, target.kernel_type, target.language, target.code
    notes, sources, run_internet, exclude = target.notes, target.sources, target.internet, target.exclude
    path = target.path
    backend = LocalBackend(store, env=env, base=base)
    inputs, _ = backend.resolve_sources(
        kernels=sources["kernels"],
        datasets=sources["datasets"],
        competitions=sources["competitions"],
        models=sources["models"],
        exclude=exclude,
    )
    backend.store.ensure()
    stamp = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    run_dir = backend.store.rehearsals_dir() / name / stamp / "run"
    spec = runs.RunSpec(
        name=str(path),
        kernel_type=kernel_type,
        language=language,
        internet=run_internet,
        timeout=timeout or runs.DEFAULT_TIMEOUT,
        inputs={k: str(v) for k, v in inputs.items()},
        code_file=path.name,
    )
    runs.prepare_run(run_dir, spec, code)
    try:  # before the run, which stays offline: the image twin built now if the cache lacks it
        environment.prepare(run_dir, backend.environment, say=lambda text: print(text, file=sys.stderr, flush=True))
    except BaseException:
        shutil.rmtree(run_dir.parent, ignore_errors=True)  # a rehearsal that never ran leaves nothing behind
        raise
    runner.supervise(run_dir, on_cell, sandbox_mode=sandbox_mode)
    result = runs.load_result(run_dir, str(path))
    result.notes = notes + result.notes + environment.missing_module_hints(run_dir, result.failure_message)
    result.cells_shown = on_cell is not None
    return result
