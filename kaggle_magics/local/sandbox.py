"""The box a local run executes in, laid out like a Kaggle session.

Three ways, best first (``$KAGGLE_MAGICS_SANDBOX`` = ``auto`` | ``bwrap`` | ``unshare`` | ``none``):

``bwrap``
    bubblewrap (Debian/Ubuntu package ``bubblewrap``) builds a private mount namespace as an ordinary user.
``unshare``
    util-linux ``unshare`` (user + mount + network + pid namespaces, on every Linux) and :mod:`.mountns`,
    which builds the same view with the kernel's mount calls.

Both show the same view, described once by :func:`view`: the host's system folders read-only (``/usr``,
``/etc``, ...: home and project folders stay out, but for the folders the interpreter is read from), a fresh
``/kaggle`` with every input read-only where Kaggle mounts it (:mod:`kaggle_magics.inputs`) and the output
folder at ``/kaggle/working``, a private ``/tmp``, the CPUs the run may use as ``/sys/devices/system/cpu/online``
(so ``os.cpu_count()`` agrees), the machine's Kaggle credentials hidden (:mod:`.credentials`), and, with
internet off, a network namespace of its own (only a loopback that reaches nothing of the host) and an empty
``/run`` (where the host's daemons keep their Unix sockets, which no network namespace cuts). Code that uses
the literal ``/kaggle/...`` paths works, nothing outside the run's folders can be written, and no capability
is left to undo it.

``none``
    no namespaces (macOS, locked-down containers): inputs are a folder of links and outputs a folder, whose
    paths are in ``$KAGGLE_MAGICS_INPUT_ROOT`` and ``$KAGGLE_MAGICS_WORKING_DIR`` (``kaggle_magics.runtime``
    reads them); the network stays on, and what the run could still read is said in its notes. ``unshare``
    falls back to this layout (with the network still cut) where the namespaces work but the view cannot be
    built.

Every mode but ``none`` needs unprivileged user namespaces (``/proc/sys/user/max_user_namespaces`` > 0; on
Ubuntu 24.04 also AppArmor's permission for bwrap/unshare), which ordinary Linux machines allow.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..errors import ConfigError
from . import credentials

MODES = ("bwrap", "unshare", "none")
KAGGLE_INPUT = "/kaggle/input"
KAGGLE_WORKING = "/kaggle/working"
CPU_ONLINE = "/sys/devices/system/cpu/online"
# The host's system folders, shown read-only in the box. The rest (homes, project folders, mounts) stays out,
# as on Kaggle, except the folders the interpreter and the run need, which are added one by one.
_SYSTEM = ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "opt", "var", "run", "nix", "snap")
_UNSHARE = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child"]
_MOUNTNS = str(Path(__file__).with_name("mountns.py"))

Op = tuple[str, ...]


@dataclass
class Layout:
    """What a run needs, in host paths."""

    inputs: dict[str, Path]  # path under the input root ("datasets/me/data", "competitions/c/test.csv") -> host
    working: Path  # becomes /kaggle/working (the output)
    scratch: Path  # private /tmp and HOME live here; removed after the run
    rw_paths: list[Path] = field(default_factory=list)  # visible and writable at the same path (the run folder)
    internet: bool = False
    cpus: tuple[int, ...] = ()  # the CPUs the run may use, as /sys/devices/system/cpu/online says (empty: all)
    ro_paths: list[Path] = field(default_factory=list)  # visible read-only at the same path (the image twin)


@dataclass
class Sandbox:
    """How to start a command inside the box, and what the run sees."""

    mode: str
    argv: list[str]  # prefix to put before the command
    input_root: str
    working_dir: str
    tmp_dir: str
    env: dict[str, str]  # variables the run needs (only without /kaggle: where inputs and output are)
    network_cut: bool
    kaggle_paths: bool
    notes: list[str] = field(default_factory=list)
    cpu_count_shown: bool = False  # os.cpu_count() in the run counts only the run's CPUs


# -- which mode ----------------------------------------------------------------------------------------------
@functools.cache
def probe(mode: str) -> bool:
    """Whether ``mode`` works on this machine (a real trial run, a few milliseconds, cached)."""
    if mode == "none":
        return True
    if mode == "bwrap":
        argv = ["bwrap", "--unshare-user", "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/",
                "--proc", "/proc", "--dev", "/dev", "true"]  # fmt: skip
    elif mode == "unshare":
        argv = [*_UNSHARE, "--net", "--mount-proc", "true"]
    else:
        return False
    if shutil.which(argv[0]) is None:
        return False
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@functools.cache
def unshare_view_problem() -> str | None:
    """Why :mod:`.mountns` cannot build the view here (a real trial, cached), or None when it can."""
    with tempfile.TemporaryDirectory(prefix="kaggle-magics-probe-") as tmp:
        scratch = Path(tmp)
        (scratch / "working").mkdir()
        layout = Layout(inputs={}, working=scratch / "working", scratch=scratch)
        argv = _unshare_argv(layout, _tmp(layout))
        try:
            done = subprocess.run([*argv, "/bin/true"], stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=20, check=False)  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            return str(exc)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


def choose_mode(requested: str | None = None) -> str:
    """The sandbox mode to use: ``requested`` or ``$KAGGLE_MAGICS_SANDBOX`` if set (and it must work), else
    the best that works here."""
    name = (requested or os.environ.get(config.ENV_SANDBOX) or "auto").strip().lower()
    if name == "auto":
        return next(mode for mode in MODES if probe(mode))
    if name not in MODES:
        raise ConfigError(f"{config.ENV_SANDBOX}={name!r} is not a sandbox mode", hint="use auto, " + ", ".join(MODES))
    if not probe(name):
        raise ConfigError(
            f"sandbox mode {name!r} does not work on this machine",
            hint=_install_hint(name) + f"; or unset {config.ENV_SANDBOX} to pick what works",
        )
    return name


def _install_hint(mode: str) -> str:
    if mode == "bwrap":
        return "install bubblewrap (apt-get install bubblewrap) and allow unprivileged user namespaces"
    return "allow unprivileged user namespaces (util-linux unshare --user --net must work)"


# -- the view ------------------------------------------------------------------------------------------------
def build(layout: Layout, mode: str | None = None) -> Sandbox:
    """The box for ``layout`` in ``mode`` (default: :func:`choose_mode`). Creates the scratch folders."""
    mode = choose_mode(mode)
    tmp = _tmp(layout)
    cut = not layout.internet
    notes = [f"network cut ({mode} network namespace): nothing outside the run answers"] if cut else []
    if mode == "bwrap":
        argv = _bwrap_argv(layout, tmp)
    elif mode == "unshare" and unshare_view_problem() is None:
        argv = _unshare_argv(layout, tmp)
    else:
        return _without_view(layout, mode, tmp)
    env: dict[str, str] = {}
    return Sandbox(mode, argv, KAGGLE_INPUT, KAGGLE_WORKING, "/tmp", env, cut, True, notes, bool(layout.cpus))


def _tmp(layout: Layout) -> Path:
    tmp = layout.scratch / "tmp"
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    return tmp


def view(layout: Layout, tmp: Path) -> list[Op]:
    """The run's file system, as operations in order (bubblewrap's options; :mod:`.mountns` carries out the
    same list)."""
    ops: list[Op] = []
    system = [Path("/", name) for name in _SYSTEM if Path("/", name).exists()]
    shown = []
    for entry in system:
        if entry.is_symlink():
            ops.append(("symlink", os.readlink(entry), str(entry)))
        elif entry == Path("/run") and not layout.internet:
            # The host's daemons listen on Unix sockets here (docker, databases, the session bus), which a
            # network namespace does not cut: offline, the run gets an empty /run.
            ops.append(("tmpfs", str(entry)))
        else:
            ops.append(("ro-bind", str(entry), str(entry)))
            shown.append(entry.resolve())
    ops += [("proc", "/proc"), ("dev", "/dev"), ("ro-bind-try", "/sys", "/sys"), ("bind", str(tmp), "/tmp")]
    if layout.cpus and Path(CPU_ONLINE).exists():
        online = layout.scratch / "cpu-online"
        online.write_text(cpu_list(layout.cpus) + "\n", encoding="ascii")
        ops.append(("ro-bind", str(online), CPU_ONLINE))
    # What the interpreter, this package and the run read from outside the system folders (a venv in a home
    # folder, a source checkout, a private /tmp's host counterpart), each once.
    for path in [*_interpreter_paths(), *(p.resolve() for p in layout.ro_paths)]:
        if path.exists() and not credentials.visible(path, shown):
            ops.append(("ro-bind", str(path), str(path)))
            shown.append(path)
    for path in layout.rw_paths:
        ops.append(("bind", str(path), str(path)))
        shown.append(path.resolve())
    # Credentials that those folders would show (kaggle.json under a home folder on sys.path, a
    # KAGGLE_CONFIG_DIR under /etc or /opt, kagglehub's cache): hidden under an empty folder or file.
    empty = layout.scratch / "empty"
    for secret in credentials.host_paths():
        if credentials.visible(secret, shown):
            if secret.is_dir():
                ops += [("tmpfs", str(secret)), ("remount-ro", str(secret))]
            else:
                empty.touch()
                ops.append(("ro-bind", str(empty), str(secret)))
    ops.append(("tmpfs", KAGGLE_INPUT))  # a mount of its own, so that it alone can be made read-only below
    for name, host in sorted(layout.inputs.items(), key=lambda item: Path(item[0]).parts):
        ops.append(("ro-bind", str(host), f"{KAGGLE_INPUT}/{name}"))
    ops += [("remount-ro", KAGGLE_INPUT), ("bind", str(layout.working), KAGGLE_WORKING), ("chdir", KAGGLE_WORKING)]
    return ops


def _bwrap_argv(layout: Layout, tmp: Path) -> list[str]:
    argv = ["bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "kaggle",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL"]  # fmt: skip
    if not layout.internet:
        argv.append("--unshare-net")  # bwrap brings the new namespace's loopback up
    for kind, *args in view(layout, tmp):
        argv += [f"--{kind}", *args]
    return [*argv, "--"]


def _unshare_argv(layout: Layout, tmp: Path) -> list[str]:
    base = layout.scratch / "view"
    base.mkdir(exist_ok=True)
    plan = {"base": str(base), "ops": view(layout, tmp), "hostname": "kaggle"}
    path = layout.scratch / "view.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    argv = [*_UNSHARE, "--uts", "--ipc", *([] if layout.internet else ["--net"])]
    return [*argv, "--", sys.executable, "-I", "-S", _MOUNTNS, str(path), "--"]


def _without_view(layout: Layout, mode: str, tmp: Path) -> Sandbox:
    """No mount namespace: inputs are a folder of links at a host path, told through the environment."""
    input_root = layout.scratch / "input"
    link_inputs(layout.inputs, input_root)
    env = {config.ENV_INPUT_ROOT: str(input_root), config.ENV_WORKING_DIR: str(layout.working)}
    notes = []
    if mode == "unshare":
        notes.append(f"the unshare sandbox could not build /kaggle here ({unshare_view_problem()})")
    notes += [
        f"no /kaggle paths in this run (sandbox {mode}): inputs are under {input_root} and the output folder "
        f"is {layout.working} (${config.ENV_INPUT_ROOT}, ${config.ENV_WORKING_DIR}); a machine with "
        "unprivileged user namespaces (bubblewrap or util-linux unshare) gives a run that sees /kaggle/input "
        "and /kaggle/working",
        "inputs are not read-only in this run (no mount namespace)",
    ]
    secrets = credentials.host_paths()
    if secrets:
        notes.append(
            "credentials: no mount namespace hides this machine's files from the run, so a notebook that opens "
            "them by their full path can read " + ", ".join(str(p) for p in secrets) + " (its HOME is a fresh "
            "folder and no KAGGLE_* variable reaches it, so ~/.kaggle and the official clients find nothing)"
        )
    argv: list[str] = []
    cut = False
    if not layout.internet:
        if mode == "unshare":
            argv, cut = [*_UNSHARE, "--net", "--mount-proc", "--"], True
            notes.insert(0, "network cut (unshare network namespace): nothing outside the run answers")
        else:
            why = (
                f"{config.ENV_SANDBOX}=none was asked for; unset it to cut the network"
                if probe("unshare") or probe("bwrap")
                else "no network namespace is possible here (" + _install_hint("unshare") + ")"
            )
            notes.insert(0, f"WARNING: internet is off in the metadata but the network is NOT cut in this run: {why}")
    return Sandbox(mode, argv, str(input_root), str(layout.working), str(tmp), env, cut, False, notes)


def link_inputs(inputs: dict[str, Path], root: Path) -> None:
    """``root`` as a folder of links to the inputs. An input with another mounted inside it (a hidden test
    file over the competition's) becomes a real folder of links to its entries, the replaced one relinked."""
    names = sorted(inputs, key=lambda name: Path(name).parts)
    for name in names:
        link, host = root / name, inputs[name].resolve()
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():  # an entry of its parent's folder of links: replaced
            link.unlink()
        if any(other.startswith(name + "/") for other in names):
            link.mkdir()
            for entry in sorted(host.iterdir()):
                (link / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        else:
            link.symlink_to(host, target_is_directory=host.is_dir())


def cpu_list(cpus: tuple[int, ...] | list[int]) -> str:
    """``0-3,6`` for CPUs 0, 1, 2, 3 and 6 (the kernel's format for /sys/devices/system/cpu/online)."""
    ranges: list[list[int]] = []
    for cpu in sorted(set(cpus)):
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)


def _interpreter_paths() -> list[Path]:
    """Folders the current interpreter and kaggle_magics are read from."""
    import kaggle_magics

    paths = {
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.executable).resolve().parent,
        Path(kaggle_magics.__file__).resolve().parent.parent,
    }
    # A venv's python may reach the real one through links in other folders (venv/bin/python3 ->
    # ~/bin/python3 -> /usr/bin/python3.11): each link of the chain must be there for the exec to work.
    link, seen = Path(sys.executable), 0
    while link.is_symlink() and seen < 40:
        paths.add(link.parent)
        link, seen = link.parent / os.readlink(link), seen + 1
    paths.update(Path(p) for p in site.getsitepackages())
    paths.update(Path(p) for p in sys.path if p and Path(p).is_dir())
    paths.update(Path(p) for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p)
    return sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts))
