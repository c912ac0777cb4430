"""Executed notebooks compared with committed ones: run with nbclient, outputs normalised, shown as a diff.

Two steps make a run comparable with the committed outputs:

- :func:`name_places`: the run's own folders (its temp copy of the examples, the local store, the temp and
  cache folders) are written as what names them (``./``, ``$KAGGLE_MAGICS_STORE``, ...). The committed
  notebooks hold the outputs written this way, with their real timings and sizes, as a reader would see them.
- :data:`VOLATILE`: what changes from one run or machine to the next (seconds, measured sizes, dates,
  versions, widget ids, what this machine lacks against Kaggle's limits) becomes a placeholder, on both sides,
  before comparing. Everything else must match: statuses, verdicts, messages, file names, cell counts.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat

from kaggle_magics.metadata import write_text_atomic

# (pattern, replacement, why), applied in this order to every line of every output.
VOLATILE: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"\x1b\[[0-9;]*m"), "", "terminal colours (tracebacks)"),
    (re.compile(r"^.*kaggle-magics: building Kaggle's image twin once .*$"), "",
     "said only when this machine's cache lacks the twin"),
    (re.compile(r"^.*this machine has .* (?:fewer|less) than the .*$"), "",
     "what this machine lacks against Kaggle's limits (CPUs, memory): differs per machine"),
    (re.compile(r"\b(seconds(?:</th><td>|\s+))\d+(?:\.\d+)?"), r"\1<N>", "a result's seconds (runtime seconds 6.9)"),
    (re.compile(r"\b\d+(?:\.\d+)?(?= ?(?:s|sec|seconds)\b)"), "<N>", "durations (12.3 s, 4 seconds)"),
    (re.compile(r"\b\d+:\d{2}(?::\d{2})?(?:\.\d+)?\b"), "<T>", "clock times and elapsed mm:ss"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:bytes|B|kB|KB|KiB|MB|MiB)\b"), "<SIZE>", "measured sizes (122 MB, 0 bytes)"),
    (re.compile(r"\b\d+\.\d+ ?(?:GB|GiB)\b"), "<SIZE>", "measured sizes in GB (1.6 GB); whole limits (30 GB) stay"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:file|it)/s\b"), "<RATE>", "progress bar rates"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?"), "<DATE>", "dates and timestamps"),
    (re.compile(r"(kaggle[-_]magics[-= ]v?)\d+\.\d+(?:\.\d+)?(?:(?:a|b|rc|\.dev|\.post)\d+)?(?:\+[\w.]+)?"),
     r"\1<VERSION>", "kaggle-magics's own version (its wheel's name)"),
    (re.compile(r"\b(Python 3\.\d+)\.\d+\b"), r"\1.<N>", "the patch release of this machine's Python 3.12"),
    (re.compile(r"\b(packaging|uv)([- ])\d+(?:\.\d+)+\b"), r"\1\2<VERSION>",
     "the bundle tools' versions (a local freeze takes this environment's packaging and uv)"),
    (re.compile(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b"), "<STAMP>", "a rehearsal's folder: its start time, a random part"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<SHA256>", "content hashes"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<ID>", "widget model ids"),
    (re.compile(r"\b(py3\.\d+-)[0-9a-f]{20}\b"), r"\1<KEY>", "image twin cache keys"),
]


def normalise(text: str) -> str:
    lines = []
    for line in text.splitlines():
        for pattern, replacement, _why in VOLATILE:
            line = pattern.sub(replacement, line)
        lines.append(line.rstrip())
    return "\n".join(line for line in lines if line)


def name_places(nb: Any, places: dict[str, str]) -> Any:
    """A copy of ``nb`` whose outputs write each folder of ``places`` (path -> name) as its name, longest
    paths first (a folder inside another keeps its own name)."""
    order = sorted(places.items(), key=lambda item: -len(item[0]))

    def named(text: str) -> str:
        for path, name in order:
            text = text.replace(path, name)
        return text

    out = copy.deepcopy(nb)
    for cell in out.cells:
        for output in cell.get("outputs", []):
            _map_texts(output, named)
    return out


def _map_texts(output: dict[str, Any], change: Callable[[str], str]) -> None:
    if "text" in output:
        output["text"] = change("".join(output["text"]))
    if "evalue" in output:
        output["evalue"] = change(output["evalue"])
        output["traceback"] = [change(line) for line in output.get("traceback", [])]
    for mime, value in output.get("data", {}).items():
        if isinstance(value, str):
            output["data"][mime] = change(value)
        elif isinstance(value, list):
            output["data"][mime] = change("".join(value))


def _blocks(cell: Any) -> Iterator[tuple[str, str]]:
    """A cell's outputs as (label, text): each stream's text joined at its first place (stdout and stderr may
    interleave differently from run to run), rich outputs in order, each of their types."""
    streams: dict[str, list[str]] = {}
    order: list[tuple[str, Any]] = []
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream":
            if output["name"] not in streams:
                streams[output["name"]] = []
                order.append(("stream", output["name"]))
            streams[output["name"]].append("".join(output["text"]))
        else:
            order.append(("rich", output))
    for kind, item in order:
        if kind == "stream":
            yield f"stream {item}", "".join(streams[item])
        elif item["output_type"] == "error":
            yield f"error {item['ename']}", item["evalue"] + "\n" + "\n".join(item.get("traceback", []))
        else:
            for mime, value in sorted(item.get("data", {}).items()):
                text = json.dumps(value, indent=1, sort_keys=True) if isinstance(value, dict) else "".join(value)
                if mime == "text/html":  # a row per line, for a diff that shows the row
                    text = re.sub(r"(</tr>|<br>|</caption>)", "\\1\n", text)
                yield f"{item['output_type']} {mime}", text


def render(nb: Any) -> list[str]:
    """The notebook's cells and their outputs as normalised lines of text."""
    lines: list[str] = []
    for number, cell in enumerate(nb.cells, 1):
        first = cell.source.splitlines()[0] if cell.source else ""
        lines.append(f"=== cell {number} ({cell.cell_type}): {first}")
        for label, text in _blocks(cell):
            text = normalise(text)
            if text:
                lines += [f"--- {label}", *text.splitlines()]
    return lines


def diff(committed: Any, executed: Any) -> str:
    """A unified diff of the two notebooks' normalised outputs; empty when they agree."""
    return "\n".join(
        difflib.unified_diff(render(committed), render(executed), "committed", "executed", lineterm="", n=2)
    )


def write_atomically(path: Path, nb: Any) -> None:
    write_text_atomic(path, nbformat.writes(nb) + "\n")


def kernelspec(folder: Path) -> Path:
    """A kernelspec folder whose ``python3`` is this interpreter (not whatever else Jupyter would find)."""
    spec = folder / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}), encoding="utf-8"
    )
    return folder


def execute(path: Path, *, env: dict[str, str], kernels: Path, timeout: float) -> Any:
    """``path`` executed in its own folder by a fresh kernel of ``kernels`` with ``env``; the executed notebook.
    What ran is also written beside it (``NAME.executed.ipynb``), to read after a failure."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    client = NotebookClient(
        nb, km=km, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False, record_timing=False,  # neither widget ids nor timestamps in the metadata
    )  # fmt: skip
    try:
        client.execute(env=env, cleanup_kc=True)  # the kernel is shut down and its sockets closed
    finally:
        nbformat.write(nb, path.with_suffix(".executed.ipynb"))
    return nb
