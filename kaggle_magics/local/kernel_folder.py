"""A kernel folder (kernel-metadata.json and its code file) read and checked as ``kaggle kernels push``
reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import MetadataError, NotebookError
from ..metadata import KERNEL_METADATA, KernelMetadata
from ..notebook import shape_problem


class PushedKernel:
    """A kernel folder read and checked as ``kaggle kernels push`` checks it."""

    def __init__(self, meta: KernelMetadata, raw: dict[str, Any], code: str, internet: bool, notes: list[str]):
        self.meta, self.raw, self.code, self.internet, self.notes = meta, raw, code, internet, notes


def read_kernel_folder(folder: Path) -> PushedKernel:
    """kernel-metadata.json and the code file, validated with the official client's rules; a notebook gets
    its code-cell outputs cleared and its cell sources joined, as the client does before sending it."""
    if not folder.is_dir():
        raise MetadataError(f"{folder}: not a folder", hint="push a folder that holds kernel-metadata.json")
    path = folder / KERNEL_METADATA
    meta = KernelMetadata.read(folder)
    raw = json.loads(path.read_text(encoding="utf-8"))
    notes = meta.validate(str(path), folder=folder)
    if not meta.id:
        raise MetadataError(
            f"{path}: the local Kaggle needs an id (owner/slug); id_no alone names a kernel on kaggle.com only",
            hint='set "id": "owner/kernel-slug"',
        )
    internet = meta.enable_internet
    if "enable_internet" not in raw:
        internet = True
        notes.append("enable_internet is not set: Kaggle's client then turns internet ON (set it explicitly)")
    code_path = folder / meta.code_file
    try:
        code = code_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(f"{code_path}: cannot read it ({exc})") from None
    if meta.kernel_type == "notebook":
        try:
            body = json.loads(code)
        except json.JSONDecodeError as exc:
            raise NotebookError(
                f"{code_path}: not a notebook (JSON line {exc.lineno}: {exc.msg})",
                hint='a "script" kernel_type takes a .py file',
            ) from None
        problem = shape_problem(body)
        if problem:
            raise NotebookError(
                f"{code_path}: not a valid notebook: {problem}",
                hint="open it in Jupyter and save it again, or fix the JSON by hand",
            )
        cells = body.get("cells") if isinstance(body.get("cells"), list) else []
        for cell in (c for c in cells if isinstance(c, dict)):
            if "outputs" in cell and cell.get("cell_type") == "code":
                cell["outputs"] = []
            if isinstance(cell.get("source"), list):
                cell["source"] = "".join(cell["source"])
        code = json.dumps(body)
    return PushedKernel(meta, raw, code, internet, notes)
