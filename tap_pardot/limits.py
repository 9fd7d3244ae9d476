"""The run-wide request gate: concurrency cap and API call budget, shared by every thread."""

from __future__ import annotations

import signal
import threading
import typing as t


class StopRun(Exception):
    """Stop the run cleanly: the state so far is kept and the next run resumes from it."""


class BudgetExhausted(StopRun):
    """`max_api_calls` reached."""


class DailyLimitReached(StopRun):
    """Pardot answered 122: the account's daily API limit is used up."""


class Interrupted(StopRun):
    """SIGTERM or SIGINT: stop at the next safe point."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class RequestGate:
    """At most `max_concurrency` requests in flight, at most `max_calls` in the run."""

    def __init__(self, max_concurrency: int = 5, max_calls: int | None = None) -> None:
        self._slots = threading.BoundedSemaphore(max(1, int(max_concurrency)))
        self._lock = threading.Lock()
        self.max_calls = max_calls
        self.calls = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.stopped: str | None = None

    def acquire(self) -> t.Callable[[], None]:
        """Take one request slot (counting the call); returns the idempotent release.

        Raises StopRun once the run was stopped, BudgetExhausted when the budget is spent.
        """
        with self._lock:
            if self.stopped:
                raise StopRun(self.stopped)
            if self.max_calls is not None and self.calls >= self.max_calls:
                msg = (
                    f"Stopped after {self.calls} API calls (max_api_calls={self.max_calls}); "
                    "the state is saved: run again to resume"
                )
                self.stopped = msg
                raise BudgetExhausted(msg)
            self.calls += 1
        self._slots.acquire()
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self.in_flight -= 1
            self._slots.release()

        return release

    def stop(self, reason: str) -> None:
        """Refuse every further request of the run (daily limit reached)."""
        with self._lock:
            self.stopped = self.stopped or reason
