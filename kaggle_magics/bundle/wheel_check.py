"""Why a resolution failed, when the cause is a requirement with no wheel for the target.

An old pin (``pandas==0.23.3``) has wheels for old Pythons only; for Python 3.12 the resolver falls back to
its sdist, whose metadata may not even parse (``pytz (>=2011k)``), and reports that, or a conflict. The
cause the user can act on is "no wheel for CPython 3.12": each requirement the resolver's message names is
resolved again alone, wheels only, and the first version that has one is named in the hint.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import BundleError
from ._util import isolated_env
from .resolve import IndexOptions
from .target import Target

_NO_WHEEL = ("has no usable wheels", "no wheels with a matching", "no wheels are available")


class NoWheel(BundleError):
    """A requirement with no wheel for the target Python or platform: bad input (exit 2)."""

    exit_code = 2


def direct_requirements(sources: list[Path]) -> list[Requirement]:
    """The named requirements of these requirements files (options, nested files, paths and URLs left out)."""
    found = []
    for source in sources:
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            text = line.split(" #", 1)[0].strip()
            if not text or text.startswith(("#", "-")):
                continue
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.url is None:
                found.append(req)
    return found


def _compile(uv: str, requirement: str, name: str, target: Target, index: IndexOptions, work: Path,
             *extra: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    spec = work / f"wheel-check-{name}.in"
    spec.write_text(requirement + "\n", encoding="utf-8")
    cmd = [uv, "pip", "compile", "--quiet", "--no-config", "--no-header", "--no-deps", "--no-python-downloads",
           "--only-binary", name, *extra, *target.uv_args(), *index.uv_args(), str(spec)]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, env=isolated_env(), cwd=work, check=False)


def no_wheel_error(
    uv: str, sources: list[Path], output: str, target: Target, index: IndexOptions, work: Path
) -> NoWheel | None:
    """The error naming the requirement that has no wheel for ``target``, when that is why the resolution
    whose failure ``output`` is failed; else None (and the resolver's own message stands)."""
    said = canonicalize_name(output)  # names in uv's message, normalised like the requirements' names
    for req in direct_requirements(sources):
        name = canonicalize_name(req.name)
        if not re.search(rf"(?<![a-z0-9-]){re.escape(name)}(?![a-z0-9-])", said.replace("_", "-")):
            continue
        probe = _compile(uv, str(req), name, target, index, work)
        if probe.returncode == 0 or not any(s in probe.stderr + probe.stdout for s in _NO_WHEEL):
            continue
        first = _compile(uv, req.name, name, target, index, work, "--resolution", "lowest")
        found = re.search(rf"^{re.escape(name)}==(\S+)", first.stdout, re.MULTILINE | re.IGNORECASE)
        hint = (
            f"{req.name} {found.group(1)} is the first version with a wheel for {target.label}: require that "
            "or later"
            if found and first.returncode == 0
            else f"the index has no wheel of {req.name} for {target.label}: pick another package"
        )
        return NoWheel(f"{req} has no wheel for {target.label}", hint=hint)
    return None
