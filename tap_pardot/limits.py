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


class QuotaReserveReached(StopRun):
    """The next call would eat into `api_quota_reserve`, left for the account's others."""


class ApiUsage:
    """The account's daily API usage as Pardot last told it (`x-api-usage: used/max`), plus
    this run's calls not answered yet. Not thread-safe: the gate holds its lock around it."""

    def __init__(self, reserve: float | None = None) -> None:
        self.reserve = reserve  # None: 10% of the daily limit
        self.used: int | None = None  # the highest usage a reply told (today)
        self.max: int | None = None
        self.pending = 0  # this run's calls sent and not answered yet

    def observe(self, header: str | None) -> None:
        """Read one reply's `x-api-usage: used/max` (ignored if absent or malformed)."""
        used, _, limit = (header or "").partition("/")
        if used.strip().isdigit() and limit.strip().isdigit():
            self.used = max(self.used or 0, int(used))
            self.max = int(limit)

    def limit_left(self) -> float | None:
        """The highest usage this run may reach (max less the reserve); None if unknown."""
        if self.max is None:
            return None
        reserve = self.max * 0.1 if self.reserve is None else self.reserve
        return self.max - reserve

    def refusal(self) -> str | None:
        """Why one more call may not go (it would cross the reserve), or None."""
        ceiling = self.limit_left()
        if ceiling is None or self.used is None or self.used + self.pending + 1 <= ceiling:
            return None
        reserve = "10% of the daily limit" if self.reserve is None else f"{self.reserve:g}"
        return (f"Stopped to leave the account's API quota reserve (api_quota_reserve="
                f"{reserve}): {self.used}/{self.max} calls used today; the state is saved: "
                "run again to resume")

    def summary(self) -> str:
        """`used/max` as last told, or 'unknown'."""
        return "unknown" if self.max is None else f"{self.used}/{self.max}"


class Interrupted(StopRun):
    """SIGTERM or SIGINT: stop at the next safe point."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class RequestGate:
    """At most `max_concurrency` requests in flight, at most `max_calls` in the run, and
    none that would cross the account's `api_quota_reserve` (see ApiUsage)."""

    def __init__(self, max_concurrency: int = 5, max_calls: int | None = None,
                 usage: ApiUsage | None = None) -> None:
        self._slots = threading.BoundedSemaphore(max(1, int(max_concurrency)))
        self._lock = threading.Lock()
        self.max_calls = max_calls
        self.calls = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.stopped: str | None = None
        self.usage = usage or ApiUsage()

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
            refusal = self.usage.refusal()
            if refusal:
                self.stopped = refusal
                raise QuotaReserveReached(refusal)
            self.calls += 1
            self.usage.pending += 1
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
                self.usage.pending -= 1
            self._slots.release()

        return release

    def observe(self, response_headers: t.Mapping[str, str]) -> None:
        """Feed a reply's `x-api-usage` header to the usage tracker."""
        with self._lock:
            self.usage.observe(response_headers.get("x-api-usage"))

    def stop(self, reason: str) -> None:
        """Refuse every further request of the run (daily limit reached)."""
        with self._lock:
            self.stopped = self.stopped or reason
