"""Business-time arithmetic: weekends, holidays, DST, overnight windows and 24x7 calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.ticketing.sla import BusinessCalendar

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def office() -> BusinessCalendar:
    return BusinessCalendar.weekdays("Europe/Paris", time(9), time(17))


def test_time_within_one_window_counts_fully(office):
    assert office.business_seconds_between(paris(2024, 3, 4, 10), paris(2024, 3, 4, 12)) == 2 * HOUR


def test_a_weekend_does_not_count(office):
    friday_4pm, monday_10am = paris(2024, 3, 8, 16), paris(2024, 3, 11, 10)
    assert office.business_seconds_between(friday_4pm, monday_10am) == 2 * HOUR


def test_nights_do_not_count(office):
    assert office.business_seconds_between(paris(2024, 3, 4, 16), paris(2024, 3, 5, 10)) == 2 * HOUR


def test_a_holiday_does_not_count(office):
    with_christmas = BusinessCalendar.weekdays(
        "Europe/Paris", holidays=frozenset({date(2024, 12, 25)})
    )
    tuesday_4pm, thursday_10am = paris(2024, 12, 24, 16), paris(2024, 12, 26, 10)
    assert office.business_seconds_between(tuesday_4pm, thursday_10am) == 10 * HOUR
    assert with_christmas.business_seconds_between(tuesday_4pm, thursday_10am) == 2 * HOUR


def test_opening_hours_follow_local_time_across_the_spring_dst_change(office):
    friday_4pm_cet = datetime(2024, 3, 29, 15, tzinfo=UTC)
    monday_10am_cest = datetime(2024, 4, 1, 8, tzinfo=UTC)
    assert office.business_seconds_between(friday_4pm_cet, monday_10am_cest) == 2 * HOUR


def test_adding_time_across_the_spring_dst_change_lands_on_local_opening_hours(office):
    due = office.add_business_seconds(paris(2024, 3, 29, 16), 4 * HOUR)
    assert due == datetime(2024, 4, 1, 10, tzinfo=UTC)  # Monday 12:00 CEST


def test_adding_time_across_the_autumn_dst_change_lands_on_local_opening_hours(office):
    due = office.add_business_seconds(paris(2024, 10, 25, 16), 2 * HOUR)
    assert due == paris(2024, 10, 28, 10)
    assert due == datetime(2024, 10, 28, 9, tzinfo=UTC)  # CET again


def test_a_24x7_calendar_counts_every_second():
    always = BusinessCalendar.always_open("Europe/Paris")
    start = paris(2024, 3, 9, 23)  # a Saturday night
    assert always.business_seconds_between(start, start + timedelta(days=3)) == 3 * 24 * HOUR
    assert always.add_business_seconds(start, 15 * 60) == start + timedelta(minutes=15)


def test_a_24x7_local_day_lasts_23_hours_on_the_spring_dst_change():
    always = BusinessCalendar.always_open("Europe/Paris")
    assert always.business_seconds_between(paris(2024, 3, 31, 0), paris(2024, 4, 1, 0)) == 23 * HOUR


def test_an_overnight_window_runs_into_the_next_day():
    night_shift = BusinessCalendar("UTC", {day: [(time(22), time(6))] for day in range(5)})
    friday_11pm = datetime(2024, 3, 8, 23, tzinfo=UTC)
    assert (
        night_shift.business_seconds_between(friday_11pm, datetime(2024, 3, 9, 12, tzinfo=UTC))
        == 7 * HOUR
    )
    assert night_shift.add_business_seconds(friday_11pm, 8 * HOUR) == datetime(
        2024, 3, 11, 23, tzinfo=UTC
    )


def test_overlapping_windows_count_once():
    doubled = BusinessCalendar("UTC", {0: [(time(9), time(12)), (time(11), time(13))]})
    monday = datetime(2024, 3, 4, tzinfo=UTC)
    assert doubled.business_seconds_between(monday, monday + timedelta(days=1)) == 4 * HOUR


def test_adding_from_outside_business_hours_starts_at_the_next_opening(office):
    assert office.add_business_seconds(paris(2024, 3, 9, 12), 30 * 60) == paris(2024, 3, 11, 9, 30)


def test_adding_zero_seconds_returns_the_start(office):
    saturday = paris(2024, 3, 9, 12)
    assert office.add_business_seconds(saturday, 0) == saturday


@pytest.mark.parametrize(
    "seconds", [1, 59 * 60, 8 * HOUR, 8 * HOUR + 1, 5 * 8 * HOUR + 17, 41 * 8 * HOUR]
)
def test_adding_then_measuring_gives_back_the_same_business_time(office, seconds):
    start = paris(2024, 3, 27, 15, 45)
    assert (
        office.business_seconds_between(start, office.add_business_seconds(start, seconds))
        == seconds
    )


def test_an_end_before_the_start_measures_zero(office):
    assert office.business_seconds_between(paris(2024, 3, 5, 12), paris(2024, 3, 4, 12)) == 0


def test_naive_datetimes_are_refused(office):
    with pytest.raises(ValueError):
        office.business_seconds_between(datetime(2024, 3, 4, 9), datetime(2024, 3, 4, 10))


def test_a_calendar_without_any_window_is_refused():
    with pytest.raises(ValueError):
        BusinessCalendar("UTC", {0: []})


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        BusinessCalendar.weekdays("Mars/Olympus_Mons")
