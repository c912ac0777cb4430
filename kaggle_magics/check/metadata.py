"""Metadata: everything push validates, without pushing.

A kernel folder's kernel-metadata.json is read and validated as push reads it (its errors are findings: the
file is what is checked); a bare notebook's metadata comes from the flags and the project's defaults, as
push builds it (bad flags are bad input, as for push).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from ..config import ProjectDefaults
from ..errors import KaggleMagicsError
from ..handles import KernelRef, slugify
from ..metadata import KERNEL_METADATA, KernelMetadata
from .findings import ERROR, WARNING, Finding

_PUSH_NOTES = ("internet off (pass --internet",)  # what push says of a choice, not of a problem


@dataclass
class KernelFile:
    """A kernel folder's metadata as push reads it, or why it cannot be."""

    meta: KernelMetadata | None
    code: Path | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what reading it normalised (Kaggle's tools write it so)


def _finding(severity: str, what: str, fix: str | None = None) -> Finding:
    return Finding("metadata", severity, what, fix)


def read_folder(folder: Path) -> KernelFile:
    """kernel-metadata.json of ``folder`` and its code file, with what push would refuse (errors) and what
    works but surprises (warnings)."""
    path = folder / KERNEL_METADATA
    try:
        meta = KernelMetadata.read(folder)
        notes = meta.validate(str(path), folder=folder)
    except KaggleMagicsError as exc:
        return KernelFile(None, findings=[_finding(ERROR, f"push refuses it: {exc.message}", exc.hint)])
    found = KernelFile(meta, notes=[f"kernel-metadata.json: {n}" for n in meta.normalised])
    for note in notes:
        if note not in meta.normalised:
            found.findings.append(_finding(WARNING, note))
    raw = json.loads(path.read_text(encoding="utf-8"))
    if "enable_internet" not in raw:
        found.findings.append(
            _finding(
                WARNING,
                "enable_internet is not set: kaggle-magics push writes false, but `kaggle kernels push` turns the "
                "internet ON",
                'set "enable_internet": false (or true) in kernel-metadata.json',
            )
        )
    if not meta.id:
        found.findings.append(
            _finding(ERROR, "push refuses it: id_no alone does not name the kernel", 'add "id": "owner/kernel-slug"')
        )
    inside = PurePath(meta.code_file)
    if inside.is_absolute() or ".." in inside.parts:
        found.findings.append(
            _finding(
                ERROR,
                f"push refuses it: code_file {meta.code_file!r} is outside the kernel folder",
                "put the notebook or script in the folder and name it relative to it",
            )
        )
        return found
    found.code = folder / meta.code_file
    return found


def kernelspec_findings(added: list[str]) -> list[Finding]:
    """A kernel folder's notebook without a usable kernelspec: push adds one, the official client does not."""
    return [
        _finding(
            WARNING,
            f"{note.split(':')[0]}: kaggle-magics push does this; `kaggle kernels push` sends the notebook as it is "
            "and Kaggle's papermill run fails",
            "push with kaggle-magics, or add metadata.kernelspec {\"name\": \"python3\"}",
        )
        for note in added
    ]


def bare_metadata(
    options: object, defaults: ProjectDefaults
) -> tuple[KernelMetadata, bool, list[Finding]]:
    """The metadata push would build for a bare notebook from ``options`` (a KernelOptions) and ``defaults``,
    whether any source was given, and push's warnings. Bad flags raise (bad input, as for push)."""
    from ..submission import KernelOptions, build_metadata, kernel_ref

    assert isinstance(options, KernelOptions)
    merged = options.with_defaults(defaults)
    if merged.id:
        ref = kernel_ref(merged, defaults)
    else:  # the id is push's business (from --id or the file's name): a stand-in that the title agrees with
        slug = slugify(merged.title or "")
        ref = KernelRef("owner", slug if len(slug) >= 5 else "checked-notebook")
    meta, notes = build_metadata(merged, ref, f"{ref.slug}.ipynb")
    known = bool(merged.competition or merged.attach or merged.bundles or merged.datasets or merged.models)
    return meta, known, [_finding(WARNING, n) for n in notes if not n.startswith(_PUSH_NOTES)]
