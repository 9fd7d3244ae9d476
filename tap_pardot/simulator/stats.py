"""Call counters, requests in flight and the daily call budget."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.calls: Counter[str] = Counter()
            self.errors: Counter[str] = Counter()
            self.in_flight = getattr(self, "in_flight", 0)  # requests still running keep counting
            self.peak = self.in_flight
            self.daily: Counter[str] = Counter()  # local day -> calls counted for the budget

    def count(self, kind: str) -> None:
        with self.lock:
            self.calls[kind] += 1

    def error(self, code: Any) -> None:
        with self.lock:
            self.errors[str(code)] += 1

    def enter(self) -> int:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self.in_flight

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def spend(self, day: str, limit: int) -> bool:
        """Count one call against the day's budget; False when the budget is spent."""
        with self.lock:
            if limit and self.daily[day] >= limit:
                return False
            self.daily[day] += 1
            return True

    def daily_used(self, day: str) -> int:
        with self.lock:
            return self.daily[day]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total_calls": sum(self.calls.values()),
                "calls_by_kind": dict(self.calls),
                "errors_by_code": dict(self.errors),
                "peak_in_flight": self.peak,
                "in_flight": self.in_flight,
                "daily_calls": dict(self.daily),
            }
