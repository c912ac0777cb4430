"""Run a notebook the way Kaggle runs a committed version: a real Jupyter kernel, in a box laid out like a
Kaggle session, timed cell by cell.

Two processes: the *supervisor* (on the host; in the background for a pushed kernel, in the foreground for
``rehearse``) prepares the kernel's environment (:mod:`.environment`: a throwaway venv over the image twin
chosen before the run, so ``pip install`` in a notebook never reaches anything else), starts the *executor*
(:mod:`.executor`) inside the sandbox (:mod:`.sandbox`), enforces the session timeout, and is the only writer
of status.json and log.json (the run folder is described in :mod:`.runs`). A supervisor that dies is noticed
by the next status read (its pid is gone).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import environment, processes, sandbox, scorer
from .limits import Limits, cpu_plan, memory_notes
from .monitor import folder_size
from .runs import CellTiming, RunSpec, proc_start, set_status
from .store import locked, read_json_object, write_json

_LOG_EVERY = 1.0  # seconds between rewrites of log.json while a run goes on


# -- the supervisor ------------------------------------------------------------------------------------------
def spawn(run_dir: Path) -> int:
    """Start the supervisor of ``run_dir`` as a detached process (its own session: it outlives the caller,
    e.g. a CLI that exits right after the push). Returns its pid."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [environment.package_parent(), env.get("PYTHONPATH")]))
    with open(run_dir / "runner.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kaggle_magics.local.runner", "supervise", str(run_dir)],
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
            state.update(runner_pid=proc.pid, runner_start=proc_start(proc.pid))
            write_json(run_dir / "status.json", state)
    return proc.pid


class Stopped(Exception):
    """The supervisor was asked to stop (SIGTERM, SIGHUP): the run ends as CANCEL_ACKNOWLEDGED."""


class _Tail:
    """Reads events.jsonl as the executor appends to it; builds log.json; reports finished cells and, to
    ``on_output``, each log entry (what the cells print, as Kaggle's log records it) as it arrives."""

    def __init__(
        self,
        run_dir: Path,
        on_cell: Callable[[CellTiming], None] | None,
        log: list[dict[str, Any]],
        on_output: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.path = run_dir / "events.jsonl"
        self.log_path = run_dir / "log.json"
        self.on_cell = on_cell
        self.on_output = on_output
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
            entry = {"stream_name": event["stream"], "time": round(event["time"], 3), "data": event["data"]}
            self.log.append(entry)
            self.dirty = True
            if self.on_output:
                self.on_output(entry)
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
    run_dir: Path,
    on_cell: Callable[[CellTiming], None] | None = None,
    *,
    sandbox_mode: str | None = None,
    on_output: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the QUEUED run in ``run_dir`` to its end and return its final status. Used in the background (by
    ``python -m kaggle_magics.local.runner supervise``) and in the foreground (``rehearse``, with ``on_cell``
    and ``on_output``, which gets each log entry as it arrives)."""
    run_dir = Path(run_dir).resolve()
    spec = RunSpec.load(run_dir)
    t0 = time.time()
    set_status(
        run_dir,
        status="RUNNING",
        started_at=t0,
        runner_pid=os.getpid(),
        runner_start=proc_start(os.getpid()),
        internet=spec.internet,
        timeout=spec.timeout,
    )
    scratch = run_dir / "scratch"
    log: list[dict[str, Any]] = []
    tail = _Tail(run_dir, on_cell, log, on_output)
    proc: subprocess.Popen[bytes] | None = None
    final: dict[str, Any]
    try:
        limits = Limits.from_json(spec.limits) or Limits.for_shape(None, timeout=spec.timeout)
        cpus, limit_notes = cpu_plan(limits)
        kernel = environment.kernel_environment(run_dir, scratch)  # the image twin (or the user's packages)
        venv = kernel.venv
        layout = sandbox.Layout(
            inputs={name: Path(host) for name, host in spec.inputs.items()},
            working=run_dir / "output",
            scratch=scratch,
            rw_paths=[run_dir],
            internet=spec.internet,
            cpus=cpus,
            ro_paths=kernel.read_only,
        )
        box = sandbox.build(layout, sandbox_mode)
        limit_notes += memory_notes(limits)
        shown = os.cpu_count() or 0
        if cpus and not box.cpu_count_shown and shown != len(cpus):
            limit_notes.append(
                f"os.cpu_count() says {shown} in this run (no mount namespace to make it say {len(cpus)}); "
                f"os.sched_getaffinity() and joblib see the run's {len(cpus)}"
            )
        notes = [*box.notes, *kernel.notes, f"limits of {limits}", *limit_notes]
        set_status(
            run_dir,
            sandbox=box.mode,
            network_cut=box.network_cut,
            kaggle_paths=box.kaggle_paths,
            notes=notes,
            limits=str(limits),
        )
        for note in notes:
            log.append({"stream_name": "stderr", "time": 0.0, "data": f"[kaggle-magics] {note}\n"})
        environment.write_kernelspec(scratch / "kernels", venv)
        kernel_env = environment.kernel_env(box, venv, kernel.path, kernel.variables, internet=spec.internet)
        write_json(run_dir / "env.json", kernel_env)
        (run_dir / "events.jsonl").write_bytes(b"")
        argv = [
            *box.argv,
            sys.executable,
            "-m",
            "kaggle_magics.local.runner",
            "execute",
            str(run_dir),
            "--t0",
            repr(t0),
        ]
        env = {
            **kernel_env,
            "PYTHONPATH": environment.package_parent() or os.environ.get("PYTHONPATH", ""),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PATH": os.environ.get("PATH", os.defpath),
        }
        with open(run_dir / "executor.log", "wb") as errors:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=subprocess.STDOUT,
                cwd=run_dir if box.kaggle_paths else box.working_dir,
                env=env,
                start_new_session=True,
                preexec_fn=processes.confined(cpus),
            )
        deadline = t0 + spec.timeout
        while proc.poll() is None:
            tail.poll()
            tail.flush()
            if time.time() > deadline:
                processes.kill_tree(proc.pid)
                proc.wait()
                break
            time.sleep(0.1)
        tail.poll()
        final = _final_state(run_dir, spec, tail, proc.returncode, timed_out=time.time() > deadline)
        if tail.end is not None:
            final["peak_memory"] = tail.end.get("peak_memory")
        if final["status"] == "COMPLETE":
            final.update(_score(run_dir, spec))
    except (KeyboardInterrupt, Stopped) as exc:
        if proc is not None:
            processes.kill_tree(proc.pid)
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
            processes.kill_tree(proc.pid)
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        final = {"status": "ERROR", "failure_message": f"the local runner failed: {message}"}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    end = time.time()
    final["output_size"] = folder_size(run_dir / "output")
    check = final.get("submission_check") or {}
    for line in filter(None, [
        final.get("failure_message") and f"{final['status']}: {final['failure_message']}",
        check and f"submission check: {check['text']}",
        check.get("hint"),
    ]):  # fmt: skip
        stamp = int((end - t0) * 1000) / 1000  # never after the runtime
        log.append({"stream_name": "stderr", "time": stamp, "data": f"[kaggle-magics] {line}\n"})
    tail.dirty = True
    tail.flush(force=True)
    final.update(finished_at=end, runtime_seconds=end - t0)
    return set_status(run_dir, **final)


def _score(run_dir: Path, spec: RunSpec) -> dict[str, Any]:
    """The scorer's verdict on a competition kernel's submission.csv (nothing for other kernels)."""
    scoring = scorer.Scoring.from_json(spec.scoring)
    if scoring is None:
        return {}
    sample = Path(scoring.sample) if scoring.sample else None
    verdict = scorer.check(run_dir / "output" / scorer.SUBMISSION, sample, columns_only=scoring.columns_only)
    return {"submission_check": verdict.to_json()}


def _final_state(
    run_dir: Path, spec: RunSpec, tail: _Tail, returncode: int | None, *, timed_out: bool
) -> dict[str, Any]:
    if tail.end is not None and not timed_out:
        return {"status": tail.end["status"], "failure_message": tail.end.get("failure_message")}
    where = tail.running()
    if timed_out:
        return {
            "status": "ERROR",
            "failure_message": (f"the run exceeded its session timeout of {spec.timeout} s and was stopped{where}"),
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


# -- command line (used by spawn and supervise; not a user command) ------------------------------------------
def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kaggle_magics.local.runner")
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
    from .executor import execute

    return execute(args.run_dir, args.t0)


if __name__ == "__main__":
    sys.exit(main())
