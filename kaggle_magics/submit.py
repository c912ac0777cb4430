"""``%kaggle_submit``: a code-competition submission of a kernel version, or a file for a file competition,
and with ``wait`` the score.

A submission counts against a daily limit and cannot be taken back, so it is sent once and never repeated
here: when the answer is lost (a dropped connection after the request left), the submissions-left count, read
before and after, tells whether it probably went through, and the error says to look before submitting again.
The API reports no scoring time either: with ``wait`` it is measured from the polls.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import timing
from .backends.base import Backend
from .errors import BackendError, InputError, InvalidRef, KaggleMagicsError, MaybeApplied, NotFound, PermissionDenied
from .explain import reword
from .handles import CompetitionRef, KernelRef
from .progress import make_display
from .results import Submission
from .status import as_kernel_ref
from .waiting import Poll, close_display, wait_for

SUBMISSION_DONE = frozenset({"COMPLETE", "ERROR"})


class NoSubmissionsLeft(KaggleMagicsError):
    """The competition's daily submission limit is used up."""


def _state(sub: Submission) -> str:
    return (sub.status or "PENDING").upper()


def _rules_hint(comp: CompetitionRef) -> str:
    return (
        f"open {comp.url}/rules and accept the rules with the account whose credentials are in use"
        " (Kaggle refuses submissions, and data, until then)"
    )


def _limits(backend: Backend, comp: CompetitionRef) -> int | None:
    """Submissions left now; also the cheap check that the competition exists and we may enter it."""
    try:
        return backend.submissions_left(comp)
    except NotFound as exc:
        raise reword(
            exc,
            f"competition {comp.slug!r} not found",
            hint=backend.competition_hint(comp),
        ) from None
    except PermissionDenied as exc:
        raise reword(exc, f"not allowed to submit to {comp.slug!r}", hint=_rules_hint(comp)) from None


def submit(
    backend: Backend,
    competition: CompetitionRef | str,
    *,
    kernel: KernelRef | str | None = None,
    version: int | None = None,
    file: str | os.PathLike[str] = "submission.csv",
    message: str = "",
    wait: bool = False,
    timeout: float | None = None,
    poll: Poll | None = None,
    display: Any = None,
) -> Submission:
    """Submit ``kernel`` (at ``version``, else the ref's version, else its latest) whose run writes
    ``file``, or, without ``kernel``, the local ``file``; with ``wait`` (implied by ``timeout``) wait for the
    score."""
    comp = competition if isinstance(competition, CompetitionRef) else CompetitionRef.parse(competition)
    kref: KernelRef | None = None
    path: Path | None = None
    if kernel is not None:
        kref = as_kernel_ref(kernel)
        if version is not None:
            if kref.version is not None and kref.version != version:
                raise InvalidRef(
                    f"{kref} names version {kref.version} but version {version} was asked for",
                    hint="give the version once",
                )
            kref = kref.with_version(version)
        if Path(str(file)).is_absolute() or ".." in Path(str(file)).parts:
            raise InvalidRef(
                f"--file {str(file)!r}: for a code submission this is the name of the file the kernel writes"
                " in"
                " /kaggle/working, not a local path",
                hint="e.g. --file submission.csv",
            )
    else:
        if version is not None:
            raise InvalidRef("a version was given without a kernel", hint="add --kernel owner/slug")
        path = Path(file).expanduser()
        if not path.is_file():
            raise InputError(
                f"submission file {str(path)!r} not found",
                hint="for a file competition give the path of your CSV; for a code competition add"
                " --kernel owner/slug",
            )

    left_before = _limits(backend, comp)
    if left_before == 0:
        raise NoSubmissionsLeft(
            f"no submissions left today in {comp.slug!r}",
            hint=f"the daily limit resets at 00:00 UTC; your submissions: {comp.url}/submissions",
        )

    poll = poll or Poll()
    try:
        if kref is not None:
            sub = backend.submit_code(comp, kref, file_name=str(file), message=message)
        else:
            assert path is not None
            sub = backend.submit_file(comp, path, message=message)
    except NotFound as exc:
        raise _not_found(backend, comp, kref, exc) from None
    except PermissionDenied as exc:
        raise reword(exc, f"not allowed to submit to {comp.slug!r}", hint=_rules_hint(comp)) from None
    except BackendError as exc:
        raise _maybe_sent(backend, comp, left_before, exc) from None

    sub = replace(sub, notes=list(sub.notes))
    sub.competition = sub.competition or comp.slug
    sub.kernel = str(kref) if kref is not None else None
    sub.url = sub.url or f"{comp.url}/submissions"
    waited = (wait or timeout is not None) and _state(sub) not in SUBMISSION_DONE
    if waited:
        sub = _wait(backend, comp, sub, poll=poll, timeout=timeout, display=display)
    if waited or sub.submissions_left is None:
        try:
            sub.submissions_left = backend.submissions_left(comp)
        except BackendError as exc:
            sub.notes.append(f"could not read the submissions left today: {exc.message}")
    return sub


def _wait(
    backend: Backend,
    comp: CompetitionRef,
    sub: Submission,
    *,
    poll: Poll,
    timeout: float | None,
    display: Any,
) -> Submission:
    if not sub.ref:
        sub.notes.append("cannot wait for the score: Kaggle returned no submission ref")
        return sub
    ref = sub.ref
    shown = make_display(display, f"submission {ref}")
    waited = wait_for(
        lambda: backend.submission_status(comp, ref),
        _state,
        lambda s: _state(s) in SUBMISSION_DONE,
        first=sub,
        poll=poll,
        timeout=timeout,
        display=shown,
    )
    close_display(shown, waited, _state(waited.last))
    last = waited.last
    result = replace(
        sub,
        status=last.status,
        public_score=last.public_score,
        error=last.error,
        message=last.message or sub.message,
        waited_seconds=waited.elapsed,
        interrupted=waited.interrupted,
        timed_out=waited.timed_out,
    )
    measured = timing.since_start(waited.observations, ended=SUBMISSION_DONE)
    if measured is not None:
        result.runtime_seconds = measured.seconds
        result.runtime_precision = f"{measured.text}, from submit to score (Kaggle's queue included)"
    if waited.interrupted:
        result.notes.append("stopped waiting (Ctrl-C): the submission goes on; its score will be on the page")
    elif waited.timed_out:
        result.notes.append(f"stopped waiting after {waited.elapsed:.0f} s (timeout): the submission goes on")
    return result


def _not_found(backend: Backend, comp: CompetitionRef, kref: KernelRef | None, exc: NotFound) -> NotFound:
    """Which thing was missing: the kernel (or its version) or the competition. Reading is safe to repeat."""
    if kref is not None:
        try:
            backend.kernel_status(kref)
        except NotFound:
            which = f"version {kref.version} of kernel {kref.id}" if kref.version else f"kernel {kref.id}"
            return reword(
                exc,
                f"{which} not found, so it cannot be submitted",
                hint=f"push it first (%kaggle_push); {backend.kernel_hint(kref)}",
            )
        except BackendError:
            pass
    return reword(
        exc,
        f"competition {comp.slug!r} not found",
        hint=backend.competition_hint(comp),
    )


def _maybe_sent(
    backend: Backend, comp: CompetitionRef, left_before: int | None, exc: BackendError
) -> BackendError:
    """An error after the request may have left: say whether the submission count moved; never resubmit.

    An unchanged count means the submission failed only when the backend says so; when it could not check
    (:class:`MaybeApplied`), the count proves nothing: Kaggle may not have counted the submission yet."""
    page = f"{comp.url}/submissions"
    try:
        left_after = backend.submissions_left(comp)
    except BackendError:
        left_after = None
    if left_before is not None and left_after is not None and left_after < left_before:
        return reword(
            exc,
            f"the submission to {comp.slug!r} probably went through, but its answer was lost (submissions"
            " left"
            f" went from {left_before} to {left_after})",
            hint=f"do not submit again: look at {page}",
        )
    if left_before is not None and left_after is not None and not isinstance(exc, MaybeApplied):
        return reword(
            exc,
            f"the submission to {comp.slug!r} failed (submissions left unchanged at {left_after})",
            hint=f"check {page}, then submit again",
        )
    if left_before is not None and left_after is not None:  # the count may lag behind what was made
        return reword(
            exc,
            f"the submission to {comp.slug!r} may have gone through: its answer was lost and it could not be"
            f" checked (submissions left still read {left_after}, which Kaggle may not have updated yet)",
            hint=f"look at {page} before submitting again (a second submission counts against today's limit)",
        )
    return reword(
        exc,
        f"the submission to {comp.slug!r} may or may not have gone through",
        hint=f"look at {page} before submitting again (a second submission counts against today's limit)",
    )
