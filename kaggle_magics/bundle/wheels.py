"""Wheel files: what their names say (project, version, tags) and how to make one from installed files.

A bundle carries, beside the dependency closure, the few wheels its installer needs on a stock image:
kaggle-magics itself (pure Python), ``packaging``, and uv's wheel when it fits the target. They are taken
from this interpreter's installed files, repacked with the ``wheel`` project's :class:`WheelFile` (which
writes RECORD), so freezing needs no index for them.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag, parse_tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from ..errors import BundleError


@dataclass(frozen=True)
class WheelName:
    """A parsed wheel file name."""

    filename: str
    project: str  # canonical name
    version: str
    tags: frozenset[Tag]

    @classmethod
    def parse(cls, filename: str) -> WheelName:
        try:
            name, version, _build, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename as exc:
            raise BundleError(f"{filename}: not a valid wheel file name ({exc})") from None
        return cls(filename, str(name), str(version), frozenset(tags))

    @property
    def tag_strings(self) -> list[str]:
        return sorted(str(t) for t in self.tags)

    def rank(self, accepted: dict[str, int]) -> int | None:
        """The best (lowest) priority of this wheel's tags among ``accepted``; None if none fits."""
        ranks = [accepted[str(t)] for t in self.tags if str(t) in accepted]
        return min(ranks) if ranks else None


def tag_priorities(tags: list[str]) -> dict[str, int]:
    """Tags in an interpreter's order of preference -> their rank (0 = best)."""
    priorities: dict[str, int] = {}
    for i, tag in enumerate(tags):
        priorities.setdefault(tag, i)
    return priorities


def compressed_tag(tags: list[Tag]) -> str:
    """The compressed tag set of a wheel file name (``py2.py3-none-any``) for these tags."""
    pythons = sorted({t.interpreter for t in tags})
    abis = sorted({t.abi for t in tags})
    platforms = sorted({t.platform for t in tags})
    if len(pythons) * len(abis) * len(platforms) == len(set(tags)):
        return f"{'.'.join(pythons)}-{'.'.join(abis)}-{'.'.join(platforms)}"
    first = tags[0]
    return f"{first.interpreter}-{first.abi}-{first.platform}"


def wheel_filename(project: str, version: str, tags: list[Tag]) -> str:
    return f"{canonicalize_name(project).replace('-', '_')}-{version}-{compressed_tag(tags)}.whl"


# -- repacking installed distributions -------------------------------------------------------------------
_SKIP_DIST_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def installed_wheel_tags(dist: md.Distribution) -> list[Tag]:
    """The tags recorded in an installed distribution's WHEEL file."""
    text = dist.read_text("WHEEL") or ""
    tags: list[Tag] = []
    for line in text.splitlines():
        if line.startswith("Tag:"):
            tags.extend(parse_tag(line.split(":", 1)[1].strip()))
    return tags


def _scheme_dirs() -> dict[str, Path]:
    paths = sysconfig.get_paths()
    return {key: Path(paths[key]).absolute() for key in ("scripts", "data", "headers") if key in paths}


def _entry_point_scripts(dist: md.Distribution) -> set[str]:
    names: set[str] = set()
    for ep in dist.entry_points:
        if ep.group in ("console_scripts", "gui_scripts"):
            names.update({ep.name, ep.name + ".exe", ep.name + "-script.py"})
    return names


def repack_installed(project: str, out_dir: Path, *, compresslevel: int = 6) -> Path:
    """Make a wheel of an installed distribution from its RECORD (as it was installed).

    Files outside site-packages go back under ``<name>-<version>.data/<scripts|data|headers>``; console
    scripts that the installer generated from entry points are left out (an installer makes them again).
    """
    from wheel.wheelfile import WheelFile

    try:
        dist = md.distribution(project)
    except md.PackageNotFoundError:
        raise BundleError(f"{project} is not installed here, so it cannot be repacked") from None
    tags = installed_wheel_tags(dist)
    if not tags:
        raise BundleError(f"{project}: its installed WHEEL file lists no tags")
    version = dist.version
    filename = wheel_filename(dist.metadata["Name"], version, tags)
    site = Path(str(dist.locate_file(""))).absolute()
    schemes = _scheme_dirs()
    generated = _entry_point_scripts(dist)
    out = Path(out_dir) / filename
    data_dir = f"{filename.split('-')[0]}-{version}.data"
    with WheelFile(out, "w") as wheel:
        wheel.compresslevel = compresslevel
        info_dir = wheel.dist_info_path
        for entry in dist.files or ():
            rel = entry.as_posix()
            if "__pycache__" in entry.parts or rel.endswith(".pyc"):
                continue
            source = Path(os.path.normpath(site / rel))
            if not source.is_file():
                continue
            if entry.parts[0].endswith(".dist-info"):
                if entry.name in _SKIP_DIST_INFO:
                    continue
                arcname = f"{info_dir}/{Path(*entry.parts[1:]).as_posix()}"
            elif entry.parts[0] == "..":
                arcname = None
                for key, base in schemes.items():
                    try:
                        inner = source.relative_to(base)
                    except ValueError:
                        continue
                    if key == "scripts" and inner.name in generated:
                        break
                    arcname = f"{data_dir}/{key}/{inner.as_posix()}"
                    break
                if arcname is None:
                    continue
            else:
                arcname = rel
            wheel.write(str(source), arcname)
    return out


def own_wheel(out_dir: Path) -> Path:
    """A wheel of the running kaggle-magics (pure Python), from its package folder.

    Works for editable and regular installs alike: the files are those of the imported package, the metadata
    that of the installed distribution (or the minimum a wheel needs when it runs from a bare source tree).
    """
    from wheel.wheelfile import WheelFile

    import kaggle_magics

    package = Path(kaggle_magics.__file__).parent
    version = kaggle_magics.__version__
    filename = f"kaggle_magics-{version}-py3-none-any.whl"
    holder = package.parent
    if holder.suffix == ".whl" and holder.is_file():  # running from a bundle's wheel on sys.path
        out = Path(out_dir) / holder.name
        out.write_bytes(holder.read_bytes())
        return out
    metadata = f"Metadata-Version: 2.1\nName: kaggle-magics\nVersion: {version}\n"
    entry_points = "[console_scripts]\nkaggle-magics = kaggle_magics.cli:main\n"
    # The installed distribution's metadata (its requirements), from its dist-info; a source checkout also
    # holds an egg-info of the same name (written by `pip install -e .`), whose PKG-INFO serves when alone.
    found = [d for d in md.distributions(name="kaggle-magics") if d.version == version]
    for dist in sorted(found, key=lambda d: d.read_text("METADATA") is None):
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
        if text:
            metadata = text
            entry_points = dist.read_text("entry_points.txt") or entry_points
            break
    out = Path(out_dir) / filename
    with WheelFile(out, "w") as wheel:
        for path in sorted(package.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
                continue
            wheel.write(str(path), f"kaggle_magics/{path.relative_to(package).as_posix()}")
        info = wheel.dist_info_path
        wheel.writestr(f"{info}/METADATA", metadata)
        wheel.writestr(f"{info}/entry_points.txt", entry_points)
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: kaggle-magics\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    return out
