"""Small helpers the bundle modules share: hashing, isolated subprocesses, all-or-nothing folders.

Everything here is standard library only: the installer side runs on a stock Kaggle image from a wheel on
``sys.path``, where nothing but the standard library and ``packaging`` can be assumed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import BundleError

CHUNK = 1 << 20

# What pip and uv must not read from the machine: indexes, find-links, constraints and config files. A
# bundle is defined by the requirements and the options passed to freeze, nothing else.
_KEEP = {"UV_CACHE_DIR", "UV_NATIVE_TLS", "UV_HTTP_TIMEOUT", "UV_CONCURRENT_DOWNLOADS"}


def sha256_file(path: Path) -> tuple[str, int]:
    """The sha256 (hex) and size of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def isolated_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ without pip's and uv's configuration variables, with their config files switched off."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(("PIP_", "UV_")) and k not in _KEEP) and k != "PYTHONPATH"
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
    )
    if extra:
        env.update(extra)
    return env


def is_disk_full(exc: BaseException | str) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    return "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc)


class DiskFull(BundleError):
    """The disk filled up while writing (a bundle, a build, an install)."""


def disk_full_error(where: Path | str) -> BundleError:
    return DiskFull(
        f"no space left on the device while writing {where}",
        hint="free some space (or choose another --dest); nothing was left half-written",
    )


def run(
    cmd: Sequence[str],
    *,
    what: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool; on failure raise BundleError whose message is the tool's own explanation, condensed."""
    try:
        proc = subprocess.run(
            list(cmd), env=env, cwd=cwd, input=input, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise BundleError(f"{what}: cannot run {cmd[0]!r} ({exc.strerror})") from None
    if proc.returncode != 0:
        text = (proc.stderr or "") + (proc.stdout or "")
        if is_disk_full(text):
            raise disk_full_error(cwd or "a temporary folder")
        raise ToolFailed(what, text)
    return proc


class ToolFailed(BundleError):
    """pip or uv failed; ``output`` keeps the whole text, ``message`` its gist on one line."""

    def __init__(self, what: str, output: str, hint: str | None = None):
        self.output = output
        super().__init__(f"{what}: {gist(output)}", hint=hint)


def gist(output: str, limit: int = 600) -> str:
    """The lines of a tool's error output that explain it, on one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    keep = [
        line
        for line in lines
        if not line.startswith(("warning:", "WARNING:", "Resolved ", "Using ", "Building ", "Built "))
    ]
    text = " ".join(keep or lines)
    for prefix in ("error: ", "ERROR: "):
        text = text.replace(prefix, "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def all_or_nothing(dest: Path) -> Iterator[Path]:
    """Yield an empty folder next to ``dest``; on success it replaces ``dest`` in one rename, else it goes.

    The folder is a sibling, so the final rename never crosses a file system. An existing ``dest`` is moved
    aside first and deleted only once the new one is in place.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(dest) from None
        raise
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is for sharing
        yield tmp
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.{os.getpid()}.old")
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover
