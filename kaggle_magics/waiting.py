"""Waiting on Kaggle: a polling schedule with backoff, a deadline, a live display, and Ctrl-C that stops only
the waiting.

Kaggle runs last minutes to hours and its API has no push notifications, so we poll: often at first (a short
run should not wait 30 s for nothing), then less and less (a long one should not hammer the API). Every poll's
time and state is kept, because the API reports no durations: :mod:`kaggle_magics.timing` turns these
observations into a runtime with bounds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .progress import format_seconds

T = TypeVar("T")


@dataclass(frozen=True)
class Poll:
    """How often to ask: ``first`` seconds after the first poll, growing by ``factor`` up to ``most``.

    ``clock`` and ``sleep`` are injectable so tests can run a long wait in no time; ``tick`` is how often the
    display's elapsed time is refreshed between polls.
    """

    first: float = 1.0
    factor: float = 1.5
    most: float = 30.0
    tick: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.most < self.first or self.tick <= 0:
            raise ValueError(
                f"bad poll schedule (first={self.first}, factor={self.factor}, most={self.most},"
                f" tick={self.tick}):"
                " need first > 0, factor >= 1, most >= first, tick > 0"
            )

    def delays(self) -> Iterator[float]:
        """The pauses between polls: first, first*factor, ... capped at most (never ending)."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.most)


@dataclass(frozen=True)
class Observation:
    """One poll: when (our clock, seconds since the wait began) and the state it saw."""

    at: float
    state: str


@dataclass
class Waited(Generic[T]):
    """How a wait ended: the last answer, every observation, and why it stopped."""

    last: T
    observations: list[Observation] = field(default_factory=list)
    elapsed: float = 0.0
    interrupted: bool = False
    timed_out: bool = False

    @property
    def stopped_early(self) -> bool:
        return self.interrupted or self.timed_out


def wait_for(
    check: Callable[[], T],
    state_of: Callable[[T], str],
    done: Callable[[T], bool],
    *,
    first: T,
    poll: Poll,
    timeout: float | None = None,
    display: Any,
) -> Waited[T]:
    """Poll ``check`` until ``done``; ``first`` is the answer already in hand (observed at time 0).

    KeyboardInterrupt anywhere in the loop (a poll, the sleep, the display) ends the wait and returns what we
    know: the caller decides what that means (for a kernel: the run goes on). ``timeout`` seconds after the
    start one last poll is made, then the wait ends with ``timed_out``.
    """
    start = poll.clock()
    result: Waited[T] = Waited(last=first, observations=[Observation(0.0, state_of(first))])

    def now() -> float:
        return poll.clock() - start

    try:
        if done(first):
            return result
        display.update(state_of(first), 0.0)
        for delay in poll.delays():
            wake = now() + delay
            if timeout is not None:
                wake = min(wake, timeout)
            while (left := wake - now()) > 0:
                poll.sleep(min(poll.tick, left))
                display.update(state_of(result.last), now())
            answer = check()
            result.last = answer
            result.observations.append(Observation(now(), state_of(answer)))
            display.update(state_of(answer), now())
            if done(answer):
                break
            if timeout is not None and now() >= timeout:
                result.timed_out = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
    except Exception:
        # A poll that failed for good (the backend has retried already): leave no live bar behind.
        with contextlib.suppress(Exception, KeyboardInterrupt):
            display.close(f"{state_of(result.last)}, stopped waiting: the status could not be read")
        raise
    finally:
        result.elapsed = now()
    return result


def close_display(display: Any, waited: Waited[Any], state: str) -> None:
    """Leave the display with a final line that says how the wait ended."""
    if waited.interrupted:
        final = f"{state}, stopped waiting after {format_seconds(waited.elapsed)} (Ctrl-C)"
    elif waited.timed_out:
        final = f"{state}, stopped waiting after {format_seconds(waited.elapsed)} (timeout)"
    else:
        final = f"{state} after {format_seconds(waited.elapsed)}"
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while closing changes nothing
        display.close(final)
