"""The checks :func:`~kaggle_magics.bundle.install` runs before it writes anything: what was asked for is in
the bundles, every file is intact and fits the interpreter, every packed folder is safe to unpack and has a
destination of its own, and the wheels fit on the disk. Any failure stops the install with nothing written.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import BundleError
from ._util import sha256_file
from .archive import archive_name, check_archive, check_destination
from .manifest import BundleFile, Manifest
from .progress import Progress
from .resolve import BundleInputError
from .wheels import WheelName, tag_priorities


def unpack_targets(bundles: list[Manifest], dirs_root: Path) -> list[tuple[Manifest, BundleFile, Path]]:
    """Each packed folder of the bundles with the folder it unpacks to; two different archives may not claim
    the same one (the second would replace the first)."""
    out: list[tuple[Manifest, BundleFile, Path]] = []
    claimed: dict[str, tuple[Manifest, BundleFile]] = {}
    for manifest in bundles:
        for item in manifest.of_kind("dir"):
            name = archive_name(item.filename)
            first = claimed.get(name)
            if first is not None and first[1].sha256 != item.sha256:
                raise BundleError(
                    f"{item.filename} in {manifest.folder} and in {first[0].folder} differ, and both unpack to "
                    f"{dirs_root / name}",
                    hint="install one of the bundles (--from FOLDER), or freeze them with different --dir names",
                )
            if first is None:
                claimed[name] = (manifest, item)
                out.append((manifest, item, dirs_root / name))
    return out


def check_archives(pending: list[tuple[Manifest, BundleFile, Path]], progress: Progress | None = None) -> None:
    """Every member of every packed folder to unpack, checked against the tree it makes (see
    :func:`~kaggle_magics.bundle.archive.check_members`), before anything is installed or unpacked."""
    with (progress or Progress(False)).stage("check", len(pending), desc="check dirs") as stage:
        for manifest, item, dest in pending:
            check_destination(dest)
            check_archive(manifest.folder / item.filename)
            stage.advance()


def check_in_bundles(reqs: list[str], bundles: list[Manifest], installed: dict[str, str]) -> None:
    """Each requirement named on the command line is installed already or has a fitting wheel in a bundle:
    say so up front, naming what the bundles hold, rather than through the installer's resolver message."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    held: dict[str, list[str]] = {}
    for manifest in bundles:
        for item in manifest.of_kind("wheel"):
            if item.project and item.version:
                held.setdefault(str(canonicalize_name(item.project)), []).append(item.version)
    where = ", ".join(str(m.folder) for m in bundles)
    for text in reqs:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise BundleInputError(
                f"{text!r} is not a requirement: {str(exc).splitlines()[0]}",  # one line, not packaging's caret
                hint="write it as NAME or NAME==VERSION",
            ) from None
        if req.url:
            continue
        name = str(canonicalize_name(req.name))
        have = installed.get(name)
        if have is not None and req.specifier.contains(have, prereleases=True):
            continue
        versions = held.get(name, [])
        if not versions:
            names = ", ".join(sorted(held)) or "no wheels"
            raise BundleError(
                f"{req.name} is not in the bundle ({where} holds {names})",
                hint=f"freeze it too (kaggle-magics freeze {req.name} ...), or name only what the bundle holds",
            )
        if not any(req.specifier.contains(v, prereleases=True) for v in versions):
            raise BundleError(
                f"{text}: the bundle has {req.name} {', '.join(sorted(set(versions)))} only ({where})",
                hint="ask for a version the bundle holds, or freeze the one you need",
            )


# -- verification ----------------------------------------------------------------------------------------
def verify(bundles: list[Manifest], tags: list[str], label: str, progress: Progress | None = None) -> int:
    """Check every file of every bundle (presence, size, sha256) and every wheel's tags; stop at a bad one."""
    accepted = tag_priorities(tags)
    items: list[tuple[Manifest, BundleFile]] = [(m, f) for m in bundles for f in m.files]
    for manifest, item in items:
        path = manifest.folder / item.filename
        if not path.is_file():
            raise BundleError(
                f"{item.filename} is missing from the bundle {manifest.folder}",
                hint="the bundle is incomplete: attach its whole folder, or freeze it again",
            )
        if path.stat().st_size != item.size:
            raise BundleError(
                f"{item.filename} in {manifest.folder} is corrupted: {path.stat().st_size} bytes, "
                f"the manifest says {item.size}",
                hint="nothing was installed; attach an intact copy of the bundle, or freeze it again",
            )
        if item.kind == "wheel":
            wheel = WheelName.parse(item.filename)
            if wheel.rank(accepted) is None:
                shown = ", ".join(tags[:3]) + (f", ... ({len(tags)} tags)" if len(tags) > 3 else "")
                raise BundleError(
                    f"{item.filename} does not fit {label}: its tags are {', '.join(wheel.tag_strings)}; "
                    f"the interpreter accepts {shown}",
                    hint="nothing was installed; freeze the bundle for this interpreter (--python-version, "
                    "--platform), or install into the interpreter it was made for",
                )
    stage = (progress or Progress(False)).stage("verify", len(items), desc="verify sha256")

    def digest(pair: tuple[Manifest, BundleFile]) -> tuple[Manifest, BundleFile, str]:
        manifest, item = pair
        value = sha256_file(manifest.folder / item.filename)[0]
        stage.advance()
        return manifest, item, value

    with stage, ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for manifest, item, value in pool.map(digest, items):
            if value != item.sha256:
                raise BundleError(
                    f"{item.filename} in {manifest.folder} is corrupted: sha256 {value}, "
                    f"the manifest says {item.sha256}",
                    hint="nothing was installed; attach an intact copy of the bundle, or freeze it again",
                )
    return len(items)


def check_space(bundles: list[Manifest], info: dict) -> None:
    """Refuse up front when the wheels that are not installed yet would not fit on the target's disk.

    An installer that runs out of space half-way leaves some packages written: better not to start. The
    need is what the wheels unpack to (read from their zip directories), for those not installed already.
    """
    installed = info["installed"]
    need = 0
    for manifest in bundles:
        for item in manifest.of_kind("wheel"):
            if item.project and installed.get(item.project) == item.version:
                continue
            with zipfile.ZipFile(manifest.folder / item.filename) as archive:
                need += sum(member.file_size for member in archive.infolist())
    purelib = Path(info["purelib"])
    folder = next((p for p in (purelib, *purelib.parents) if p.exists()), purelib)
    free = shutil.disk_usage(folder).free
    if need > free:
        raise BundleError(
            f"not enough space to install: the wheels unpack to {need / 1e6:,.0f} MB, "
            f"{free / 1e6:,.0f} MB are free under {folder}",
            hint="free some space (or install into an interpreter on another disk); nothing was installed",
        )


