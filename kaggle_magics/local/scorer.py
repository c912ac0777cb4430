"""Kaggle's scorer, as far as it can be known without the answers: the checks a code-competition submission
must pass before it gets a score.

After the run, ``/kaggle/working/submission.csv`` must exist ("Submission CSV Not Found" otherwise) and match
the competition's ``sample_submission.csv``: the same columns, the same number of rows and, when the first
column is an id (``id``, ``row_id``, ``PassengerId``, ...), the same ids, each once ("Submission Scoring
Error: ..." otherwise). Those are the names Kaggle gives the failures. There is no score: the local Kaggle has
no answers.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SUBMISSION = "submission.csv"
SAMPLE = "sample_submission.csv"
NOT_FOUND = "Submission CSV Not Found"
SCORING_ERROR = "Submission Scoring Error"
_SHOWN = 3  # ids named in a message


@dataclass
class Scoring:
    """What a competition kernel's output is checked against (kept in the run's spec.json)."""

    competition: str
    sample: str | None  # host path of the sample submission (the hidden test's, with --hidden-test)
    note: str | None = None  # what cannot be checked, and why
    columns_only: bool = False  # a hidden test without its sample submission: rows and ids are unknown

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Scoring | None:
        return cls(**data) if data else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    """The scorer's answer: passed (with what was checked), or the error Kaggle would report."""

    ok: bool
    text: str  # "submission.csv: 10 rows, columns id, y (as sample_submission.csv)" or the error
    hint: str | None = None  # what the output shows of the fix, when it shows something

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sample_submission(data: Path) -> Path | None:
    """The competition's sample_submission.csv (any case), if its data has one."""
    if not data.is_dir():
        return None
    return next((p for p in sorted(data.iterdir()) if p.name.lower() == SAMPLE and p.is_file()), None)


def is_id_column(name: str) -> bool:
    """``id``, ``row_id``, ``ID_code``, ``PassengerId``, ``ID``: a column that names the rows."""
    name = name.strip()
    lowered = name.lower()
    return lowered == "id" or lowered.startswith("id_") or lowered.endswith("_id") or name.endswith(("Id", "ID"))


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise ValueError("the file is empty")
    return rows[0], rows[1:]


def _some(values: set[str]) -> str:
    shown = ", ".join(repr(v) for v in sorted(values)[:_SHOWN])
    return shown + (", ..." if len(values) > _SHOWN else "")


def _misplaced(file: Path) -> str | None:
    """A submission file written in a subfolder of the output: Kaggle reads only the one at its top."""
    found = sorted(p.relative_to(file.parent).as_posix() for p in file.parent.rglob(file.name) if p.is_file())
    if not found:
        return None
    return f"{', '.join(found)} was written, but Kaggle reads only /kaggle/working/{file.name}: write it there"


def check(file: Path, sample: Path | None, *, columns_only: bool = False) -> Verdict:
    """Check the submission ``file`` against ``sample`` (None: only that it exists and reads as CSV;
    ``columns_only``: not its rows and ids)."""
    if not file.is_file():
        return Verdict(False, NOT_FOUND, _misplaced(file))
    try:
        header, rows = _read(file)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        return Verdict(False, f"{SCORING_ERROR}: cannot read {file.name} as CSV ({exc})")
    if sample is None:
        return Verdict(True, f"{file.name}: {len(rows)} rows, columns {', '.join(header)} (no sample submission)")
    try:
        expected_header, expected = _read(sample)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        return Verdict(False, f"cannot read the sample submission {sample} ({exc})")
    if header != expected_header:
        missing = [c for c in expected_header if c not in header]
        extra = [c for c in header if c not in expected_header]
        detail = (
            f"missing {', '.join(missing)}" if missing
            else f"unexpected {', '.join(extra)}" if extra
            else "in another order"
        )  # fmt: skip
        got, want = ", ".join(header), ", ".join(expected_header)
        return Verdict(False, f"{SCORING_ERROR}: columns {got}, expected {want} ({detail})")
    if columns_only:
        return Verdict(True, f"{file.name}: {len(rows)} rows, columns {', '.join(header)} (as {sample.name})")
    if len(rows) != len(expected):
        return Verdict(False, f"{SCORING_ERROR}: {len(rows)} rows, expected {len(expected)}")
    if is_id_column(header[0]):
        ids = [row[0] for row in rows]
        seen: set[str] = set()
        twice = {i for i in ids if i in seen or seen.add(i)}  # type: ignore[func-returns-value]
        if twice:
            return Verdict(False, f"{SCORING_ERROR}: {header[0]} {_some(twice)} appear more than once")
        wanted = {row[0] for row in expected}
        unknown, absent = seen - wanted, wanted - seen
        wrong = [f"{len(unknown)} {header[0]} values not in the sample submission ({_some(unknown)})"] * bool(unknown)
        wrong += [f"{len(absent)} missing ({_some(absent)})"] if absent else []
        if wrong:
            return Verdict(False, f"{SCORING_ERROR}: " + "; ".join(wrong))
    same = f", {header[0]} as in the sample" if is_id_column(header[0]) else ""
    return Verdict(True, f"{file.name}: {len(rows)} rows, columns {', '.join(header)}{same} (as {sample.name})")
