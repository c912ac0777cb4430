"""Inside a run: the kernel's memory and the size of ``/kaggle/working``, measured as the run goes and
enforced against its :class:`~.limits.Limits`.

Memory is what the kernel and every process below it hold: their resident size (``/proc/PID/statm``, a
few microseconds to read), looked at every 0.1 s and at each cell's start and end. When several processes
share pages (forked workers), the sum of resident sizes counts a shared page more than once, so their
proportional set size (PSS, ``/proc/PID/smaps_rollup``, which costs about 12 ms per GB to read) is read now and
then to correct it, and always before a kernel is stopped: past the limit the kernel's processes are killed
and the run ends naming the limit and the cell. No cgroup is needed (none can be made by an ordinary user on
most machines), so it works wherever ``/proc`` does; the price is that an allocation faster than a tenth of a
second can go past the limit before it is stopped. The output folder's disk use is walked every second or so
(less often when walking it takes long).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

from .limits import Limits, size

INTERVAL = 0.1  # seconds between two looks at the kernel's memory
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (from each thread's ``children`` list in /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as handle:
                    todo += [int(child) for child in handle.read().split()]
            except (OSError, ValueError):
                continue
    return found


def resident(pid: int) -> int:
    """The resident size of ``pid`` in bytes (0 for a process that is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def proportional(pid: int) -> int:
    """The PSS of ``pid`` in bytes: its pages, a shared one split among those that share it (its resident size
    where smaps_rollup is missing)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resident(pid)


def tree_memory(pid: int, exact: bool = False) -> int:
    """What ``pid`` and its processes hold: resident sizes, or (``exact``, and only where several processes
    could share pages) proportional ones."""
    pids = process_tree(pid)
    measure = proportional if exact and len(pids) > 1 else resident
    return sum(measure(p) for p in pids)


def folder_size(folder: Path) -> int:
    """The disk space the files under ``folder`` take, as ``du`` counts it (allocated blocks: a sparse file
    counts what it holds; a file with several links once; symlinks not followed)."""
    total, seen = 0, set()
    todo = [str(folder)]
    while todo:
        try:
            entries = os.scandir(todo.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        info = entry.stat(follow_symlinks=False)
                        if (info.st_dev, info.st_ino) not in seen:
                            seen.add((info.st_dev, info.st_ino))
                            total += info.st_blocks * 512
                except OSError:
                    continue
    return total


class Monitor:
    """Watches the kernel's process tree and the output folder in a thread; stops the kernel past a limit.

    ``breach`` then says which limit and how much was used (the executor names the cell)."""

    def __init__(self, limits: Limits | None, working: Path, interval: float = INTERVAL):
        self.limits = limits
        self.working = working
        self.interval = interval
        self.pid: int | None = None
        self.peak = 0  # the run's peak memory
        self.cell_peak = 0  # the peak of the cell running now
        self.breach: str | None = None  # "memory" | "disk"
        self.used = 0  # what the breached limit measured
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._disk_due = 0.0
        self._exact_due = 0.0
        self._share = 1.0  # exact / resident, as the last exact look found it

    def start(self, pid: int) -> None:
        self.pid = pid
        self._thread = threading.Thread(target=self._watch, name="kaggle-magics-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def cell_started(self) -> None:
        with self._lock:
            self.cell_peak = 0
        self.sample()

    def cell_finished(self) -> int:
        """The peak memory of the cell that just ended."""
        self.sample()
        return self.cell_peak

    def sample(self) -> int:
        """One look at the kernel's memory now (and the limit enforced). With several processes, their
        resident sizes are scaled by what the last exact look found of them; an exact look is taken when due,
        and before the kernel is stopped."""
        if self.pid is None:
            return 0
        pids = process_tree(self.pid)
        fast = sum(resident(p) for p in pids)
        now = time.monotonic()
        shared = len(pids) > 1
        exact = self._exact(fast, now) if shared and now >= self._exact_due else None
        used = exact if exact is not None else int(fast * (self._share if shared else 1.0))
        if self.limits is not None and used > self.limits.memory and shared and exact is None:
            used = self._exact(fast, now)  # never stopped on an estimate
        with self._lock:
            self.peak = max(self.peak, used)
            self.cell_peak = max(self.cell_peak, used)
        if self.limits is not None and used > self.limits.memory:
            self._stop_kernel("memory", used)
        return used

    def _exact(self, fast: int, now: float) -> int:
        assert self.pid is not None
        exact = tree_memory(self.pid, exact=True)
        took = time.monotonic() - now
        self._share = min(1.0, exact / fast) if fast else 1.0
        self._exact_due = time.monotonic() + max(1.0, 20 * took)  # at most 5% of the time spent looking
        return exact

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()
            now = time.monotonic()
            if self.limits is not None and now >= self._disk_due:
                written = folder_size(self.working)
                took = time.monotonic() - now
                self._disk_due = time.monotonic() + max(1.0, 20 * took)
                if written > self.limits.working:
                    self._stop_kernel("disk", written)

    def _stop_kernel(self, limit: str, used: int) -> None:
        with self._lock:
            if self.breach is not None or self.pid is None:
                return
            self.breach, self.used = limit, used
            pids = process_tree(self.pid)
        for pid in reversed(pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def message(self, where: str) -> str | None:
        """The run's failure message for the breached limit, naming ``where`` (the cell), or None."""
        if self.breach is None or self.limits is None:
            return None
        if self.breach == "memory":
            return (
                f"out of memory in {where}: {size(self.used)} used, this machine allows "
                f"{size(self.limits.memory)} ({self.limits.memory_source()})"
            )
        return (
            f"/kaggle/working is full in {where}: {size(self.used)} written, this machine allows "
            f"{size(self.limits.working)}"
        )
