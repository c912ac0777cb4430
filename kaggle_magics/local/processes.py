"""Process helpers of the local runner: children that die with their parent, a process tree killed whole,
the loopback interface of a fresh network namespace brought up."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable
from pathlib import Path


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when the process that started it dies (Linux prctl),
    or None where there is no prctl. libc is looked up here, before the fork: the child only calls it."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]

    def preexec() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return preexec


def confined(cpus: tuple[int, ...] = ()) -> Callable[[], None] | None:
    """A ``preexec_fn``: :func:`die_with_parent`, and the child (with all it starts) kept to ``cpus``."""
    dies = die_with_parent()
    if not cpus:
        return dies

    def preexec() -> None:
        if dies is not None:
            dies()
        os.sched_setaffinity(0, cpus)

    return preexec


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and everything below it (a Jupyter kernel runs in a session of its own, so killing a
    process group is not enough)."""
    for target in [*descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)


def loopback_up() -> bool:
    """Bring ``lo`` up (a fresh network namespace has it down; the kernel's ZMQ channels need it). True when
    it is up afterwards."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            request = struct.pack("16sh22x", b"lo", 0)
            flags = struct.unpack("16sh", fcntl.ioctl(sock, siocgifflags, request)[:18])[1]
            if flags & iff_up:
                return True
            fcntl.ioctl(sock, siocsifflags, struct.pack("16sh22x", b"lo", flags | iff_up))
            return True
    except OSError:
        return False
