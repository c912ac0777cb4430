"""``kaggle-magics rehearse PATH`` / ``%kaggle_rehearse``: run a kernel now, in the foreground, as Kaggle
would.

The same runner as a pushed kernel's (sandbox, ``/kaggle/input`` from the local store in the input layout,
internet cut, the machine's limits), but nothing is pushed: the run goes to
``<store>/rehearsals/<name>/<stamp>/`` and the answer is how long each cell took and how much memory it
used, the total, where the outputs are and, for a competition kernel, the scorer's verdict on its
submission.csv (``--hidden-test DIR`` runs it on other test files, as Kaggle's scoring rerun does). While it
runs, what the cells print can be shown as it comes (:func:`log_lines`: the log as Kaggle records it); a
failed run's result holds the failing cell's traceback.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .. import notebook
from ..errors import NotebookError
from ..handles import KernelRef
from ..metadata import KERNEL_METADATA, check_accelerator
from . import environment, runner, runs
from .backend import LocalBackend, machine_shape
from .kernel_folder import read_kernel_folder
from .runs import CellTiming, RunResult
from .spec import Sources, prepare


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
    shape: str | None = None  # the machine a kernel folder's metadata asks for


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
        shape = machine_shape(meta.machine_shape, meta.enable_gpu, meta.enable_tpu)
    elif path.is_file():
        name, language, exclude, kernel_type, shape = path.stem, "python", None, "notebook", None
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
    return Runnable(path, name, kernel_type, language, code, sources, run_internet, exclude, notes, shape)



def rehearse(
    path: Path | str,
    *,
    store: Path | None = None,
    timeout: int | None = None,
    internet: bool | None = None,
    on_cell: Callable[[CellTiming], None] | None = None,
    on_output: Callable[[dict[str, Any]], None] | None = None,
    kernel_sources: Iterable[str] = (),
    dataset_sources: Iterable[str] = (),
    competition_sources: Iterable[str] = (),
    model_sources: Iterable[str] = (),
    sandbox_mode: str | None = None,
    input_layout: str | None = None,
    accelerator: str | None = None,
    memory_gb: float | None = None,
    hidden_test: Path | str | None = None,
    cpus: int | None = None,
    working_gb: float | None = None,
    env: str | None = None,
    base: str | None = None,
) -> RunResult:
    """Run ``path`` (a kernel folder with kernel-metadata.json, a ``.ipynb`` or a percent-format ``.py``) and
    return its result; ``on_cell`` is called as each cell finishes, ``on_output`` with each entry of the log
    (``{"stream_name", "time", "data"}``) as it is written (for a live display).

    A folder's sources, internet setting and machine shape come from its metadata (the ``*_sources``
    arguments add to them; ``internet`` and ``accelerator`` override). A bare notebook or script takes its
    sources from the arguments and runs with internet off unless ``internet=True``, as a competition
    submission does, on the CPU machine unless ``accelerator`` names another. ``memory_gb`` replaces the
    machine's memory limit; ``hidden_test`` is a folder whose files replace the competition's test files;
    ``cpus`` and ``working_gb`` replace the machine's CPU count and the size of /kaggle/working.

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
    shape = check_accelerator(accelerator) if accelerator else target.shape
    backend = LocalBackend(store, env=env, base=base)
    prepared = prepare(
        backend,
        name=str(path),
        kernel_type=kernel_type,
        language=language,
        code_file=path.name,
        internet=run_internet,
        sources=Sources(sources["kernels"], sources["datasets"], sources["competitions"], sources["models"]),
        exclude=exclude,
        layout=input_layout,
        shape=shape,
        timeout=timeout,
        memory_gb=memory_gb,
        hidden_test=hidden_test,
        cpus=cpus,
        working_gb=working_gb,
    )
    notes += prepared.notes
    if shape:
        notes.append(f"accelerator {shape} is not emulated: the run uses the CPU, with {shape}'s limits")
    backend.store.ensure()
    stamp = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    run_dir = backend.store.rehearsals_dir() / name / stamp / "run"
    runs.prepare_run(run_dir, prepared.spec, code)
    try:  # before the run, which stays offline: the image twin built now if the cache lacks it
        environment.prepare(run_dir, backend.environment, say=lambda text: print(text, file=sys.stderr, flush=True))
    except BaseException:
        shutil.rmtree(run_dir.parent, ignore_errors=True)  # a rehearsal that never ran leaves nothing behind
        raise
    runner.supervise(run_dir, on_cell, sandbox_mode=sandbox_mode, on_output=on_output)
    loaded = runs.load_result(run_dir, str(path))
    result = Rehearsal(**{f.name: getattr(loaded, f.name) for f in fields(loaded)})
    result.notes = notes + result.notes + environment.missing_module_hints(run_dir, result.failure_message)
    result.cells_shown = on_cell is not None
    result.log_shown = on_output is not None
    if not result.ok:
        result.traceback = failed_traceback(run_dir)
    return result


@dataclass(repr=False)  # RunResult's: the text a terminal shows, not the fields
class Rehearsal(RunResult):
    """A rehearsal's run, with the failing cell's traceback when it failed (unless it was shown live)."""

    traceback: str | None = None
    log_shown: bool = False  # the log was printed as it came: the text does not repeat the traceback

    _hidden = (*RunResult._hidden, "traceback", "log_shown")  # type: ignore[assignment]

    def __str__(self) -> str:
        text = super().__str__()
        if self.traceback and not self.log_shown:
            text += "\n  traceback\n" + "\n".join(f"    {line}" for line in self.traceback.splitlines())
        return text

    def __repr__(self) -> str:  # what a terminal shows of %kaggle_rehearse: the table, not the dataclass
        return str(self)

    def _repr_html_(self) -> str:
        text = super()._repr_html_()
        if self.traceback:
            text += "<pre>" + html.escape(self.traceback) + "</pre>"
        return text


_OURS = re.compile(r"^\[kaggle-magics\] In \[\d+\] ran ")  # the cell lines, which the timing table shows


def log_lines(entry: dict[str, Any]) -> list[str]:
    """One log entry as Kaggle's log viewer shows it: the seconds since the start, then the text, line by
    line (a progress bar's ``\\r`` updates collapsed to their last state); the per-cell timing lines the
    runner adds are left to the cell table."""
    data = str(entry.get("data", ""))
    if _OURS.match(data):
        return []
    stamp = f"{float(entry.get('time') or 0):7.1f}s"
    return [f"  {stamp} | {line.rsplit(chr(13), 1)[-1]}" for line in data.rstrip("\n").split("\n")]


def failed_traceback(run_dir: Path) -> str | None:
    """The traceback of the cell that failed, from the executed notebook (colour codes removed)."""
    try:
        nb = json.loads((run_dir / "executed.ipynb").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        for out in cell.get("outputs", []) if isinstance(cell, dict) else []:
            if isinstance(out, dict) and out.get("output_type") == "error":
                text = "\n".join(str(line) for line in out.get("traceback") or [])
                return _ANSI.sub("", text).strip() or f"{out.get('ename')}: {out.get('evalue')}"
    return None


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
