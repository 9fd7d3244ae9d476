"""The one retry policy: how many tries, and how long to wait before each.

API calls get it through the Singer SDK's backoff hooks (PardotStream.backoff_*); the two
calls outside the SDK's request loop use `retrying` with the same waits: the token or login
POST (its 5xx and dropped connections), and a result file whose transfer broke (fetched
again from its start).
"""

from __future__ import annotations

import random
import time
import typing as t

MAX_TRIES = 6  # tries of one call, the first included
MAX_WAIT = 120.0  # seconds

T = t.TypeVar("T")


def wait(tries: int, factor: float = 1.0) -> float:
    """Seconds to wait after the `tries`-th failed try: 2, 4, 8… up to MAX_WAIT, times
    `factor` (0 in tests)."""
    return min(2.0**tries, MAX_WAIT) * factor


def jitter(seconds: float) -> float:
    """A wait spread over 0.5-1.5 times itself, so parallel retries do not align."""
    return seconds * (0.5 + random.random())


def retrying(call: t.Callable[[], T], *, again: t.Callable[[object], bool],
             factor: float = 1.0, tries: int = MAX_TRIES,
             sleep: t.Callable[[float], None] = time.sleep,
             on_retry: t.Callable[[int, object], None] | None = None) -> T:
    """`call()` until `again` refuses its outcome (a result, or an exception raised), at
    most `tries` times: the last outcome stands (returned, or raised)."""
    for attempt in range(1, tries + 1):
        failure: object
        try:
            result = call()
        except Exception as exc:
            if attempt == tries or not again(exc):
                raise
            failure = exc
        else:
            if attempt == tries or not again(result):
                return result
            failure = result
        if on_retry is not None:
            on_retry(attempt, failure)
        sleep(jitter(wait(attempt, factor)))
    raise AssertionError  # unreachable: the last try returns or raises
