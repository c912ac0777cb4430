"""How long a run took, when the API will not say.

Kaggle reports a run's state but no start or end time. Two witnesses remain, and each comes with its own
precision, which we always state:

- the log: every entry carries ``time``, seconds since the run started, so the last entry is a lower bound
  on the runtime, and in practice a few seconds short of it (the runner still saves and shuts down);
- our polls: the run started between the last poll that saw it waiting and the first that saw it running (or
  ended), and ended between the last poll that saw it running and the first that saw it ended. That gives a
  lower and an upper bound whose width is the poll interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .results import LogEntry
from .waiting import Observation

KERNEL_DONE = frozenset({"COMPLETE", "ERROR", "CANCEL_ACKNOWLEDGED"})
KERNEL_STARTED = frozenset({"RUNNING", "CANCEL_REQUESTED"}) | KERNEL_DONE

# Our clock and the log's are read at different moments: differences up to this are not disagreements.
CLOCK_SLACK = 1.0


@dataclass(frozen=True)
class Runtime:
    """A measured runtime: the best value, its bounds when known, and a sentence saying where it is from."""

    seconds: float
    low: float | None
    high: float | None
    text: str


def _s(value: float) -> str:
    return f"{value:.0f} s"


def from_polls(
    observations: Sequence[Observation],
    *,
    started: Iterable[str] = KERNEL_STARTED,
    ended: Iterable[str] = KERNEL_DONE,
) -> Runtime | None:
    """Bounds from the polls, or None when the polls never saw the run end (or only ever saw it ended)."""
    started, ended = frozenset(started), frozenset(ended)
    i_start = next((i for i, o in enumerate(observations) if o.state in started), None)
    i_end = next((i for i, o in enumerate(observations) if o.state in ended), None)
    if i_start is None or i_end is None or i_end == 0:
        return None
    t = [o.at for o in observations]
    low = max(0.0, t[i_end - 1] - t[i_start]) if i_start < i_end else 0.0
    if i_start == 0:
        if low < 1:  # seen running once, then ended: it may have run for any time before that first poll
            return None
        return Runtime(
            low, low, None, f"at least {_s(low)} from polls (it was already running at the first poll)"
        )
    high = t[i_end] - t[i_start - 1]
    return Runtime((low + high) / 2, low, high, f"between {_s(low)} and {_s(high)} from polls")


def from_log(entries: Sequence[LogEntry]) -> Runtime | None:
    """The last log entry's time (seconds since the run started), or None for an empty log."""
    times = [e.time for e in entries if e.time is not None and e.time >= 0]
    if not times:
        return None
    last = max(times)
    return Runtime(
        last, last, None, f"{last:.0f} s from the log (its last entry; the run ends seconds after)"
    )


def combine(log: Runtime | None, polls: Runtime | None) -> Runtime | None:
    """Both witnesses in one: the log's value (the precise one) bounded above by the polls, both said.

    When the polls prove the run lasted longer than the log's last entry, the polls' estimate wins and the log
    is mentioned; when the log ends after the polls say the run had ended, the disagreement is said rather
    than hidden (the log's clock then starts before Kaggle reported RUNNING).
    """
    if log is None:
        return polls
    if polls is None:
        return log
    if polls.low is not None and polls.low > log.seconds + CLOCK_SLACK:
        return Runtime(
            polls.seconds,
            polls.low,
            polls.high,
            f"{polls.text}; the log's last entry is at {_s(log.seconds)} (the run went on after it)",
        )
    text = f"{log.text}; {polls.text}"
    if polls.high is not None and log.seconds > polls.high + CLOCK_SLACK:
        text += " (they disagree: the log counts from before the run was seen starting)"
        return Runtime(log.seconds, log.seconds, None, text)
    return Runtime(log.seconds, log.seconds, polls.high, text)


def since_start(observations: Sequence[Observation], *, ended: Iterable[str]) -> Runtime | None:
    """For waits whose start we caused (a submission: observation 0 is its creation): the end lies between the
    last poll before the first that saw it ended, and that poll."""
    ended = frozenset(ended)
    i_end = next((i for i, o in enumerate(observations) if o.state in ended), None)
    if i_end is None or i_end == 0:
        return None
    low, high = observations[i_end - 1].at, observations[i_end].at
    return Runtime((low + high) / 2, low, high, f"between {_s(low)} and {_s(high)} from polls")
