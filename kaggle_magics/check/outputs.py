"""The submission: a kernel with a competition source must write ``submission.csv`` to ``/kaggle/working``.

A static read sees a literal ``submission.csv`` (or ``.parquet``) written relative to the working folder or
under ``/kaggle/working``, a shell line that makes one, or a competition API that writes it itself (an
inference server's ``serve()``, ``kaggle_evaluation``, ``env.iter_test()``). When it sees none it says
"not seen", never "missing": the name may be computed.
"""

from __future__ import annotations

import re

from .context import Context

_NAME = re.compile(r"(?:^|[/\s'\"])submission\.(?:csv|parquet|json|zip|csv\.gz)$")
_API_CALLS = frozenset({"serve", "iter_test", "make_env", "run_local_gateway"})
WORKING = "/kaggle/working"


def _written_to(value: str, chdir: bool) -> str | None:
    """Where a string that names a submission file puts it: "working", "elsewhere" (another folder: Kaggle
    reads only ``/kaggle/working/submission.csv``) or None (not one). A folder not written out (``{}``), or
    a relative one after an ``os.chdir``, may be the working folder."""
    if not _NAME.search(value) or "sample_submission" in value:
        return None
    path = value.split()[-1] if value.split() else value
    folder = path.rpartition("/")[0]
    if "{" in folder or folder in (WORKING, "", "."):
        return "working"
    if path.startswith(("/", "~")):
        return "elsewhere"
    return "working" if chdir else "elsewhere"


def check_submission(ctx: Context) -> None:
    if not ctx.target.competition:
        return
    facts = ctx.facts
    if "kaggle_evaluation" in ctx.scan.top_modules() or any(
        c.last in _API_CALLS and c.qualified != c.last for c in facts.calls
    ):
        return  # the competition's API writes the submission itself
    places = [_written_to(s.value, facts.chdir) for s in facts.strings]
    places += [
        "working" if re.search(r"(?:^|[\s/])submission\.(?:csv|parquet)\b", c.text) else None for c in ctx.commands()
    ]
    if "working" in places:
        return
    if "elsewhere" in places:
        where = next(s for s in facts.strings if _written_to(s.value, facts.chdir) == "elsewhere")
        ctx.warning(
            "submission",
            f"`{where.value}` is not {WORKING}/submission.csv, the one file Kaggle looks for; it fails with "
            "'Submission CSV Not Found'",
            f"write it to {WORKING}/submission.csv",
            where.cell,
            where.line,
        )
        return
    ctx.warning(
        "submission",
        f"not seen: no write of submission.csv to {WORKING} (if there is none, Kaggle fails the run with "
        "'Submission CSV Not Found')",
        f"write it: df.to_csv('{WORKING}/submission.csv', index=False)",
        None,
        None,
    )
