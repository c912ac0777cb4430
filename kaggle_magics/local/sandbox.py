"""The box a local run executes in, laid out like a Kaggle session.

Three ways, best first (``$KAGGLE_MAGICS_SANDBOX`` = ``auto`` | ``bwrap`` | ``unshare`` | ``none``):

``bwrap``
    bubblewrap (Debian/Ubuntu package ``bubblewrap``) builds a private mount namespace as an ordinary user:
    the host's system folders read-only (``/usr``, ``/etc``, ...: home and project folders stay out, but for
    the folders the interpreter is read from), a fresh ``/kaggle`` with every input read-only under
    ``/kaggle/input/<name>`` and the output folder at ``/kaggle/working``, a private ``/tmp``, and, with
    internet off, a network namespace of its own (only a loopback that reaches nothing of the host) and an
    empty ``/run`` (where the host's daemons keep their Unix sockets, which no network namespace cuts). Code
    that uses the literal ``/kaggle/...`` paths works, and nothing outside the run's folders can be written.
``unshare``
    util-linux ``unshare`` (user + network + pid namespaces): the network is cut for real, but ``/kaggle``
    does not exist; inputs and output are folders whose paths are given in ``$KAGGLE_MAGICS_INPUT_ROOT`` and
    ``$KAGGLE_MAGICS_WORKING_DIR`` (``kaggle_magics.runtime`` reads them).
``none``
    no namespaces: the same variables, and the network stays on. The run's notes say so.

Every mode needs unprivileged user namespaces (``/proc/sys/user/max_user_namespaces`` > 0; on Ubuntu 24.04
also AppArmor's permission for bwrap/unshare), which ordinary Linux machines allow.
"""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..errors import ConfigError

MODES = ("bwrap", "unshare", "none")
KAGGLE_INPUT = "/kaggle/input"
KAGGLE_WORKING = "/kaggle/working"
# The host's system folders, shown read-only in the box. The rest (homes, project folders, mounts) stays out,
# as on Kaggle, except the folders the interpreter and the run need, which are added one by one.
_SYSTEM = ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "opt", "var", "run", "nix", "snap")
_UNSHARE_NET = [
    "unshare",
    "--user",
    "--map-root-user",
    "--net",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
]


@dataclass
class Layout:
    """What a run needs, in host paths."""

    inputs: dict[str, Path]  # path under the input root ("my-data", "model/pytorch/v1/2") -> host folder
    working: Path  # becomes /kaggle/working (the output)
    scratch: Path  # private /tmp and HOME live here; removed after the run
    rw_paths: list[Path] = field(default_factory=list)  # visible and writable at the same path (the run folder)
    internet: bool = False
    ro_paths: list[Path] = field(default_factory=list)  # visible read-only at the same path (the image twin)


@dataclass
class Sandbox:
    """How to start a command inside the box, and what the run sees."""

    mode: str
    argv: list[str]  # prefix to put before the command
    input_root: str
    working_dir: str
    tmp_dir: str
    env: dict[str, str]  # variables the run needs (only outside bwrap: where inputs and output are)
    network_cut: bool
    kaggle_paths: bool
    notes: list[str] = field(default_factory=list)


@functools.cache
def probe(mode: str) -> bool:
    """Whether ``mode`` works on this machine (a real trial run, a few milliseconds, cached)."""
    if mode == "none":
        return True
    if mode == "bwrap":
        argv = [
            "bwrap",
            "--unshare-user",
            "--unshare-net",
            "--unshare-pid",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "true",
        ]
    elif mode == "unshare":
        argv = [*_UNSHARE_NET, "true"]
    else:
        return False
    if shutil.which(argv[0]) is None:
        return False
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


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


def build(layout: Layout, mode: str | None = None) -> Sandbox:
    """The box for ``layout`` in ``mode`` (default: :func:`choose_mode`). Creates the scratch folders."""
    mode = choose_mode(mode)
    tmp = layout.scratch / "tmp"
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    if mode == "bwrap":
        return _bwrap(layout, tmp)
    # Without a mount namespace, inputs are a folder of links at a host path, told through the environment.
    input_root = layout.scratch / "input"
    for name, host in sorted(layout.inputs.items()):
        link = input_root / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(host.resolve(), target_is_directory=True)
    env = {config.ENV_INPUT_ROOT: str(input_root), config.ENV_WORKING_DIR: str(layout.working)}
    notes = [
        f"no /kaggle paths in this run (sandbox {mode}): inputs are under {input_root} and the output folder "
        f"is {layout.working} (${config.ENV_INPUT_ROOT}, ${config.ENV_WORKING_DIR}); install bubblewrap "
        "(apt-get install bubblewrap) for a run that sees /kaggle/input and /kaggle/working",
        "inputs are not read-only in this run (no mount namespace)",
    ]
    cut = False
    argv: list[str] = []
    if not layout.internet:
        if mode == "unshare":
            argv, cut = [*_UNSHARE_NET, "--"], True
        else:
            why = (
                f"{config.ENV_SANDBOX}=none was asked for; unset it to cut the network"
                if probe("unshare") or probe("bwrap")
                else "no network namespace is possible here (" + _install_hint("bwrap") + ")"
            )
            notes.insert(0, f"WARNING: internet is off in the metadata but the network is NOT cut in this run: {why}")
    return Sandbox(mode, argv, str(input_root), str(layout.working), str(tmp), env, cut, False, notes)


def _bwrap(layout: Layout, tmp: Path) -> Sandbox:
    argv = [
        "bwrap",
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--hostname",
        "kaggle",
        "--die-with-parent",
        "--new-session",
    ]
    if not layout.internet:
        argv.append("--unshare-net")  # bwrap brings the new namespace's loopback up
    system = [Path("/", name) for name in _SYSTEM if Path("/", name).exists()]
    for entry in system:
        if entry.is_symlink():
            argv += ["--symlink", os.readlink(entry), str(entry)]
        elif entry == Path("/run") and not layout.internet:
            # The host's daemons listen on Unix sockets here (docker, databases, the session bus), which a
            # network namespace does not cut: offline, the run gets an empty /run.
            argv += ["--tmpfs", str(entry)]
        else:
            argv += ["--ro-bind", str(entry), str(entry)]
    argv += ["--proc", "/proc", "--dev", "/dev", "--ro-bind-try", "/sys", "/sys", "--bind", str(tmp), "/tmp"]
    # What the interpreter, this package and the run read from outside the system folders (a venv in a home
    # folder, a source checkout, a private /tmp's host counterpart), each once.
    shown = [p.resolve() for p in system if not p.is_symlink()]
    for path in [*_interpreter_paths(), *(p.resolve() for p in layout.ro_paths)]:
        if path.exists() and not any(path == s or _under(path, s) for s in shown):
            argv += ["--ro-bind", str(path), str(path)]
            shown.append(path)
    for path in layout.rw_paths:
        argv += ["--bind", str(path), str(path)]
    argv += ["--tmpfs", KAGGLE_INPUT]  # a mount of its own, so that it alone can be made read-only below
    for name, host in sorted(layout.inputs.items()):
        argv += ["--ro-bind", str(host), f"{KAGGLE_INPUT}/{name}"]
    argv += [
        "--remount-ro",
        KAGGLE_INPUT,
        "--bind",
        str(layout.working),
        KAGGLE_WORKING,
        "--chdir",
        KAGGLE_WORKING,
        "--",
    ]
    notes = [] if layout.internet else ["network cut (bwrap network namespace): nothing outside the run answers"]
    return Sandbox("bwrap", argv, KAGGLE_INPUT, KAGGLE_WORKING, "/tmp", {}, not layout.internet, True, notes)


def _under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _interpreter_paths() -> list[Path]:
    """Folders the current interpreter and kaggle_magics are read from."""
    import kaggle_magics

    paths = {
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.executable).resolve().parent,
        Path(kaggle_magics.__file__).resolve().parent.parent,
    }
    paths.update(Path(p) for p in site.getsitepackages())
    paths.update(Path(p) for p in sys.path if p and Path(p).is_dir())
    paths.update(Path(p) for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p)
    return sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts))
