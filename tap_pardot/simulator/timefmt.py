"""Time handling: epoch seconds inside, Pardot's wire formats outside.

Every timestamp the simulator stores is an int of UTC epoch seconds. This module turns them
into the account-timezone strings Pardot sends (naive `YYYY-MM-DD HH:MM:SS`, ISO 8601 with
the local offset) and parses what clients send (ISO 8601, naive local times, keywords).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class TimeFormatter:
    """Fast, cached conversions for one account timezone."""

    def __init__(self, tz_name: str) -> None:
        self.tz_name = tz_name
        self.tz = ZoneInfo(tz_name)
        self._offsets: dict[int, int] = {}
        self._days: dict[int, str] = {}
        self._minutes: dict[int, str] = {}  # epoch minute -> "YYYY-MM-DD HH:MM:" (local)
        self._iso_minutes: dict[int, tuple[str, str]] = {}

    def offset(self, t: int) -> int:
        """UTC offset in seconds of the account timezone at epoch second t."""
        hour = t // 3600
        off = self._offsets.get(hour)
        if off is None:
            dt = datetime.fromtimestamp(hour * 3600, self.tz)  # aware: an offset, never None
            off = int(dt.utcoffset().total_seconds())  # type: ignore[union-attr]
            self._offsets[hour] = off
        return off

    def _day(self, day: int) -> str:
        s = self._days.get(day)
        if s is None:
            s = date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
            self._days[day] = s
        return s

    def local(self, t: int) -> str:
        """`YYYY-MM-DD HH:MM:SS` in the account timezone (v3/v4 JSON, export CSV)."""
        prefix = self._minutes.get(t // 60)
        if prefix is None:
            lt = t - t % 60 + self.offset(t)
            s = lt % 86400
            prefix = f"{self._day(lt // 86400)} {s // 3600:02d}:{s % 3600 // 60:02d}:"
            self._minutes[t // 60] = prefix
        return prefix + _SECONDS[t % 60]

    def iso_local(self, t: int) -> str:
        """ISO 8601 with the account timezone's offset (v5 values)."""
        hit = self._iso_minutes.get(t // 60)
        if hit is None:
            off = self.offset(t)
            lt = t - t % 60 + off
            s = lt % 86400
            a = abs(off)
            hit = (f"{self._day(lt // 86400)}T{s // 3600:02d}:{s % 3600 // 60:02d}:",
                   f"{'+' if off >= 0 else '-'}{a // 3600:02d}:{a % 3600 // 60:02d}")
            self._iso_minutes[t // 60] = hit
        return hit[0] + _SECONDS[t % 60] + hit[1]

    def parse(self, value: str, now: int) -> int:
        """Parse a client date argument into epoch seconds (ValueError when invalid).

        Accepts ISO 8601 with an offset or `Z`, naive `YYYY-MM-DD[ T]HH:MM[:SS]` or
        `YYYY-MM-DD` read in the account timezone (hour 24 rolls over, as in Pardot's own
        docs example), and the keywords today, yesterday, last_7_days, this_month, last_month.
        """
        v = value.strip()
        kw = self._keyword(v.lower(), now)
        if kw is not None:
            return kw
        m = _DATE_RE.match(v)
        if not m:
            raise ValueError(f"invalid date: {value!r}")
        y, mo, d, hh, mm, ss, _frac, tzpart = m.groups()
        hour = int(hh or 0)
        extra = timedelta(0)
        if hour == 24:
            hour, extra = 0, timedelta(days=1)
        naive = datetime(int(y), int(mo), int(d), hour, int(mm or 0), int(ss or 0))
        naive += extra
        if tzpart:
            if tzpart in ("Z", "z"):
                tz = UTC
            else:
                sign = 1 if tzpart[0] == "+" else -1
                digits = tzpart[1:].replace(":", "")
                delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
                tz = timezone(sign * delta)
            return int(naive.replace(tzinfo=tz).timestamp())
        return int(naive.replace(tzinfo=self.tz).timestamp())

    def _keyword(self, v: str, now: int) -> int | None:
        if v not in ("today", "yesterday", "last_7_days", "this_month", "last_month"):
            return None
        local_now = datetime.fromtimestamp(now, self.tz)
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        if v == "today":
            d = midnight
        elif v == "yesterday":
            d = midnight - timedelta(days=1)
        elif v == "last_7_days":
            d = midnight - timedelta(days=7)
        elif v == "this_month":
            d = midnight.replace(day=1)
        else:
            first = midnight.replace(day=1)
            d = (first - timedelta(days=1)).replace(day=1)
        return int(d.replace(tzinfo=self.tz).timestamp())


_SECONDS = [f"{s:02d}" for s in range(60)]
_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


_ATOM_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def parse_atom(value: str) -> int:
    """v5 date input: exactly ATOM `YYYY-MM-DDTHH:MM:SS+HH:MM` (ValueError otherwise).

    Pardot parses with PHP's ATOM format and requires the re-formatted value to equal the
    input (SRV `datatypes/DateTimeDataType.php`): no fractions, `Z`, `+0000` or bare dates."""
    if not _ATOM_RE.match(value):
        raise ValueError(f"not ATOM: {value!r}")
    return int(datetime.fromisoformat(value).timestamp())


def iso_utc(t: int) -> str:
    """The tap's output form: `2025-11-02T05:30:00+00:00`."""
    return datetime.fromtimestamp(t, UTC).isoformat()


def parse_iso(value: str) -> int:
    """Parse an ISO 8601 instant (naive means UTC) into epoch seconds."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())
