"""The executor: inside the sandbox, it drives the kernel with nbclient and reports through events.jsonl
(outputs, cell starts and ends, the end of the run). The supervisor (:mod:`.runner`) turns that into the log
and the status."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from . import processes
from .limits import Limits
from .monitor import Monitor
from .runs import KERNEL_NAME, RunSpec
from .store import read_json_object

NO_KERNEL_NAME = "No kernel name found in notebook and no override provided."
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


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
    monitor = Monitor(Limits.from_json(RunSpec.load(run_dir).limits), Path.cwd())
    try:
        status, message = _execute(run_dir, events, monitor)
    except Exception as exc:  # reported as the run's failure, not a traceback nobody reads
        status, message = "ERROR", f"the local executor failed: {type(exc).__name__}: {exc}"
    finally:
        monitor.stop()
    events.emit("end", status=status, failure_message=message, peak_memory=monitor.peak, limit=monitor.breach)
    return 0


def _execute(run_dir: Path, events: _Events, monitor: Monitor) -> tuple[str, str | None]:
    import nbformat
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    from traitlets import default

    processes.loopback_up()  # a network namespace from `unshare` starts with lo down; the kernel needs it
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

    current: dict[str, Any] = {"index": 0, "number": 0, "start": 0.0, "sent": -1}  # the cell running now

    def cell_execute(cell: Any, cell_index: int) -> None:
        number = client.code_cells_executed + 1
        current.update(index=cell_index, number=number, start=time.monotonic(), sent=cell_index)
        monitor.cell_started()
        events.emit("cell_start", index=cell_index, number=number)

    def cell_ended(cell: Any, cell_index: int, number: int, status: str) -> None:
        seconds = time.monotonic() - current["start"]
        started = events.now() - seconds
        peak = monitor.cell_finished()
        events.emit(
            "cell_end",
            index=cell_index,
            number=number,
            seconds=round(seconds, 3),
            started=round(started, 3),
            status=status,
            first_line=_first_line(cell.source),
            peak_memory=peak,
        )
        events.log("stderr", f"[kaggle-magics] In [{number}] ran {seconds:.2f} s\n")

    class Client(NotebookClient):
        # The end of a cell is taken here rather than from the on_cell_executed hook, which nbclient 0.5.13
        # (Kaggle's image) does not have; on_cell_execute is in every version.
        async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
            current["sent"] = -1
            try:
                result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
            except CellExecutionError:
                cell_ended(cell, cell_index, client.code_cells_executed, "error")
                raise
            if current["sent"] == cell_index:  # a code cell that ran (not skipped, not empty)
                errors = any(out.get("output_type") == "error" for out in cell.get("outputs", []))
                cell_ended(cell, cell_index, client.code_cells_executed, "error" if errors else "ok")
            return result

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
    )
    events.log("stderr", f"[kaggle-magics] Executing notebook with kernel: {KERNEL_NAME}\n")
    started = time.monotonic()
    status, message = "COMPLETE", None

    def kernel_ready(notebook: Any) -> None:
        events.emit("kernel", seconds=round(time.monotonic() - started, 3))
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid:
            monitor.start(pid)

    client.on_notebook_start = kernel_ready
    try:
        client.execute(cwd=working, env=env)
    except CellExecutionError as exc:
        where = f'"In [{current["number"]}]" (notebook cell {current["index"] + 1})'
        events.log("stderr", "-" * 75 + f"\nException encountered at {where}:\n{exc.ename}: {exc.evalue}\n")
        status, message = "ERROR", f"Exception encountered at {where}: {exc.ename}: {exc.evalue}"
    except DeadKernelError as exc:
        where = f"In [{current['number']}] (notebook cell {current['index'] + 1})"
        if current["number"]:
            cell_ended(nb.cells[current["index"]], current["index"], current["number"], "error")
        status, message = "ERROR", monitor.message(where) or (
            f"the kernel died while running {where} ({exc}): its process was killed "
            "(out of memory, a crash, or os._exit)"
        )
        if monitor.breach:
            events.log("stderr", f"[kaggle-magics] {message}\n")
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
