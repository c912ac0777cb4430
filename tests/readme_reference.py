"""The README's reference table, made from the code: every command-line verb and magic with what it does and
every one of its options, from the same lists the parsers are built from (kaggle_magics/options.py).

``python -m tests.readme_reference`` writes it into README.md between its markers; tests/test_docs.py fails
while the README holds another table.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- reference: made by `python -m tests.readme_reference`; tests/test_docs.py keeps it so -->"
END = "<!-- reference: end -->"

# verb -> the magic that runs it (verbs without a magic are for terminals only)
MAGICS = {
    "push": "%kaggle_push",
    "check": "%kaggle_check",
    "freeze": "%kaggle_freeze",
    "install": "%kaggle_install",
    "status": "%kaggle_status",
    "output": "%kaggle_output",
    "submit": "%kaggle_submit",
    "dataset": "%kaggle_dataset",
    "model": "%kaggle_model",
    "rehearse": "%kaggle_rehearse",
}


def _options(specs: list) -> str:
    """``PATH``, then ``--flag VALUE`` for each option, in the order of the verb's help."""
    positional, flags = [], []
    for names, kwargs in specs:
        if not names[0].startswith("-"):
            positional.append(f"`{kwargs.get('metavar') or names[0].upper()}`")
            continue
        flag = max(names, key=len)
        takes = kwargs.get("action") not in ("store_true", "store_false")
        choices = "|".join(kwargs["choices"]) if kwargs.get("choices") else None
        value = (choices or kwargs.get("metavar") or kwargs.get("dest", flag.lstrip("-")).upper()) if takes else ""
        flags.append(f"`{flag} {value}`" if value else f"`{flag}`")
    return (", ".join(positional + flags) or "-").replace("|", "\\|")  # a table cell: its pipes escaped


def table() -> str:
    from kaggle_magics import options as opts
    from kaggle_magics.cli import LOCAL_COMPETITION_VERBS, LOCAL_IMAGE_VERBS, VERBS

    rows = ["| command line | magic | what it does | arguments and options |", "| --- | --- | --- | --- |"]

    def row(command: str, magic: str, summary: str, specs: list) -> None:
        summary = summary.replace("|", "\\|")
        rows.append(f"| {command} | {magic} | {summary} | {_options(specs)} |")

    for name, (summary, specs) in VERBS.items():
        row(f"`kaggle-magics {name}`", f"`{MAGICS[name]}`" if name in MAGICS else "", summary, specs)
        if name == "push":
            row("", "`%%kaggle_sub`", "the cell below it as a submission notebook, pushed (the same options)",
                opts.KERNEL)
    for name, (summary, specs, _handler) in LOCAL_COMPETITION_VERBS.items():
        row(f"`kaggle-magics local competition {name}`", "", summary, specs)
    for name, (summary, specs, _handler) in LOCAL_IMAGE_VERBS.items():
        row(f"`kaggle-magics local image {name}`", "", summary, specs)
    row("", "`%kaggle_panel`", "a panel that drives the whole workflow with buttons", opts.PANEL)
    return "\n".join(rows)


def block() -> str:
    return f"{START}\n{table()}\n{END}"


def current(text: str) -> str | None:
    match = re.search(re.escape(START) + r".*?" + re.escape(END), text, flags=re.S)
    return match.group(0) if match else None


def write() -> None:
    text = README.read_text(encoding="utf-8")
    old = current(text)
    if old is None:
        sys.exit(f"README.md has no reference block (a line {START!r} ... {END!r})")
    README.write_text(text.replace(old, block()), encoding="utf-8")


if __name__ == "__main__":
    write()
