"""The simulator's clock: starts at a fixed instant, advances with real time, settable."""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self, start: int, rate: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._base = float(start)
        self._real = time.monotonic()
        self.rate = rate

    def now_f(self) -> float:
        with self._lock:
            return self._base + (time.monotonic() - self._real) * self.rate

    def now(self) -> int:
        return int(self.now_f())

    def set(self, t: float) -> None:
        with self._lock:
            self._base = float(t)
            self._real = time.monotonic()

    def advance(self, seconds: float) -> None:
        self.set(self.now_f() + seconds)

    def set_rate(self, rate: float) -> None:
        now = self.now_f()
        with self._lock:
            self._base, self._real, self.rate = now, time.monotonic(), rate
