"""What converting would change: a Kaggle-ready kernel folder (what ``convert`` writes) compared with what is
there now, in the terms a Kaggler checks: the kernelspec, outputs, cell ids, the install cell, the cells'
code, and kernel-metadata.json key by key (``enable_internet`` first, whose absence means *on*).

"What is there now" is the folder ``convert`` would write into when it exists, else the source notebook and
the kernel-metadata.json beside it (if it names the notebook). Formatting alone (a ``source`` kept as a list
of lines, JSON indentation) is not a change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .bundle.cell import INSTALL_MARK
from .metadata import KERNEL_METADATA


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _source(cell: dict[str, Any]) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else str(text)


def _cells(nb: Any) -> list[dict[str, Any]]:
    cells = nb.get("cells") if isinstance(nb, dict) else None
    return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []


def _is_install(cell: dict[str, Any]) -> bool:
    return cell.get("cell_type") == "code" and _source(cell).lstrip().startswith(INSTALL_MARK)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def notebook_changes(old: Any, new: Any) -> list[str]:
    """What would change from notebook ``old`` (JSON, or None when it cannot be read) to ``new``."""
    if not isinstance(old, dict):
        return ["the notebook would be written (the one there is not a readable notebook)"]
    changes: list[str] = []
    old_spec = (old.get("metadata") or {}).get("kernelspec") or {}
    new_spec = (new.get("metadata") or {}).get("kernelspec") or {}
    if not old_spec.get("name"):
        changes.append(
            f"kernelspec: would be added ({new_spec.get('name')}); without it Kaggle's papermill run fails"
        )
    elif old_spec.get("name") != new_spec.get("name"):
        changes.append(f"kernelspec: {old_spec.get('name')!r} would become {new_spec.get('name')!r}")
    old_cells, new_cells = _cells(old), _cells(new)
    with_outputs = sum(1 for c in old_cells if c.get("cell_type") == "code" and (c.get("outputs") or []))
    if with_outputs:
        changes.append(f"outputs: {_plural(with_outputs, 'code cell')} with outputs would be cleared")
    counted = sum(1 for c in old_cells if c.get("cell_type") == "code" and c.get("execution_count") is not None)
    if counted and not with_outputs:
        changes.append(f"execution counts: {_plural(counted, 'code cell')} would be reset")
    missing_ids = sum(1 for c in old_cells if not c.get("id"))
    if old_cells and missing_ids and all(c.get("id") for c in new_cells):
        changes.append(f"cell ids: {_plural(missing_ids, 'cell')} without an id would get one")
    old_install = old_cells[:1] if old_cells and _is_install(old_cells[0]) else []
    new_install = new_cells[:1] if new_cells and _is_install(new_cells[0]) else []
    if new_install and not old_install:
        changes.append("install cell: would be added first (installs the attached bundles offline)")
    elif old_install and not new_install:
        changes.append("install cell: would be removed (no --deps attach a bundle)")
    elif old_install and _source(old_install[0]) != _source(new_install[0]):
        changes.append("install cell: would be updated (other bundles, or a newer installer)")
    old_body = [(c.get("cell_type"), _source(c)) for c in old_cells[len(old_install):]]
    new_body = [(c.get("cell_type"), _source(c)) for c in new_cells[len(new_install):]]
    if old_body != new_body:
        differ = sum(1 for a, b in zip(old_body, new_body, strict=False) if a != b) + abs(len(old_body) - len(new_body))
        changes.append(f"cells: {_plural(differ, 'cell')} would change (the source notebook changed)")
    return changes


def metadata_changes(old: Any, new: dict[str, Any]) -> list[str]:
    """What would change from kernel-metadata.json ``old`` (a dict, or None when there is none) to ``new``."""
    if old is None:
        sources = sum(len(new.get(k) or []) for k in new if k.endswith("_sources"))
        internet = "on" if new.get("enable_internet") else "off"
        return [f"{KERNEL_METADATA}: would be written (id {new.get('id')}, internet {internet}, "
                f"{_plural(sources, 'source')})"]  # fmt: skip
    if not isinstance(old, dict):
        return [f"{KERNEL_METADATA}: would be rewritten (the one there is not a JSON object)"]
    changes: list[str] = []
    if "enable_internet" not in old:
        changes.append(
            f"{KERNEL_METADATA}: enable_internet would be written ({str(new.get('enable_internet')).lower()}); "
            "missing, the official client turns internet ON"
        )
    added = [k for k in new if k not in old and k != "enable_internet"]
    if added:
        changes.append(f"{KERNEL_METADATA}: would add {', '.join(added)}")
    for key, value in new.items():
        if key in old and old[key] != value:
            changes.append(f"{KERNEL_METADATA}: {key} {json.dumps(old[key])} would become {json.dumps(value)}")
    dropped = [k for k in old if k not in new]
    if dropped:
        changes.append(f"{KERNEL_METADATA}: would drop {', '.join(dropped)}")
    return changes


def folder_changes(new: Path, current: Path | None, source: Path) -> list[str]:
    """What writing the Kaggle-ready folder ``new`` would change: against the folder ``current`` when it
    exists, else against ``source`` (the notebook converted) and the kernel-metadata.json beside it."""
    new_meta = _read_json(new / KERNEL_METADATA) or {}
    new_nb = _read_json(new / str(new_meta.get("code_file")))
    if current is not None and current.is_dir():
        old_meta = _read_json(current / KERNEL_METADATA) if (current / KERNEL_METADATA).exists() else None
        code = old_meta.get("code_file") if isinstance(old_meta, dict) else None
        old_nb_path = current / str(code or new_meta.get("code_file"))
    else:
        beside = source.parent / KERNEL_METADATA
        old_meta = _read_json(beside) if beside.is_file() else None
        if isinstance(old_meta, dict) and old_meta.get("code_file") not in (None, source.name):
            old_meta = None  # it describes another notebook
        old_nb_path = source
    changes = metadata_changes(old_meta, new_meta)
    if source.suffix == ".py" and old_nb_path == source:
        changes.append(f"{source.name}: the percent-format script would become a notebook")
    elif isinstance(new_nb, dict):
        changes += notebook_changes(_read_json(old_nb_path) if old_nb_path.is_file() else None, new_nb)
    return changes
