"""The ``unshare`` sandbox's view of the file system, built with the kernel's own calls.

Run as ``python -I -S mountns.py PLAN.json -- COMMAND...`` by util-linux ``unshare --user --map-root-user
--mount --pid --fork ...`` (so: root of a fresh user namespace, in a private mount namespace, pid 1 of a new
pid namespace). It carries out the plan that :mod:`.sandbox` also turns into bubblewrap's arguments (the same
operations, in the same order) on a fresh tmpfs, pivots into it, gives up every capability and executes the
command. Standard library only, imported by nothing: it runs before the interpreter's folders are in place.

Plan: ``{"base": an empty host folder to work in, "ops": [[op, args...], ...], "hostname": name}``; ops are
``ro-bind SRC DST``, ``ro-bind-try SRC DST``, ``bind SRC DST``, ``tmpfs DST``, ``remount-ro DST``,
``symlink TARGET DST``, ``proc DST``, ``dev DST``, ``chdir DST`` (DST paths inside the new root).

Any failure ends it with exit code 127 and one line on stderr naming the step.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import platform
import re
import socket
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
MNT_DETACH = 2
# statvfs f_flag bits -> the mount flags a read-only remount must repeat (the kernel refuses to drop a flag
# that a less privileged mount namespace inherited locked)
_KEEP = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME, 4096: MS_RELATIME}
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217, "i686": 217}
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
OLD, NEW = "/oldroot", "/newroot"
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


class Failed(Exception):
    pass


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if _libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)) != 0:
        errno = ctypes.get_errno()
        raise Failed(f"mount {source or fstype} on {target}: {os.strerror(errno)}")


def _submounts(path: str) -> list[str]:
    """Mount points at or below ``path`` (from /proc/self/mountinfo), shortest first."""
    found = []
    with open(OLD + "/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point == path or point.startswith(path.rstrip("/") + "/"):
                found.append(point)
    return sorted(set(found), key=len)


def remount_ro(path: str) -> None:
    """Make ``path`` and every mount below it read-only, keeping the flags each already has."""
    for point in _submounts(path):
        try:
            kept = os.statvfs(point).f_flag
        except OSError:
            continue  # a mount point hidden by another mount
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        for bit, flag in _KEEP.items():
            if kept & bit:
                flags |= flag
        if not kept & (1024 | 4096):  # neither noatime nor relatime: strictatime, said as such
            flags |= MS_STRICTATIME
        mount(None, point, None, flags)


def _mount_point(source: str, target: str) -> None:
    """An empty folder or file at ``target`` to mount ``source`` on (folders made as needed)."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    elif not os.path.lexists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w"):
            pass


def bind(source: str, target: str, read_only: bool) -> None:
    _mount_point(source, target)
    mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        remount_ro(target)


def make_dev(target: str) -> None:
    """A minimal /dev, as bubblewrap makes it: a few device nodes of the host, /dev/shm, /dev/pts."""
    os.makedirs(target, exist_ok=True)
    mount("tmpfs", target, "tmpfs", MS_NOSUID, "mode=0755")
    for name in _DEVICES:
        if os.path.exists(f"{OLD}/dev/{name}"):
            bind(f"{OLD}/dev/{name}", f"{target}/{name}", read_only=False)
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                       ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")):  # fmt: skip
        os.symlink(link, f"{target}/{name}")
    os.makedirs(f"{target}/shm")
    mount("tmpfs", f"{target}/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    os.makedirs(f"{target}/pts")
    with contextlib.suppress(Failed):  # else no pseudo-terminals: nothing a batch run of a notebook needs
        mount("devpts", f"{target}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")


def make_proc(target: str) -> None:
    """A /proc of the new pid namespace, with the parts that change the host's kernel made read-only."""
    os.makedirs(target, exist_ok=True)
    mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for part in ("sys", "sysrq-trigger", "irq", "bus"):
        path = f"{target}/{part}"
        if os.path.exists(path):
            mount(path, path, None, MS_BIND | MS_REC)
            remount_ro(path)


def apply(op: list[str]) -> str | None:
    """Carry out one operation (the host's root is at /oldroot, the new root at /newroot); returns the
    folder to start in for ``chdir``."""
    kind, *args = op
    inside = NEW + args[-1]
    if kind in ("ro-bind", "ro-bind-try", "bind"):
        if kind == "ro-bind-try" and not os.path.exists(OLD + args[0]):
            return None
        bind(OLD + args[0], inside, read_only=kind != "bind")
    elif kind == "tmpfs":
        os.makedirs(inside, exist_ok=True)
        mount("tmpfs", inside, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    elif kind == "remount-ro":
        remount_ro(inside)
    elif kind == "symlink":
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        os.symlink(args[0], inside)
    elif kind == "proc":
        make_proc(inside)
    elif kind == "dev":
        make_dev(inside)
    elif kind == "chdir":
        return args[0]
    else:
        raise Failed(f"unknown operation {kind!r}")
    return None


def pivot_root(new_root: str, put_old: str) -> None:
    number = _PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise Failed(f"pivot_root: no system call number known for {platform.machine()}")
    if _libc.syscall(number, _bytes(new_root), _bytes(put_old)) != 0:
        raise Failed(f"pivot_root to {new_root}: {os.strerror(ctypes.get_errno())}")


def drop_privileges() -> None:
    """No capability survives the exec: the bounding and ambient sets emptied, the inheritable set cleared,
    and no way back (no_new_privs). Root of the namespace remains uid 0 with no more power than any user."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:  # EINVAL: no such
            raise Failed(f"drop capability {cap}: {os.strerror(ctypes.get_errno())}")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]

    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if _libc.capget(ctypes.byref(header), data) != 0:
        raise Failed(f"capget: {os.strerror(ctypes.get_errno())}")
    for half in data:
        half.inheritable = 0
    if _libc.capset(ctypes.byref(header), data) != 0:
        raise Failed(f"capset: {os.strerror(ctypes.get_errno())}")
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise Failed(f"no_new_privs: {os.strerror(ctypes.get_errno())}")


def loopback_up() -> None:
    """Bring ``lo`` up: a fresh network namespace has it down, and the kernel's ZMQ channels need it (this
    needs the capability that is dropped below)."""
    import fcntl
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, siocgifflags, request)[:18])[1]
        if not flags & iff_up:
            fcntl.ioctl(sock, siocsifflags, struct.pack("16sh22x", b"lo", flags | iff_up))


def build(plan: dict) -> str:
    """Build the view of ``plan`` and enter it; returns the folder to start in.

    As bubblewrap does it: a tmpfs becomes the root first, with the host's root under /oldroot (so no bind of
    a host folder can catch the new root inside it) and the new root at /newroot; the operations run there;
    then /newroot becomes the root and the host's is let go.
    """
    base = plan["base"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host
    mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.makedirs(base + NEW)
    mount("tmpfs", base + NEW, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.makedirs(base + OLD)
    pivot_root(base, base + OLD)
    os.chdir("/")
    start = "/"
    for op in plan["ops"]:
        start = apply(op) or start
    os.chdir(NEW)
    pivot_root(".", ".")  # the new root stacked over the old one (pivot_root(2)), which is then detached
    if _libc.umount2(b".", MNT_DETACH) != 0:
        raise Failed(f"let go of the host's root: {os.strerror(ctypes.get_errno())}")
    os.chdir("/")
    if plan.get("hostname"):
        socket.sethostname(plan["hostname"])
    loopback_up()
    return start


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: mountns.py PLAN.json -- COMMAND...", file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as handle:
            plan = json.load(handle)
        start = build(plan)
        os.chdir(start)
        with contextlib.suppress(OSError):  # (unless it leads one already)
            os.setsid()  # a session of its own, as bubblewrap's --new-session: no way to the caller's terminal
        drop_privileges()
    except (Failed, OSError) as exc:
        print(f"kaggle-magics sandbox: cannot build the run's view: {exc}", file=sys.stderr)
        return 127
    command = argv[2:]
    try:
        os.execv(command[0], command)
    except OSError as exc:
        print(f"kaggle-magics sandbox: cannot start {command[0]}: {exc.strerror}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
