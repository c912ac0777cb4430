"""Retries for calls to Kaggle: which failures deserve another try, how long to wait, and how a write that
may already have happened is checked before it is repeated.

The official clients retry little (the CLI: only 429 and connection errors, only on uploads and creations;
kagglehub: nothing), so the backend wraps each call:

- reads (:func:`read`) are retried on 429 (waiting what ``Retry-After`` asks), on 5xx and on dropped
  connections, with exponential backoff;
- writes (:func:`write`) are retried at once on 429 (the server refused them), and with backoff when no
  connection could be made (nothing was sent), but after a 5xx or a dropped connection they may have taken
  effect: a ``landed`` check runs first, and the write is repeated only if the check finds nothing.

Nothing here imports the clients: failures are recognised by shape (``exc.response.status_code``, the
exception class names of requests/urllib3), so this module stays cheap to import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

_CONNECTION_ERRORS = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "Timeout",
    "ChunkedEncodingError",
    "ProtocolError",
    "RemoteDisconnected",
    "ConnectionResetError",
    "ConnectionAbortedError",
    "BrokenPipeError",
    "IncompleteRead",
    "NewConnectionError",
    "MaxRetryError",
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The defaults suit kaggle.com; tests use delays of a few hundredths of a second."""

    attempts: int = 5  # tries in all, the first one included
    base_delay: float = 1.0  # seconds before the second try; doubles after each failure
    max_delay: float = 30.0
    max_retry_after: float = 300.0  # a longer Retry-After is not waited for: RateLimited at once
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def backoff(self, attempt: int) -> float:
        """The wait after failed try number ``attempt`` (1-based)."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def http_status(exc: BaseException) -> int | None:
    """The HTTP status behind a client exception, including Kaggle's ``{"code": N}`` in a 200 answer."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None
    if status < 400:
        try:
            code = response.json().get("code")  # type: ignore[union-attr]
        except Exception:
            code = None
        if isinstance(code, int) and code >= 400:
            return code
    return status


def server_message(exc: BaseException) -> str:
    """What the server said (its JSON ``message``), else the exception's text."""
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            message = response.json().get("message")
        except Exception:
            message = None
        if isinstance(message, str) and message:
            return message
    return str(exc)


def is_connection_error(exc: BaseException) -> bool:
    """A dropped, refused or timed-out connection (requests, urllib3, http.client or the OS)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "response", None) is None and any(
            cls.__name__ in _CONNECTION_ERRORS for cls in type(current).__mro__
        ):
            return True
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False


# A connection that was never made (no route, a name that does not resolve, a refused or timed-out connect):
# the request was not sent, so a write failed this way did not take effect.
_NOT_CONNECTED = ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError", "ConnectionRefusedError")


def never_sent(exc: BaseException) -> bool:
    """The call failed before a connection was made (requests and urllib3 keep the cause in ``args`` and
    ``reason`` as well as in the exception chain)."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if any(cls.__name__ in _NOT_CONNECTED for cls in type(current).__mro__):
            return True
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending += [item for item in linked if isinstance(item, BaseException)]
    return False


def is_transient(exc: BaseException) -> bool:
    """Worth another try: a 5xx answer or a broken connection."""
    status = http_status(exc)
    if status is not None:
        return status >= 500
    return is_connection_error(exc)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``Retry-After``: seconds or an HTTP date), if it said."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _rate_limit_wait(exc: BaseException, policy: RetryPolicy, attempt: int) -> float | None:
    """How long to wait after a 429, or None when we should give up now."""
    asked = retry_after(exc)
    if asked is None:
        return policy.backoff(attempt)
    if asked > policy.max_retry_after:
        return None
    return asked


def read(fn: Callable[[], T], policy: RetryPolicy, what: str = "call") -> T:
    """Run an idempotent call, retrying 429, 5xx and dropped connections. Other failures pass through.

    When the tries run out, the last failure is raised as it was (the caller maps it to our errors).
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except Exception as exc:
            wait = _wait_for(exc, policy, attempt, retry_transient=True)
            if wait is None:
                raise
            log.info("%s failed (%s); retrying in %.2fs", what, _brief(exc), wait)
            policy.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def write(
    fn: Callable[[], T],
    landed: Callable[[], T | None],
    policy: RetryPolicy,
    what: str = "call",
) -> tuple[T, bool]:
    """Run a call that changes something; never repeat it blindly.

    A 429 is retried after the wait it asks for (the server refused the call). After a 5xx or a dropped
    connection the call may have taken effect, so ``landed()`` looks for its result first: if it finds one,
    that is returned; if not, the call is tried again (bounded by ``policy.attempts``). Returns the result and
    whether it came from ``landed()``.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn(), False
        except Exception as exc:
            if http_status(exc) == 429:
                wait = _wait_for(exc, policy, attempt, retry_transient=False)
                if wait is None:
                    raise
                log.info("%s rate limited; retrying in %.2fs", what, wait)
                policy.sleep(wait)
                continue
            if not is_transient(exc):
                raise
            if never_sent(exc):  # nothing reached Kaggle: no check needed before another try
                if attempt == policy.attempts:
                    raise
                wait = policy.backoff(attempt)
                log.info("%s could not connect (%s); retrying in %.2fs", what, _brief(exc), wait)
                policy.sleep(wait)
                continue
            found = landed()
            if found is not None:
                log.info("%s failed (%s) but it had taken effect", what, _brief(exc))
                return found, True
            if attempt == policy.attempts:
                raise
            wait = policy.backoff(attempt)
            log.info("%s failed (%s) and did not take effect; retrying in %.2fs", what, _brief(exc), wait)
            policy.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _wait_for(
    exc: BaseException, policy: RetryPolicy, attempt: int, *, retry_transient: bool
) -> float | None:
    if attempt >= policy.attempts:
        return None
    if http_status(exc) == 429:
        return _rate_limit_wait(exc, policy, attempt)
    if retry_transient and is_transient(exc):
        return policy.backoff(attempt)
    return None


def _brief(exc: BaseException) -> str:
    status = http_status(exc)
    return f"HTTP {status}" if status is not None else type(exc).__name__

