"""The interpreter a bundle is for, as the set of wheel tags it accepts.

Either a concrete interpreter (inside Kaggle: the running one; for ``install``: the one installed into), whose
tags it reports itself through :mod:`.probe`, or a description (``3.12`` + ``manylinux_2_35_x86_64``) whose
tags :mod:`packaging.tags` computes, accepting every older manylinux that the glibc allows.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BundleError
from ._util import isolated_env
from .wheels import WheelName, tag_priorities

# uv's --python-platform names the glibc versions it knows; a target between two of them resolves for the
# lower one (a subset), and every wheel is checked against the target's own tags afterwards anyway.
_UV_GLIBC = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


@dataclass(frozen=True)
class Target:
    """What a bundle's wheels must fit."""

    python_version: str  # "3.12"
    platform: str | None  # "manylinux_2_35_x86_64"; None for a concrete interpreter
    tags: tuple[str, ...] = field(repr=False)  # best first
    executable: str | None = None
    full_version: str | None = None

    @property
    def label(self) -> str:
        if self.executable:
            return f"Python {self.full_version or self.python_version} at {self.executable}"
        return f"CPython {self.python_version}, {self.platform}"

    @property
    def priorities(self) -> dict[str, int]:
        return tag_priorities(list(self.tags))

    def fits(self, wheel: WheelName) -> bool:
        return wheel.rank(self.priorities) is not None

    def tag_summary(self, count: int = 3) -> str:
        """The few most specific tags, to name the target in an error."""
        shown = ", ".join(self.tags[:count])
        return f"{shown}, ... ({len(self.tags)} tags)" if len(self.tags) > count else shown

    def uv_args(self) -> list[str]:
        """How ``uv pip compile`` is told to resolve for this target."""
        if self.executable:
            return ["--python", self.executable]
        return [
            "--python", sys.executable,  # builds sdists for metadata; never downloads a Python
            "--python-version", self.python_version,
            "--python-platform", uv_platform(self.platform or ""),
        ]  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {
            "python_version": self.python_version,
            "platform": self.platform,
            "implementation": "cp",
            "interpreter": self.executable,
            "best_tag": self.tags[0] if self.tags else None,
        }


def parse_python_version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(?:cp|py)?(\d)\.?(\d{1,2})(?:\.\d+)?", str(text).strip())
    if not match:
        raise BundleError(f"--python-version {text!r} is not a Python version", hint="use the form 3.12")
    return int(match.group(1)), int(match.group(2))


def expand_platform(platform: str) -> list[str]:
    """Every platform tag a machine of ``platform`` accepts, best first."""
    from packaging import tags as ptags

    platform = platform.strip().replace("-", "_").replace(".", "_")
    if m := re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", platform):
        major, minor, arch = int(m.group(1)), int(m.group(2)), m.group(3)
        out: list[str] = []
        for glibc in range(minor, 4, -1):
            out.append(f"manylinux_{major}_{glibc}_{arch}")
            legacy = _LEGACY_MANYLINUX.get(glibc)
            if major == 2 and legacy and (glibc == 17 or arch in ("x86_64", "i686")):
                out.append(f"{legacy}_{arch}")
        return out
    if m := re.fullmatch(r"manylinux(2014|2010|1)_(\w+)", platform):
        glibc = {"2014": 17, "2010": 12, "1": 5}[m.group(1)]
        return expand_platform(f"manylinux_2_{glibc}_{m.group(2)}")
    if m := re.fullmatch(r"musllinux_(\d+)_(\d+)_(\w+)", platform):
        major, minor, arch = int(m.group(1)), int(m.group(2)), m.group(3)
        return [f"musllinux_{major}_{v}_{arch}" for v in range(minor, -1, -1)]
    if m := re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", platform):
        return list(ptags.mac_platforms((int(m.group(1)), int(m.group(2))), m.group(3)))
    if re.fullmatch(r"(linux_\w+|win_amd64|win_arm64|win32)", platform):
        return [platform]
    raise BundleError(
        f"--platform {platform!r} is not a platform tag this tool knows",
        hint="use a wheel platform tag such as manylinux_2_35_x86_64 (Kaggle), manylinux_2_28_aarch64, "
        "macosx_11_0_arm64 or win_amd64",
    )


def uv_platform(platform: str) -> str:
    """uv's ``--python-platform`` value for a platform tag."""
    if m := re.fullmatch(r"manylinux_2_(\d+)_(x86_64|aarch64)", platform):
        glibc = int(m.group(1))
        known = [v for v in _UV_GLIBC if v <= glibc]
        if known:
            return f"{m.group(2)}-manylinux_2_{known[-1]}"
        return f"{m.group(2)}-unknown-linux-gnu"
    if m := re.fullmatch(r"manylinux(?:2014|2010|1)_(x86_64|aarch64)", platform):
        return f"{m.group(1)}-manylinux2014"
    if m := re.fullmatch(r"musllinux_\d+_\d+_(x86_64|aarch64)", platform):
        return f"{m.group(1)}-unknown-linux-musl"
    if m := re.fullmatch(r"linux_(x86_64|aarch64)", platform):
        return f"{m.group(1)}-unknown-linux-gnu"
    if m := re.fullmatch(r"macosx_\d+_\d+_(\w+)", platform):
        return "aarch64-apple-darwin" if m.group(1) == "arm64" else "x86_64-apple-darwin"
    windows = {"win_amd64": "x86_64-pc-windows-msvc", "win_arm64": "aarch64-pc-windows-msvc"}
    if platform in windows or platform == "win32":
        return windows.get(platform, "i686-pc-windows-msvc")
    raise BundleError(f"uv cannot resolve for the platform {platform!r}")


def for_platform(python_version: str, platform: str) -> Target:
    """A CPython target described by its version and platform tag."""
    from packaging import tags as ptags

    major, minor = parse_python_version(python_version)
    platforms = expand_platform(platform)
    interpreter = f"cp{major}{minor}"
    tags = [
        *ptags.cpython_tags((major, minor), [interpreter], platforms),
        *ptags.compatible_tags((major, minor), interpreter, platforms),
    ]
    return Target(f"{major}.{minor}", platforms[0], tuple(str(t) for t in tags))


def for_interpreter(python: str | os.PathLike[str] | None = None) -> Target:
    """The target of a concrete interpreter (default: this one), from its own report."""
    info = probe(python)
    return Target(
        info["python_version"],
        None,
        tuple(info["tags"]),
        executable=info["executable"],
        full_version=info["python_full_version"],
    )


def _probe_source() -> str:
    from importlib import resources

    return resources.files(__package__).joinpath("probe.py").read_text(encoding="utf-8")


def _packaging_path() -> str:
    import packaging

    return str(Path(packaging.__file__).parent.parent)


def probe(
    python: str | os.PathLike[str] | None = None, requirements: list[str] | tuple[str, ...] = ()
) -> dict:
    """Ask an interpreter (default: this one, in a clean subprocess) what it accepts and what it has."""
    exe = str(python or sys.executable)
    request = json.dumps({"requirements": list(requirements), "packaging_path": _packaging_path()})
    try:
        proc = subprocess.run(
            [exe, "-c", _probe_source()],
            input=request,
            capture_output=True,
            text=True,
            env=isolated_env(),
            check=False,
        )
    except OSError as exc:
        raise BundleError(
            f"cannot run the interpreter {exe} ({exc.strerror})",
            hint="pass --python the path of a Python executable (for a venv: VENV/bin/python)",
        ) from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BundleError(f"the interpreter {exe} failed to report itself: {last}")
    return json.loads(proc.stdout)
