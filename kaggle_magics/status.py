"""``%kaggle_status``: a kernel run's state, and with ``wait`` the run followed to its end.

When the run ends we say what the API will not: how long it ran (from the log's timestamps and our polls, with
the precision of each), the last lines of its log, and its output files. Ctrl-C or ``timeout`` stop only the
waiting; the run goes on on Kaggle, and the returned status says so.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from . import timing
from .backends.base import Backend
from .errors import BackendError, NotFound, PermissionDenied
from .explain import reword
from .handles import KernelRef
from .progress import format_seconds, make_display
from .results import KernelStatus, LogEntry
from .waiting import Poll, Waited, close_display, wait_for

TAIL_LINES = 10
OUTAGE_GRACE = 600.0  # seconds of failing polls (each already retried) a long wait rides out
UNREADABLE = "status unreadable, still trying"  # the state shown while Kaggle does not answer

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def as_kernel_ref(ref: KernelRef | str) -> KernelRef:
    return ref if isinstance(ref, KernelRef) else KernelRef.parse(ref)


def get_status(backend: Backend, ref: KernelRef) -> KernelStatus:
    """One status call, with a missing kernel named and linked."""
    try:
        return backend.kernel_status(ref)
    except NotFound as exc:
        which = f"version {ref.version} of kernel {ref.id}" if ref.version else f"kernel {ref.id}"
        raise reword(
            exc,
            f"{which} not found",
            hint=backend.kernel_hint(ref),
        ) from None


def log_lines(entries: list[LogEntry]) -> list[str]:
    """The log as text lines, in order, without terminal colour codes."""
    text = "".join(e.data for e in entries)
    return [_ANSI.sub("", line) for line in text.splitlines()]


def status(
    backend: Backend,
    ref: KernelRef | str,
    *,
    wait: bool = False,
    logs: bool = False,
    timeout: float | None = None,
    poll: Poll | None = None,
    display: Any = None,
    tail: int = TAIL_LINES,
) -> KernelStatus:
    """The run's status; with ``wait`` (implied by ``timeout``), followed until it ends.

    ``logs`` returns the whole log (even of a run still going) instead of its last ``tail`` lines at the end.
    ``poll`` sets the polling schedule (default: 1 s growing to 30 s); ``display`` the progress display
    (None: tqdm in a notebook or terminal; False: none).
    """
    ref = as_kernel_ref(ref)
    first = get_status(backend, ref)
    waited: Waited[KernelStatus] | None = None
    if (wait or timeout is not None) and not first.done:
        shown = make_display(display, f"{ref}")
        schedule = poll or Poll()
        known = [first]
        outage: list[float] = []  # when the polls started failing, while they fail

        def check() -> KernelStatus:
            """A poll; during a Kaggle outage (its retries spent) the wait goes on, for up to OUTAGE_GRACE s."""
            try:
                known[0] = get_status(backend, ref)
            except (NotFound, PermissionDenied):
                raise
            except BackendError:
                outage[:1] = outage[:1] or [schedule.clock()]
                if schedule.clock() - outage[0] >= OUTAGE_GRACE:
                    raise
                return replace(known[0], status=UNREADABLE)
            outage.clear()
            return known[0]

        waited = wait_for(
            check,
            lambda s: s.status,
            lambda s: s.done,
            first=first,
            poll=schedule,
            timeout=timeout,
            display=shown,
        )
        if waited.last.status == UNREADABLE:  # stopped during an outage: report what we last knew
            waited.last = known[0]
        waited.observations = [o for o in waited.observations if o.state != UNREADABLE]
        close_display(shown, waited, waited.last.status)
    result = replace(waited.last if waited else first)
    result.notes = list(result.notes)
    if result.version is None:
        result.version = ref.version
    if waited is not None:
        result.waited_seconds = waited.elapsed
        result.interrupted = waited.interrupted
        result.timed_out = waited.timed_out
        again = f"follow it again with: kaggle-magics status {ref} --wait (or %kaggle_status in a notebook)"
        if waited.interrupted:
            result.notes.append(f"stopped waiting (Ctrl-C): the run goes on as {result.status}; {again}")
        elif waited.timed_out:
            result.notes.append(
                f"stopped waiting after {format_seconds(waited.elapsed)} (timeout {timeout:g} s): the run is"
                f" still {result.status}; {again}"
            )

    entries: list[LogEntry] = []
    if result.done or logs:
        entries = _read_log(backend, ref, result)
        lines = log_lines(entries)
        result.log_tail = lines if logs else lines[-tail:]
        result.whole_log = logs
    if result.done:
        if result.runtime_seconds is None:
            measured = timing.combine(
                timing.from_log(entries), timing.from_polls(waited.observations) if waited else None
            )
            if measured is not None:
                result.runtime_seconds = measured.seconds
                result.runtime_precision = measured.text
            else:
                result.notes.append(
                    "runtime unknown: the log has no timestamps and the polls did not see the run start"
                    " (wait from before it starts to time it)"
                )
        try:
            result.output_files = [item.name for item in backend.list_output(ref)]
        except BackendError as exc:
            result.notes.append(f"could not list the output files: {exc.message}")
    return result


def _read_log(backend: Backend, ref: KernelRef, result: KernelStatus) -> list[LogEntry]:
    """The run's log; a failure to read it is a note on the status, not a failure of the status."""
    try:
        return backend.kernel_log(ref)
    except BackendError as exc:
        result.notes.append(f"could not read the log: {exc.message}")
        return []
