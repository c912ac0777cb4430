"""Run a notebook the way Kaggle runs a committed version: a real Jupyter kernel, in a box laid out like a
Kaggle session, timed cell by cell.

A run lives in one folder (``<version>/run`` in the local store, or a rehearsal folder)::

    spec.json        what to run: inputs, internet, session timeout
    source.ipynb     the notebook (a script becomes a one-cell notebook)
    status.json      QUEUED -> RUNNING -> COMPLETE | ERROR (| CANCEL_ACKNOWLEDGED), times, the runner's pid
    events.jsonl     what the executor reports as it goes (outputs, cell starts and ends)
    log.json         Kaggle's log format: [{"stream_name", "time", "data"}], time in seconds since the start
    executed.ipynb   the notebook with its outputs
    output/          /kaggle/working during the run, the kernel's output afterwards
    runner.log       the supervisor's own stderr (for a background run)

Two processes: the *supervisor* (on the host; in the background for a pushed kernel, in the foreground for
``rehearse``) prepares a throwaway venv layered over the current interpreter (so ``pip install`` in a notebook
never reaches the user's environment), starts the *executor* inside the sandbox, enforces the session timeout,
and is the only writer of status.json and log.json. The executor drives the kernel with nbclient and reports
through events.jsonl. A supervisor that dies is noticed by the next status read (its pid is gone).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import config, sandbox
from .errors import RunFailed
from .results import Completes, Result
from .store import StoreError, locked, read_json, read_json_object, write_json

DEFAULT_TIMEOUT = 12 * 3600  # Kaggle's session limit for CPU and GPU notebooks
DONE = ("COMPLETE", "ERROR", "CANCEL_ACKNOWLEDGED")
KERNEL_NAME = "python3"
NO_KERNEL_NAME = "No kernel name found in notebook and no override provided."
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LOG_EVERY = 1.0  # seconds between rewrites of log.json while a run goes on
_NEVER_STARTED = 120.0  # a QUEUED run with no runner after this long is reported as failed
# Variables a run inherits from the machine: locale, proxies and package-installer settings. Nothing else
# (no credentials of any kind) reaches the notebook.
_PASS_ENV = (
    "LANG",
    "LANGUAGE",
    "TZ",
    "LD_LIBRARY_PATH",
    "CUDA_VISIBLE_DEVICES",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
)
_PASS_PREFIXES = ("LC_", "PIP_", "UV_")


_SECRET_NAME = re.compile(r"TOKEN|KEY|PASSWORD|SECRET|AUTH|CREDENTIAL", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"://[^/@\s]+@")


def carries_secret(name: str, value: str) -> bool:
    """A variable a run must not see: a secret by its name, or a URL with credentials in it
    (``PIP_INDEX_URL=https://user:token@host/...``, a proxy with a password)."""
    return bool(_SECRET_NAME.search(name) or _URL_CREDENTIALS.search(value))


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
        )

    def __str__(self) -> str:
        mark = "" if self.status == "ok" else f"  {self.status.upper()}"
        return f"In [{self.number}] {self.seconds:8.2f} s  {self.first_line[:60]}{mark}"


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
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C stopped a foreground run
    cells_shown: bool = False  # each cell's line was printed as it finished: the text does not repeat them

    _title = "run"
    _hidden = ("cells", "run_dir", "interrupted", "cells_shown")

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else super().exit_code

    def raise_for_status(self) -> RunResult:
        if not self.ok:
            raise RunFailed(
                f"{self.name}: {self.status}: {self.failure_message or 'no reason given'}",
                hint=f"the log is {self.log}",
            )
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
    inputs: dict[str, str]  # mount path under the input root -> host folder
    code_file: str = ""

    @classmethod
    def load(cls, run_dir: Path) -> RunSpec:
        data = read_json_object(run_dir / "spec.json", "run spec")
        try:
            return cls(**data)
        except TypeError as exc:
            raise StoreError(
                f"local store: {run_dir / 'spec.json'} does not describe a run ({exc})"
            ) from None


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
def _proc_start(pid: int) -> int | None:
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
                f"the local runner (pid {pid}) stopped before the run finished: it was killed, or the "
                "machine restarted"
            )
        now = time.time()
        state.update(
            status="ERROR", failure_message=f"{reason} (see {run_dir / 'runner.log'})", finished_at=now
        )
        if state.get("started_at"):
            state["runtime_seconds"] = now - float(state["started_at"])
        write_json(path, state)
    return state


def _set_status(run_dir: Path, **changes: Any) -> dict[str, Any]:
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
    return sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and out in p.resolve().parents
    )


def load_result(run_dir: Path, name: str) -> RunResult:
    """The RunResult of a run folder, from its status, events and output."""
    state = read_status(run_dir)
    cells, kernel_start = [], None
    for event in _read_events(run_dir):
        if event.get("e") == "cell_end":
            cells.append(CellTiming.from_event(event))
        elif event.get("e") == "kernel":
            kernel_start = event.get("seconds")
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
        notes=list(state.get("notes") or []),
        interrupted=bool(state.get("interrupted")),
    )


def _read_events(run_dir: Path) -> list[dict[str, Any]]:
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


# -- the supervisor ------------------------------------------------------------------------------------------
def spawn(run_dir: Path) -> int:
    """Start the supervisor of ``run_dir`` as a detached process (its own session: it outlives the caller,
    e.g. a CLI that exits right after the push). Returns its pid."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_parent(), env.get("PYTHONPATH")]))
    with open(run_dir / "runner.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kaggle_magics.runner", "supervise", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=run_dir,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    # Reap it when it ends if we are still around (no zombie in a long IPython session); a daemon thread
    # does not keep the caller alive.
    threading.Thread(target=proc.wait, daemon=True).start()
    with locked(run_dir):
        state = read_json_object(run_dir / "status.json", "run status")
        if state.get("status") == "QUEUED" and state.get("runner_pid") is None:
            state.update(runner_pid=proc.pid, runner_start=_proc_start(proc.pid))
            write_json(run_dir / "status.json", state)
    return proc.pid


def _package_parent() -> str:
    """The folder kaggle_magics is imported from, when the interpreter would not find it by itself (a source
    checkout); empty when it is installed."""
    import kaggle_magics

    parent = Path(kaggle_magics.__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in site.getsitepackages()}
    return "" if parent in installed else str(parent)


class Stopped(Exception):
    """The supervisor was asked to stop (SIGTERM, SIGHUP): the run ends as CANCEL_ACKNOWLEDGED."""


class _Tail:
    """Reads events.jsonl as the executor appends to it; builds log.json; reports finished cells."""

    def __init__(
        self, run_dir: Path, on_cell: Callable[[CellTiming], None] | None, log: list[dict[str, Any]]
    ):
        self.path = run_dir / "events.jsonl"
        self.log_path = run_dir / "log.json"
        self.on_cell = on_cell
        self.log = log
        self.offset = 0
        self.end: dict[str, Any] | None = None
        self.current: dict[str, Any] | None = None  # the cell running now
        self.kernel_seconds: float | None = None
        self.written = 0.0
        self.dirty = True

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        complete = chunk.rfind(b"\n") + 1
        self.offset += complete
        for line in chunk[:complete].decode("utf-8", "replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            self._take(event)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("e")
        if kind == "log":
            self.log.append(
                {"stream_name": event["stream"], "time": round(event["time"], 3), "data": event["data"]}
            )
            self.dirty = True
        elif kind == "kernel":
            self.kernel_seconds = event.get("seconds")
        elif kind == "cell_start":
            self.current = event
        elif kind == "cell_end":
            self.current = None
            if self.on_cell:
                self.on_cell(CellTiming.from_event(event))
        elif kind == "end":
            self.end = event

    def running(self) -> str:
        """' while running In [n] (notebook cell m)' for the cell running now, else empty."""
        if self.current is None:
            return ""
        return f" while running In [{self.current['number']}] (notebook cell {self.current['index'] + 1})"

    def flush(self, force: bool = False) -> None:
        if self.dirty and (force or time.monotonic() - self.written >= _LOG_EVERY):
            write_json(self.log_path, self.log)
            self.written, self.dirty = time.monotonic(), False


def supervise(
    run_dir: Path, on_cell: Callable[[CellTiming], None] | None = None, *, sandbox_mode: str | None = None
) -> dict[str, Any]:
    """Run the QUEUED run in ``run_dir`` to its end and return its final status. Used in the background (by
    ``python -m kaggle_magics.runner supervise``) and in the foreground (``rehearse``, with ``on_cell``)."""
    run_dir = Path(run_dir).resolve()
    spec = RunSpec.load(run_dir)
    t0 = time.time()
    _set_status(
        run_dir,
        status="RUNNING",
        started_at=t0,
        runner_pid=os.getpid(),
        runner_start=_proc_start(os.getpid()),
        internet=spec.internet,
        timeout=spec.timeout,
    )
    scratch = run_dir / "scratch"
    log: list[dict[str, Any]] = []
    tail = _Tail(run_dir, on_cell, log)
    proc: subprocess.Popen[bytes] | None = None
    final: dict[str, Any]
    try:
        layout = sandbox.Layout(
            inputs={name: Path(host) for name, host in spec.inputs.items()},
            working=run_dir / "output",
            scratch=scratch,
            rw_paths=[run_dir],
            internet=spec.internet,
        )
        box = sandbox.build(layout, sandbox_mode)
        _set_status(
            run_dir,
            sandbox=box.mode,
            network_cut=box.network_cut,
            kaggle_paths=box.kaggle_paths,
            notes=box.notes,
        )
        for note in box.notes:
            log.append({"stream_name": "stderr", "time": 0.0, "data": f"[kaggle-magics] {note}\n"})
        venv = _make_venv(scratch / "venv")
        _write_kernelspec(scratch / "kernels", venv)
        write_json(run_dir / "env.json", _kernel_env(box, venv))
        (run_dir / "events.jsonl").write_bytes(b"")
        argv = [
            *box.argv,
            sys.executable,
            "-m",
            "kaggle_magics.runner",
            "execute",
            str(run_dir),
            "--t0",
            repr(t0),
        ]
        env = {
            **_kernel_env(box, venv),
            "PYTHONPATH": _package_parent() or os.environ.get("PYTHONPATH", ""),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PATH": os.environ.get("PATH", os.defpath),
        }
        with open(run_dir / "executor.log", "wb") as errors:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=subprocess.STDOUT,
                cwd=box.working_dir if box.mode != "bwrap" else run_dir,
                env=env,
                start_new_session=True,
                preexec_fn=sandbox.die_with_parent(),
            )
        deadline = t0 + spec.timeout
        while proc.poll() is None:
            tail.poll()
            tail.flush()
            if time.time() > deadline:
                sandbox.kill_tree(proc.pid)
                proc.wait()
                break
            time.sleep(0.1)
        tail.poll()
        final = _final_state(run_dir, spec, tail, proc.returncode, timed_out=time.time() > deadline)
    except (KeyboardInterrupt, Stopped) as exc:
        if proc is not None:
            sandbox.kill_tree(proc.pid)
            proc.wait()
        tail.poll()
        why = str(exc) if isinstance(exc, Stopped) else "Ctrl-C"
        where = tail.running()
        final = {
            "status": "CANCEL_ACKNOWLEDGED",
            "failure_message": f"the run was stopped ({why}){where}",
            "interrupted": not isinstance(exc, Stopped),
        }
    except Exception as exc:  # the run fails with the reason, never a RUNNING run left behind
        if proc is not None:
            sandbox.kill_tree(proc.pid)
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        final = {"status": "ERROR", "failure_message": f"the local runner failed: {message}"}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    end = time.time()
    if final.get("failure_message"):
        log.append(
            {
                "stream_name": "stderr",
                "time": round(end - t0, 3),
                "data": f"[kaggle-magics] {final['status']}: {final['failure_message']}\n",
            }
        )
    tail.dirty = True
    tail.flush(force=True)
    final.update(finished_at=end, runtime_seconds=end - t0)
    return _set_status(run_dir, **final)


def _final_state(
    run_dir: Path, spec: RunSpec, tail: _Tail, returncode: int | None, *, timed_out: bool
) -> dict[str, Any]:
    if tail.end is not None and not timed_out:
        return {"status": tail.end["status"], "failure_message": tail.end.get("failure_message")}
    where = tail.running()
    if timed_out:
        return {
            "status": "ERROR",
            "failure_message": (
                f"the run exceeded its session timeout of {spec.timeout} s and was stopped{where}"
            ),
            "timed_out": True,
        }
    detail = ""
    try:
        lines = (run_dir / "executor.log").read_text(errors="replace").strip().splitlines()
        detail = f": {lines[-1]}" if lines else ""
    except OSError:
        pass
    return {
        "status": "ERROR",
        "failure_message": f"the run's process ended unexpectedly (exit code {returncode}){where}{detail}",
    }


def _make_venv(path: Path) -> Path:
    """A throwaway venv that sees the current interpreter's packages (the stand-in for Kaggle's image) and
    takes whatever the notebook installs, so the user's own environment is never written to."""
    import venv

    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(path)
    purelib = Path(
        subprocess.run(
            [str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    dirs = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE and site.getusersitepackages() and Path(site.getusersitepackages()).is_dir():
        dirs.append(site.getusersitepackages())
    # addsitedir (not a bare path) so the .pth files in those folders (editable installs...) work too.
    lines = [f"import site; site.addsitedir({d!r})" for d in dirs if Path(d).is_dir()]
    (purelib / "_kaggle_image.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # `!pip install` must find this venv's pip first, not the user's: a launcher over the pip it can import.
    python = path / "bin" / "python"
    launcher = f"#!{python}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n"
    major, minor = sys.version_info[:2]
    for name in ("pip", "pip3", f"pip{major}.{minor}"):
        script = path / "bin" / name
        script.write_text(launcher, encoding="utf-8")
        script.chmod(0o755)
    return path


def _write_kernelspec(folder: Path, venv: Path) -> None:
    spec = {
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    write_json(folder / KERNEL_NAME / "kernel.json", spec)


def _kernel_env(box: sandbox.Sandbox, venv: Path) -> dict[str, str]:
    """The kernel's whole environment: Kaggle's markers, the box's paths, locale/proxy/installer settings
    from the machine, and nothing else."""
    env = {
        k: v
        for k, v in os.environ.items()
        if (k in _PASS_ENV or k.startswith(_PASS_PREFIXES)) and not carries_secret(k, v)
    }
    home = f"{box.tmp_dir}/home"
    env.update(
        PATH=os.pathsep.join(
            [str(venv / "bin"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        ),
        HOME=home,
        TMPDIR=box.tmp_dir,
        VIRTUAL_ENV=str(venv),
        PYTHONNOUSERSITE="1",
        JUPYTER_RUNTIME_DIR=f"{box.tmp_dir}/jupyter-runtime",
        IPYTHONDIR=f"{home}/.ipython",
        MPLBACKEND="agg",
    )
    env.setdefault("LANG", "C.UTF-8")
    env[config.ENV_RUN_TYPE] = "Batch"
    env.update(box.env)
    return env


# -- the executor (inside the sandbox) -----------------------------------------------------------------------
class _Events:
    def __init__(self, path: Path, t0: float):
        self.handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run's whole life
        self.t0 = t0

    def now(self) -> float:
        return time.time() - self.t0

    def emit(self, kind: str, **data: Any) -> None:
        data.setdefault("time", self.now())
        self.handle.write(json.dumps({"e": kind, **data}) + "\n")
        self.handle.flush()

    def log(self, stream: str, text: str) -> None:
        if text:
            self.emit("log", stream=stream, data=text)


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def execute(run_dir: Path, t0: float) -> int:
    """Execute source.ipynb with nbclient in a kernel from the run's venv; report through events.jsonl."""
    events = _Events(run_dir / "events.jsonl", t0)
    try:
        status, message = _execute(run_dir, events)
    except Exception as exc:  # reported as the run's failure, not a traceback nobody reads
        status, message = "ERROR", f"the local executor failed: {type(exc).__name__}: {exc}"
    events.emit("end", status=status, failure_message=message)
    return 0


def _execute(run_dir: Path, events: _Events) -> tuple[str, str | None]:
    import nbformat
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    from traitlets import default

    sandbox.loopback_up()  # a network namespace from `unshare` starts with lo down; the kernel needs it
    spec = RunSpec.load(run_dir)
    env = read_json_object(run_dir / "env.json", "run environment")
    nb = nbformat.read(run_dir / "source.ipynb", as_version=4)
    if spec.language != "python":
        return "ERROR", f"the local runner runs Python only; this kernel's language is {spec.language!r}"
    if not (nb.metadata.get("kernelspec") or {}).get("name"):
        events.log("stderr", f"papermill.exceptions.PapermillException: {NO_KERNEL_NAME}\n")
        return "ERROR", (
            f"{NO_KERNEL_NAME} (Kaggle runs notebooks with papermill, which needs "
            "metadata.kernelspec: kaggle-magics adds it to the notebooks it writes)"
        )
    kernels = str(run_dir / "scratch" / "kernels")

    class KernelManager(AsyncKernelManager):  # our kernelspec (the run's venv), whatever the machine has
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self) -> KernelSpecManager:
            return KernelSpecManager(kernel_dirs=[kernels], ensure_native_kernel=False)

    current = {"index": 0, "number": 0, "start": 0.0}  # the cell running now

    def cell_execute(cell: Any, cell_index: int) -> None:
        number = client.code_cells_executed + 1
        current.update(index=cell_index, number=number, start=time.monotonic())
        events.emit("cell_start", index=cell_index, number=number)

    def cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        status = "ok" if (execute_reply or {}).get("content", {}).get("status") != "error" else "error"
        seconds = time.monotonic() - current["start"]
        started = events.now() - seconds
        number = client.code_cells_executed
        events.emit(
            "cell_end",
            index=cell_index,
            number=number,
            seconds=round(seconds, 3),
            started=round(started, 3),
            status=status,
            first_line=_first_line(cell.source),
        )
        events.log("stderr", f"[kaggle-magics] In [{number}] ran {seconds:.2f} s\n")

    class Client(NotebookClient):
        def output(self, outs: Any, msg: Any, display_id: Any, cell_index: int) -> Any:
            _log_output(events, msg)
            return super().output(outs, msg, display_id, cell_index)

    working = str(Path.cwd())
    client = Client(
        nb,
        timeout=None,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=KernelManager,
        resources={"metadata": {"path": working}},
        record_timing=True,
        on_cell_execute=cell_execute,
        on_cell_executed=cell_executed,
    )
    events.log("stderr", f"[kaggle-magics] Executing notebook with kernel: {KERNEL_NAME}\n")
    started = time.monotonic()
    status, message = "COMPLETE", None

    def kernel_ready(notebook: Any) -> None:
        events.emit("kernel", seconds=round(time.monotonic() - started, 3))

    client.on_notebook_start = kernel_ready
    try:
        client.execute(cwd=working, env=env)
    except CellExecutionError as exc:
        where = f'"In [{current["number"]}]" (notebook cell {current["index"] + 1})'
        events.log("stderr", "-" * 75 + f"\nException encountered at {where}:\n{exc.ename}: {exc.evalue}\n")
        status, message = "ERROR", f"Exception encountered at {where}: {exc.ename}: {exc.evalue}"
    except DeadKernelError as exc:
        where = f"In [{current['number']}] (notebook cell {current['index'] + 1})"
        status, message = (
            "ERROR",
            (
                f"the kernel died while running {where} ({exc}): its process was killed "
                "(out of memory, a crash, or os._exit)"
            ),
        )
    finally:
        nbformat.write(nb, run_dir / "executed.ipynb")
    return status, message


def _log_output(events: _Events, msg: dict[str, Any]) -> None:
    kind, content = msg.get("msg_type"), msg.get("content", {})
    if kind == "stream":
        events.log(content.get("name", "stdout"), content.get("text", ""))
    elif kind in ("execute_result", "display_data"):
        text = content.get("data", {}).get("text/plain")
        if text:
            events.log("stdout", text if text.endswith("\n") else text + "\n")
    elif kind == "error":
        events.log("stderr", _ANSI.sub("", "\n".join(content.get("traceback", []))) + "\n")


# -- command line (used by spawn and supervise; not a user command) ------------------------------------------
def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kaggle_magics.runner")
    sub = parser.add_subparsers(dest="command", required=True)
    sup = sub.add_parser("supervise", help="run a QUEUED run folder to its end")
    sup.add_argument("run_dir", type=Path)
    exe = sub.add_parser("execute", help="inside the sandbox: execute the notebook")
    exe.add_argument("run_dir", type=Path)
    exe.add_argument("--t0", type=float, required=True)
    args = parser.parse_args(argv)
    if args.command == "supervise":

        def stop(signum: int, frame: Any) -> None:
            raise Stopped(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, stop)
        state = supervise(args.run_dir)
        return 0 if state.get("status") == "COMPLETE" else 1
    return execute(args.run_dir, args.t0)


if __name__ == "__main__":
    sys.exit(main())
