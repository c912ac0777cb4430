"""A run folder: what to run, its status, its log, its results.

A run lives in one folder (``<version>/run`` in the local store, or a rehearsal folder)::

    spec.json        what to run: inputs (mount path -> host folder), internet, limits, what the scorer checks
    source.ipynb     the notebook (a script becomes a one-cell notebook)
    status.json      QUEUED -> RUNNING -> COMPLETE | ERROR (| CANCEL_ACKNOWLEDGED), times, the runner's pid
    events.jsonl     what the executor reports as it goes (outputs, cell starts and ends)
    log.json         Kaggle's log format: [{"stream_name", "time", "data"}], time in seconds since the start
    executed.ipynb   the notebook with its outputs
    output/          /kaggle/working during the run, the kernel's output afterwards
    runner.log       the supervisor's own stderr (for a background run)

The supervisor (:mod:`.runner`) is the only writer of status.json and log.json; the executor
(:mod:`.executor`) writes events.jsonl. Everything else here reads.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RunFailed
from ..inputs import DEFAULT_LAYOUT
from ..results import Completes, Result
from .limits import size
from .store import StoreError, locked, read_json, read_json_object, write_json

DEFAULT_TIMEOUT = 12 * 3600  # Kaggle's session limit for CPU and GPU notebooks
DONE = ("COMPLETE", "ERROR", "CANCEL_ACKNOWLEDGED")
KERNEL_NAME = "python3"
_NEVER_STARTED = 120.0  # a QUEUED run with no runner after this long is reported as failed


# -- results -------------------------------------------------------------------------------------------------
@dataclass
class CellTiming:
    """One code cell of a run: its place, how long it ran, how it ended."""

    index: int  # position in the notebook, from 0 (markdown cells count)
    number: int  # the execution count: "In [number]"
    first_line: str
    seconds: float
    started: float  # seconds since the start of the run
    status: str  # ok | error
    peak_memory: int | None = None  # bytes: the kernel's largest memory while the cell ran

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> CellTiming:
        """From a ``cell_end`` line of the run's events.jsonl."""
        return cls(
            event["index"],
            event["number"],
            event.get("first_line", ""),
            event["seconds"],
            event["started"],
            event["status"],
            event.get("peak_memory"),
        )

    def __str__(self) -> str:
        mark = "" if self.status == "ok" else f"  {self.status.upper()}"
        memory = f"{size(self.peak_memory):>9}" if self.peak_memory else " " * 9
        return f"In [{self.number}] {self.seconds:8.2f} s {memory}  {self.first_line[:60]}{mark}"


@dataclass
class RunResult(Completes, Result):
    """A finished run: status, why it failed, the time of each cell and in all, where the outputs are."""

    name: str
    status: str
    failure_message: str | None = None
    total_seconds: float | None = None
    kernel_start_seconds: float | None = None
    cells: list[CellTiming] = field(default_factory=list)
    output_dir: Path | None = None
    output_files: list[str] = field(default_factory=list)
    log: Path | None = None
    run_dir: Path | None = None
    sandbox: str | None = None
    internet: bool | None = None
    peak_memory: int | None = None  # bytes, the kernel's largest
    output_size: int | None = None  # bytes in /kaggle/working at the end
    limits: str | None = None
    submission: str | None = None  # the scorer's verdict: "ok ..." or the error Kaggle would give
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C stopped a foreground run
    cells_shown: bool = False  # each cell's line was printed as it finished: the text does not repeat them
    submission_ok: bool | None = None  # None: not checked (no competition)

    _title = "run"
    _hidden = ("cells", "run_dir", "interrupted", "cells_shown", "submission_ok", "limits")  # limits: in the notes

    @property
    def ok(self) -> bool:
        """The run completed, and its submission passed the scorer's checks when it had any."""
        return self.status == "COMPLETE" and self.submission_ok is not False

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else super().exit_code

    def rows(self) -> list[tuple[str, Any]]:
        shown = {"peak memory": size, "output size": size}
        return [(key, shown[key](value) if key in shown and value is not None else value)
                for key, value in super().rows()]  # fmt: skip

    def raise_for_status(self) -> RunResult:
        if not self.ok:
            why = self.failure_message if self.status != "COMPLETE" else self.submission
            raise RunFailed(f"{self.name}: {self.status}: {why or 'no reason given'}", hint=f"the log is {self.log}")
        return self

    def __str__(self) -> str:
        text = super().__str__()
        if self.cells and not self.cells_shown:
            text += "\n  cells\n" + "\n".join(f"    {cell}" for cell in self.cells)
        return text

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        text = super()._repr_html_()
        if self.cells:
            text += "<pre>" + html.escape("\n".join(str(c) for c in self.cells)) + "</pre>"
        return text


# -- preparing a run -----------------------------------------------------------------------------------------
@dataclass
class RunSpec:
    """What a run needs; stored as spec.json so that a background supervisor can pick it up."""

    name: str
    kernel_type: str  # notebook | script
    language: str
    internet: bool
    timeout: int
    inputs: dict[str, str]  # mount path under the input root -> host folder (or file, for a hidden test)
    code_file: str = ""
    input_layout: str = DEFAULT_LAYOUT
    limits: dict[str, Any] = field(default_factory=dict)  # limits.Limits.to_json()
    scoring: dict[str, Any] = field(default_factory=dict)  # scorer.Scoring.to_json(), for competition kernels
    competitions: list[str] = field(default_factory=list)  # the competitions' mount paths among ``inputs``

    @classmethod
    def load(cls, run_dir: Path) -> RunSpec:
        data = read_json_object(run_dir / "spec.json", "run spec")
        try:
            return cls(**data)
        except TypeError as exc:
            raise StoreError(f"local store: {run_dir / 'spec.json'} does not describe a run ({exc})") from None


def prepare_run(run_dir: Path, spec: RunSpec, code: str) -> Path:
    """Write a QUEUED run into ``run_dir`` (spec, the notebook, status). ``code`` is the notebook JSON or the
    script text."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "output").mkdir(exist_ok=True)
    if spec.kernel_type == "script":
        import nbformat.v4 as v4

        nb = v4.new_notebook()
        nb.cells = [v4.new_code_cell(code)]
        nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
        text = json.dumps(nb, indent=1)
    else:
        text = code
    (run_dir / "source.ipynb").write_text(text, encoding="utf-8")
    write_json(run_dir / "spec.json", asdict(spec))
    write_json(run_dir / "status.json", {"status": "QUEUED", "queued_at": time.time()})
    return run_dir


# -- status --------------------------------------------------------------------------------------------------
def proc_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (tells a reused pid apart), None if unknown."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, start: int | None) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover - no /proc
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if fields[0] in ("Z", "X"):  # a zombie has finished
        return False
    return start is None or int(fields[19]) == start


def read_status(run_dir: Path) -> dict[str, Any]:
    """status.json of a run; a QUEUED or RUNNING run whose supervisor is gone is turned into ERROR (and
    saved so), so a dead runner never leaves a run RUNNING forever."""
    path = run_dir / "status.json"
    state = read_json_object(path, "run status")
    if state.get("status") in DONE:
        return state
    pid = state.get("runner_pid")
    if pid is not None and _alive(pid, state.get("runner_start")):
        return state
    if pid is None and time.time() - float(state.get("queued_at") or 0) < _NEVER_STARTED:
        return state
    with locked(run_dir):
        state = read_json_object(path, "run status")
        if state.get("status") in DONE:
            return state
        if pid is None:
            reason = "the local runner never started"
        else:
            reason = (
                f"the local runner (pid {pid}) stopped before the run finished: it was killed, or the machine restarted"
            )
        now = time.time()
        state.update(status="ERROR", failure_message=f"{reason} (see {run_dir / 'runner.log'})", finished_at=now)
        if state.get("started_at"):
            state["runtime_seconds"] = now - float(state["started_at"])
        write_json(path, state)
    return state


def set_status(run_dir: Path, **changes: Any) -> dict[str, Any]:
    with locked(run_dir):
        state = read_json_object(run_dir / "status.json", "run status")
        state.update(changes)
        write_json(run_dir / "status.json", state)
    return state


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """log.json of a run (an empty list before the run has written one)."""
    path = run_dir / "log.json"
    if not path.exists():
        return []
    data = read_json(path, "run log") if path.stat().st_size else []
    if not isinstance(data, list):
        raise StoreError(
            f"local store: {path} should hold a JSON list",
            hint="fix it by hand, or delete it (the run's status and outputs do not depend on it)",
        )
    return data


def output_files(run_dir: Path) -> list[str]:
    """The run's output files, relative to the output folder (links that lead outside it are left out)."""
    out = (run_dir / "output").resolve()
    if not out.is_dir():
        return []
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and out in p.resolve().parents)


def load_result(run_dir: Path, name: str) -> RunResult:
    """The RunResult of a run folder, from its status, events and output."""
    state = read_status(run_dir)
    cells, kernel_start = [], None
    for event in read_events(run_dir):
        if event.get("e") == "cell_end":
            cells.append(CellTiming.from_event(event))
        elif event.get("e") == "kernel":
            kernel_start = event.get("seconds")
    check = state.get("submission_check") or {}
    return RunResult(
        name=name,
        status=state["status"],
        failure_message=state.get("failure_message"),
        total_seconds=state.get("runtime_seconds"),
        kernel_start_seconds=kernel_start,
        cells=cells,
        output_dir=run_dir / "output",
        output_files=output_files(run_dir),
        log=run_dir / "log.json",
        run_dir=run_dir,
        sandbox=state.get("sandbox"),
        internet=state.get("internet"),
        peak_memory=state.get("peak_memory") or max((c.peak_memory or 0 for c in cells), default=0) or None,
        output_size=state.get("output_size"),
        limits=state.get("limits"),
        submission=check.get("text"),
        submission_ok=check.get("ok"),
        notes=[*(state.get("notes") or []), *filter(None, [check.get("hint")])],
        interrupted=bool(state.get("interrupted")),
    )


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "events.jsonl"
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a killed executor
    return events
