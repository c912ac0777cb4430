"""Kaggle's limits for a run, from its machine shape, and what this machine can do of them.

A Kaggle session on the CPU machine has 30 GB of memory and 4 CPUs; the P100 and T4 machines 29 GB and 4 CPUs;
a TPU VM 330 GB and 96 CPUs; every machine 20 GB of ``/kaggle/working`` and a 12 h session (9 h on TPUs).
A local run gets the same (``rehearse --memory GB`` and ``--timeout`` change two of them) and is stopped,
naming the limit and the cell, past one (:mod:`.monitor` watches inside the run).

What cannot be the same is said, never pretended: fewer CPUs here than the machine has, less memory here
than its limit.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

GB = 1 << 30  # Kaggle's "GB" of memory and disk
WORKING_GB = 20
SESSION_HOURS = 12
RERUN_HOURS = 9  # a code competition's scoring rerun, typically (some competitions set less)


@dataclass(frozen=True)
class Machine:
    """What Kaggle gives one machine shape."""

    label: str
    memory_gb: float
    cpus: int
    session_hours: float = SESSION_HOURS


CPU = Machine("the CPU machine", 30, 4)
_GPU = Machine("the {} machine", 29, 4)
_TPU_VM = Machine("the TPU VM", 330, 96, 9)
_KNOWN = {"NvidiaTeslaP100": _GPU, "NvidiaTeslaT4": _GPU, "TpuV38": _TPU_VM, "Tpu1VmV38": _TPU_VM}


def machine(shape: str | None) -> tuple[Machine, str | None]:
    """The machine of ``shape`` (None: the CPU machine) and a note when its limits are a guess."""
    if not shape:
        return CPU, None
    known = _KNOWN.get(shape)
    if known is not None:
        return Machine(known.label.format(shape), known.memory_gb, known.cpus, known.session_hours), None
    like = _TPU_VM if shape.startswith("Tpu") else _GPU
    guess = Machine(f"the {shape} machine", like.memory_gb, like.cpus, like.session_hours)
    family = "the TPU VM's" if like is _TPU_VM else "the P100 and T4 machines'"
    return guess, (
        f"Kaggle publishes no limits for {shape}: the run gets {family} ({like.memory_gb:g} GB, {like.cpus} CPUs)"
    )


@dataclass
class Limits:
    """A run's limits, as stored in its spec.json."""

    machine: str  # "the CPU machine", "the NvidiaTeslaT4 machine"
    memory: int  # bytes
    cpus: int
    working: int  # bytes of /kaggle/working
    timeout: int  # seconds
    memory_flag: bool = False  # set by --memory rather than by the machine
    rerun: bool = False  # the session is a competition's scoring rerun's, not an interactive one's

    @classmethod
    def for_shape(
        cls,
        shape: str | None,
        *,
        memory_gb: float | None = None,
        timeout: int | None = None,
        cpus: int | None = None,
        working_gb: float | None = None,
        competition: bool = False,
    ) -> Limits:
        """The limits of ``shape``'s machine; each keyword replaces one of them. A ``competition`` kernel is
        rehearsed as Kaggle scores it: its session is the scoring rerun's (9 h, not 12 h), unless ``timeout``."""
        box, _ = machine(shape)
        rerun = competition and not timeout
        if rerun:
            timeout = int(min(box.session_hours, RERUN_HOURS) * 3600)
        memory = memory_gb if memory_gb is not None else box.memory_gb
        return cls(
            machine=box.label,
            memory=int(memory * GB),
            cpus=cpus or box.cpus,
            working=int((working_gb if working_gb is not None else WORKING_GB) * GB),
            timeout=timeout or int(box.session_hours * 3600),
            memory_flag=memory_gb is not None,
            rerun=rerun,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Limits | None:
        return cls(**data) if data else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def memory_source(self) -> str:
        return "--memory" if self.memory_flag else self.machine

    def __str__(self) -> str:
        return (
            f"{self.machine}: {size(self.memory)} of memory{' (--memory)' if self.memory_flag else ''}, "
            f"{self.cpus} CPUs, /kaggle/working {size(self.working)}, session {duration(self.timeout)}"
            + (" (a competition's scoring rerun)" if self.rerun else "")
        )


def cpu_plan(limits: Limits) -> tuple[tuple[int, ...], list[str]]:
    """The CPUs the run gets (the first of those this process may use) and a note when there are fewer."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return (), [f"CPUs not limited to {limits.cpus} (no CPU affinity on this system)"]
    chosen = tuple(available[: limits.cpus])
    notes = []
    if len(chosen) < limits.cpus:
        notes.append(
            f"this machine has {len(chosen)} CPUs for the run, fewer than the {limits.cpus} of {limits.machine}: "
            f"code sees {len(chosen)} (os.cpu_count(), joblib) and may run slower than on Kaggle"
        )
    return chosen, notes


def memory_notes(limits: Limits) -> list[str]:
    """A note when this machine has less memory than the limit (a run may fail here first), or cannot measure
    a process's memory at all (then the limit is not enforced, and the note says so)."""
    if not os.path.exists(f"/proc/{os.getpid()}/statm"):
        return [f"the memory limit ({size(limits.memory)}) is not enforced: this system has no /proc to measure it"]
    total = host_memory()
    if total is not None and total < limits.memory:
        return [
            f"this machine has {size(total)} of memory, less than the {size(limits.memory)} {limits.memory_source()}"
            f" allows: a run that needs more than {size(total)} fails here, not on Kaggle"
        ]
    return []


def host_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def size(count: float | None) -> str:
    """Bytes as Kaggle writes them: ``1.6 GB``, ``20 GB``, ``340 MB``, ``12 KB``."""
    if count is None:
        return "-"
    for unit, scale in (("GB", GB), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f} {unit}" if value >= 100 or value == int(value) else f"{value:.1f} {unit}"
    return f"{int(count)} bytes"


def duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
