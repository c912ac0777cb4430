"""Paths under ``/kaggle/input``: each literal path (also ``../input/...``, joins of literals, the literal
head of an f-string, paths in shell lines) must lie in an attached source, in the layout Kaggle uses today
(``competitions/<slug>/``, ``datasets/<owner>/<slug>/``...); a path in the other layout gets the path Kaggle
will mount. Code that tries both layouts, tests a path before using it, or reads it in a ``try`` whose handler
copes, is left alone (a warning at most).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import inputs
from .context import Context

_PREFIXES = ("/kaggle/input", "../input", "kaggle/input")
_TOKEN = re.compile(r"""(?:/kaggle/input|\.\./input)(?:/[^\s'"`;|&<>()]*)?""")
_KIND_FLAGS = {"competitions": "competition", "datasets": "dataset", "notebooks": "kernel", "models": "model"}
_DEPTH = {"competitions": 1, "datasets": 2, "notebooks": 2, "models": 5}


@dataclass
class _Path:
    text: str  # as written
    parts: list[str]  # below /kaggle/input, up to the first part that is not literal
    cell: int | None
    line: int
    probe: bool
    conditional: bool = False


def _parse(value: str) -> list[str] | None:
    """The literal parts below the input root, or None when ``value`` is not such a path."""
    for prefix in _PREFIXES:
        if value == prefix or value.startswith(prefix + "/"):
            rest = value[len(prefix) :]
            break
    else:
        return None
    parts = []
    for part in rest.split("/"):
        if not part or part == ".":
            continue
        if any(c in part for c in "{}*?[") or part == "..":  # formatted or a pattern: the rest is unknown
            break
        parts.append(part)
    else:
        return parts
    return [*parts, "*"]  # marks that more followed


def _gather(ctx: Context) -> list[_Path]:
    found: list[_Path] = []
    for fact in ctx.facts.strings:
        parts = _parse(fact.value)
        if parts is not None:
            found.append(_Path(fact.value, parts, fact.cell, fact.line, fact.probe, fact.conditional))
    for command in ctx.commands():
        for token in _TOKEN.findall(command.text):
            parts = _parse(token.rstrip("/"))
            if parts is not None:
                found.append(_Path(token, parts, command.cell, command.line, False, command.conditional))
    return found


def _matches(parts: list[str], mount: list[str]) -> str | None:
    """"in" when ``parts`` lies in the mount, "above" when it names a folder that holds it, else None."""
    literal = [p for p in parts if p != "*"]
    n = min(len(literal), len(mount))
    if [p.lower() for p in literal[:n]] != [m.lower() for m in mount[:n]]:
        return None
    if len(literal) >= len(mount):
        return "in"
    return "above" if len(literal) == len(parts) else "in"  # a pattern below a partial path may reach into it


Mounts = list[tuple[inputs.Mount, list[str], list[str]]]  # each mount, its parts in the layout and the other


def check_paths(ctx: Context) -> None:
    target = ctx.target
    other = inputs.FLAT if target.layout == inputs.NESTED else inputs.NESTED
    paths = _gather(ctx)
    mounts = [(m, m.path(target.layout).split("/"), m.path(other).split("/")) for m in target.mounts]
    # sources the code reaches in the right layout somewhere: its paths in the other one are fallbacks
    reached = {m.source for p in paths for m, right, _ in mounts if p.parts and _matches(p.parts, right)}
    reported: set[str] = set()
    for path in paths:
        if not path.parts or path.parts == ["*"]:
            continue  # the input root itself
        if any(_matches(path.parts, right) for _, right, _ in mounts):
            continue
        key = "/".join(path.parts[:3])
        if key in reported:
            continue
        with ctx.maybe(path.conditional):
            if _other_layout(ctx, path, mounts, reached, other, reported, key):
                continue
            reported.add(key)
            _unattached(ctx, path)


def _other_layout(
    ctx: Context, path: _Path, mounts: Mounts, reached: set[str], other: str, reported: set[str], key: str
) -> bool:
    """A path of an attached source in the other layout: the path Kaggle mounts it at instead. True when the
    path is one (reported or not)."""
    wrong = [(m, right, old) for m, right, old in mounts if _matches(path.parts, old)]
    if not wrong:
        return False
    mount, right, old = wrong[0]
    if mount.source in reached or path.probe:
        return True
    reported.add(key)
    layout = ctx.target.layout
    rest = [p for p in path.parts[len(old) :] if p != "*"]
    fixed = inputs.mount_path("/".join([*right, *rest]))
    ctx.error(
        "path",
        f"`{path.text}` is the {other} layout: Kaggle mounts {mount.kind} {mount.source} at "
        f"{inputs.mount_path(mount.path(layout))}",
        f"use {fixed}" + (" (or try both)" if layout == inputs.NESTED else ""),
        path.cell,
        path.line,
    )
    return True


def _unattached(ctx: Context, path: _Path) -> None:
    """A path in no attached source: name the source it implies, and how to attach it."""
    target = ctx.target
    parts = [p for p in path.parts if p != "*"]
    kind = _KIND_FLAGS.get(parts[0]) if parts else None
    if kind and len(parts) > _DEPTH[parts[0]]:
        ref = "/".join(parts[1 : 1 + _DEPTH[parts[0]]])
        fix = target.attach_flag(kind, ref)
        what = f"{kind} {ref}"
    elif parts and parts[0] in _KIND_FLAGS:
        return  # a folder of today's layout (/kaggle/input/datasets/owner): only listed, nothing read from it
    elif len(parts) == 1 and "." in parts[0] and len(path.parts) == 1:
        what = f"a file right under {inputs.INPUT_ROOT}, where Kaggle puts only folders (one per source)"
        fix = f"attach the source that holds {parts[0]}; read it from its folder, /kaggle/input/<kind>/.../{parts[0]}"
    else:
        what = f"a source whose slug is {parts[0]!r}" if parts else "a source"
        fix = f"attach the source whose slug is {parts[0]!r}; today Kaggle mounts it at /kaggle/input/<kind>/..."
    if not target.sources_known or path.probe:
        ctx.warning(
            "path",
            f"not seen: `{path.text}` needs {what}"
            + (", and no sources were given to check against" if not target.sources_known else ""),
            fix if target.sources_known else "pass the sources the kernel attaches (--competition, --dataset, "
            "--attach, --model), or check its kernel folder",
            path.cell,
            path.line,
        )
        return
    ctx.error(
        "path",
        f"FileNotFoundError: `{path.text}`: no attached source is mounted there (it needs {what})",
        fix,
        path.cell,
        path.line,
    )
