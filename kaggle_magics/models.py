"""``%kaggle_model``: a folder of weights uploaded as a new version of a Kaggle Models instance, and the exact
``model_sources`` entry and ``/kaggle/input`` path a submission notebook needs to use it.

The version number is Kaggle's to assign (each upload makes the next one); we report the one it assigned so
the user pins it: a submission that names ``.../2`` keeps working when version 3 is uploaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import inputs
from .backends.base import Backend
from .errors import InputError, InvalidRef, KaggleMagicsError, NotFound, PermissionDenied
from .explain import reword
from .handles import ModelRef
from .links import refuse_outward_links
from .results import ModelResult

_SKIPPED = (".git", ".cache", ".huggingface")  # what kagglehub leaves out of an upload


def as_model_handle(handle: ModelRef | str) -> ModelRef:
    """A handle without version: ``owner/model/framework/variation`` (uploads make the version)."""
    ref = handle if isinstance(handle, ModelRef) else ModelRef.parse(handle)
    if ref.version is not None:
        raise InvalidRef(
            f"{ref}: an upload makes a new version, so the handle takes none",
            hint=f"use {ref.handle}; the result names the version Kaggle assigned",
        )
    return ref


def model_files(folder: Path) -> list[str]:
    """The files an upload would send, relative to ``folder`` (for the result and the empty-folder check)."""
    names = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED)
        for name in sorted(files):
            names.append(Path(root, name).relative_to(folder).as_posix())
    return names


def upload_model(
    backend: Backend,
    folder: str | os.PathLike[str],
    handle: ModelRef | str,
    *,
    notes: str = "",
    layout: str | None = None,
) -> ModelResult:
    """Upload ``folder`` as the next version of ``handle``; the result holds ``model_source`` (for
    kernel-metadata.json's model_sources / ``--model``) and ``input_path`` (where the files appear in a
    run, in the input ``layout``: today's nested one by default)."""
    ref = as_model_handle(handle)
    layout = inputs.check_layout(layout, "input_layout")
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError(
            f"model folder {str(folder)!r} not found", hint="give the folder holding the weights"
        )
    refuse_outward_links(folder, "model", skip=_SKIPPED)  # the client would upload what they point at
    files = model_files(folder)
    if not files:
        raise InputError(
            f"model folder {str(folder)!r} is empty", hint="put the weight files in it first"
        )
    try:
        result = backend.model_upload(ref, folder, notes=notes)
    except NotFound as exc:
        raise reword(
            exc,
            f"model {ref.owner}/{ref.model} could not be found or created",
            hint=f"check the owner (your user name or an organisation you belong to) and {ref.url}",
        ) from None
    except PermissionDenied as exc:
        raise reword(
            exc,
            f"not allowed to upload to {ref.handle}",
            hint=f"the owner {ref.owner!r} must be you or an organisation you may write to ({ref.url})",
        ) from None
    if result.version is None:
        raise KaggleMagicsError(
            f"the upload to {ref.handle} returned no version number",
            hint=f"look up the new version at {ref.url} and pin it in model_sources",
        )
    pinned = ref.with_version(result.version)
    result.handle = ref.handle
    result.model_source = str(pinned)
    result.input_path = inputs.mount_path(inputs.model_path(pinned, layout))
    result.url = result.url or ref.url
    result.files = result.files or files
    result.notes = [
        *result.notes,
        f"attach it with --model {pinned} (model_sources in kernel-metadata.json); in the run it is at"
        f" {result.input_path}",
    ]
    return result
