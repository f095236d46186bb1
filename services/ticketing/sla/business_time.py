"""Business-time arithmetic over a calendar of weekly opening hours, holidays and a time zone.

Windows are wall-clock times in the calendar's zone, so 09:00-17:00 stays 09:00-17:00 local
across DST changes; all arithmetic is done on UTC instants, so a window that spans a DST change
counts its real length (e.g. 00:00-00:00 is 23 hours on a spring-forward day).

- A window whose end is not after its start runs past midnight into the next day; a window whose
  start equals its end is 24 hours (so `{d: [(time(0), time(0))] for d in range(7)}` is 24x7).
- A holiday removes the windows that *start* on that local date. Holidays are the calendar's
  own dates (a tenant's closures) plus, when `country` is set, that country's public holidays
  (and its `subdivision`'s: a state, a canton) as the pinned `holidays` package knows them.
- Overlapping windows are merged, never counted twice.
- A wall-clock time that does not exist (in the spring-forward gap) or exists twice (in the
  fall-back hour) resolves as zoneinfo does with fold=0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as public_holidays

_SEARCH_LIMIT_DAYS = 3660  # a calendar with no business day in ten years is a misconfiguration
_DAYS_KEPT = 20_000  # days whose windows a calendar remembers (about 55 years)

Window = tuple[time, time]


@dataclass(frozen=True)
class BusinessCalendar:
    """`hours` maps a weekday (Monday=0 .. Sunday=6) to its opening windows (start, end)."""

    timezone: str
    hours: Mapping[int, Sequence[Window]]
    holidays: frozenset[date] = frozenset()
    country: str | None = None
    subdivision: str | None = None
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _public: object = field(init=False, repr=False, compare=False)
    _days: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {self.timezone!r}") from error
        public = None
        if self.country is not None:
            try:
                public = public_holidays.country_holidays(self.country, subdiv=self.subdivision)
            except NotImplementedError as error:
                raise ValueError(
                    f"no public holidays known for {self.country!r}"
                    + (f" subdivision {self.subdivision!r}" if self.subdivision else "")
                ) from error
        elif self.subdivision is not None:
            raise ValueError("a subdivision needs its country")
        object.__setattr__(self, "_public", public)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        hours = {}
        for weekday, windows in self.hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            for start, end in windows:
                if (
                    not (isinstance(start, time) and isinstance(end, time))
                    or start.tzinfo
                    or end.tzinfo
                ):
                    raise ValueError("windows are pairs of naive datetime.time values")
            hours[weekday] = tuple(sorted(windows))
        if not any(hours.values()):
            raise ValueError("a business calendar needs at least one opening window")
        object.__setattr__(self, "hours", hours)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """24x7: every instant is business time."""
        return cls(timezone, {day: [(time(0), time(0))] for day in range(7)})

    @classmethod
    def weekdays(
        cls,
        timezone: str,
        start: time = time(9),
        end: time = time(17),
        holidays: frozenset[date] = frozenset(),
    ) -> BusinessCalendar:
        """Monday to Friday, one window a day."""
        return cls(timezone, {day: [(start, end)] for day in range(5)}, holidays)

    def business_seconds_between(self, start: datetime, end: datetime) -> float:
        """Business seconds in [start, end); 0 when end is not after start."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return 0.0
        total = 0.0
        for open_at, close_at in self._intervals(
            self._local_date(start) - timedelta(days=1), self._local_date(end)
        ):
            lo, hi = max(open_at, start), min(close_at, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The earliest UTC instant `seconds` of business time after `start`.

        Outside business hours the count starts at the next opening; the result is always
        inside (or at the close of) a window, except `seconds == 0`, which returns `start`.
        """
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        start = _utc(start)
        if seconds == 0:
            return start
        remaining = seconds
        for open_at, close_at in self._intervals(self._local_date(start) - timedelta(days=1), None):
            lo = max(open_at, start)
            if close_at <= lo:
                continue
            available = (close_at - lo).total_seconds()
            if remaining <= available:
                return lo + timedelta(seconds=remaining)
            remaining -= available
        raise ValueError(f"no business time within {_SEARCH_LIMIT_DAYS} days")  # pragma: no cover

    def is_business_time(self, instant: datetime) -> bool:
        instant = _utc(instant)
        return self.business_seconds_between(instant, instant + timedelta(microseconds=1)) > 0

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def is_holiday(self, day: date) -> bool:
        """The local date is one of the calendar's own dates or a public holiday of its country."""
        return day in self.holidays or (self._public is not None and day in self._public)

    def _windows_starting(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        # remembered per day: a clock running for years (an imported ticket still open) walks
        # every day since it opened, each time it is read
        found = self._days.get(day)
        if found is None:
            if len(self._days) >= _DAYS_KEPT:
                self._days.clear()
            found = self._days[day] = tuple(self._compute_windows(day))
        return found

    def _compute_windows(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_holiday(day):
            return
        for start, end in self.hours.get(day.weekday(), ()):
            end_day = day if end > start else day + timedelta(days=1)
            yield (
                datetime.combine(day, start, tzinfo=self._zone).astimezone(UTC),
                datetime.combine(end_day, end, tzinfo=self._zone).astimezone(UTC),
            )

    def _intervals(
        self, first_day: date, last_day: date | None
    ) -> Iterator[tuple[datetime, datetime]]:
        """Merged business intervals of windows starting from first_day to last_day, in order."""
        limit = last_day if last_day is not None else first_day + timedelta(days=_SEARCH_LIMIT_DAYS)
        current: tuple[datetime, datetime] | None = None
        day = first_day
        while day <= limit:
            for open_at, close_at in self._windows_starting(day):
                if current and open_at <= current[1]:
                    current = (current[0], max(current[1], close_at))
                    continue
                if current:
                    yield current
                current = (open_at, close_at)
            day += timedelta(days=1)
        if current:
            yield current


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("business time needs timezone-aware datetimes")
    return instant.astimezone(UTC)
