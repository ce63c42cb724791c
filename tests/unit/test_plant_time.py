"""Plant time: plant-local dates, the current period, and the calendar extension rule."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpms.domain.enums import Bucket
from lpms.domain.errors import InvalidInput, NotFound
from lpms.domain.limits import MAX_PERIOD
from lpms.domain.plant_time import (
    CalendarPeriod,
    CapacityKey,
    CapacityValue,
    OutsideCalendar,
    current_period,
    following_period,
    pattern_length,
    plan_extension,
    plant_date,
)

MONDAY = dt.date(2027, 1, 4)


def weeks(n: int, start: dt.date = MONDAY) -> list[CalendarPeriod]:
    return [CalendarPeriod(k + 1, Bucket.WEEK, start + dt.timedelta(weeks=k), start + dt.timedelta(weeks=k, days=6))
            for k in range(n)]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


# ------------------------------------------------------------------ plant-local dates

def test_half_past_eleven_utc_is_already_the_next_day_in_tokyo() -> None:
    now = utc(2026, 12, 1, 23, 30)
    assert plant_date(now, "UTC") == dt.date(2026, 12, 1)
    assert plant_date(now, "Asia/Tokyo") == dt.date(2026, 12, 2)  # 08:30 on 2 December
    assert plant_date(utc(2026, 12, 1, 7, 30), "America/Los_Angeles") == dt.date(2026, 11, 30)  # 23:30 the day before


def test_a_moment_given_with_another_offset_is_the_same_moment() -> None:
    now = dt.datetime(2026, 12, 2, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert plant_date(now, "UTC") == dt.date(2026, 12, 1)


def test_daylight_saving_moves_the_date_boundary() -> None:
    # Berlin is UTC+1 in winter, UTC+2 in summer: 22:30 UTC is the same day in winter, the next in summer
    assert plant_date(utc(2027, 1, 10, 22, 30), "Europe/Berlin") == dt.date(2027, 1, 10)
    assert plant_date(utc(2027, 7, 10, 22, 30), "Europe/Berlin") == dt.date(2027, 7, 11)


def test_a_bad_time_zone_and_a_naive_moment_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="timezone='Mars/Olympus': not an IANA time zone name"):
        plant_date(utc(2026, 12, 1), "Mars/Olympus")
    with pytest.raises(InvalidInput, match="needs its time zone"):
        plant_date(dt.datetime(2026, 12, 1), "UTC")


# ------------------------------------------------------------------ the current period

def test_the_current_period_holds_the_plant_date() -> None:
    cal = weeks(12)
    assert current_period(cal, MONDAY).seq == 1
    assert current_period(cal, MONDAY + dt.timedelta(days=6)).seq == 1  # Sunday: still week 1
    assert current_period(cal, MONDAY + dt.timedelta(days=7)).seq == 2
    assert current_period(reversed(cal), dt.date(2027, 3, 28)).seq == 12  # order of the input does not matter
    # across the date line: Sunday 23:30 UTC of week 3 is Monday of week 4 in Tokyo
    now = utc(2027, 1, 24, 23, 30)
    assert current_period(cal, plant_date(now, "UTC")).seq == 3
    assert current_period(cal, plant_date(now, "Asia/Tokyo")).seq == 4


def test_outside_the_calendar_there_is_no_current_period() -> None:
    cal = weeks(12)
    with pytest.raises(OutsideCalendar, match=r"plant date 2027-01-03 is before .* \(period 1 starts 2027-01-04\)"):
        current_period(cal, dt.date(2027, 1, 3))
    with pytest.raises(OutsideCalendar, match=r"after the calendar's last period \(period 12 ends 2027-03-28\): "
                                              r"run 'lpms calendar extend'"):
        current_period(cal, dt.date(2027, 3, 29))
    with pytest.raises(NotFound, match="the calendar has no periods"):
        current_period([], MONDAY)


def test_a_day_between_two_periods_belongs_to_the_next() -> None:
    # working weeks Monday-Friday: Saturday and Sunday lie between periods
    cal = [CalendarPeriod(k + 1, Bucket.WEEK, MONDAY + dt.timedelta(weeks=k), MONDAY + dt.timedelta(weeks=k, days=4))
           for k in range(3)]
    assert current_period(cal, dt.date(2027, 1, 9)).seq == 2


# ------------------------------------------------------------------ the next period

def test_the_next_period_has_the_last_ones_length_and_spacing() -> None:
    assert following_period(weeks(2)) == CalendarPeriod(3, Bucket.WEEK, dt.date(2027, 1, 18), dt.date(2027, 1, 24))
    working = [CalendarPeriod(1, Bucket.WEEK, MONDAY, dt.date(2027, 1, 8)),
               CalendarPeriod(2, Bucket.WEEK, dt.date(2027, 1, 11), dt.date(2027, 1, 15))]
    assert following_period(working) == CalendarPeriod(3, Bucket.WEEK, dt.date(2027, 1, 18), dt.date(2027, 1, 22))
    days = [CalendarPeriod(1, Bucket.DAY, MONDAY, MONDAY)]
    assert following_period(days) == CalendarPeriod(2, Bucket.DAY, dt.date(2027, 1, 5), dt.date(2027, 1, 5))


def test_a_month_period_is_followed_by_the_next_calendar_month() -> None:
    jan = CalendarPeriod(1, Bucket.MONTH, dt.date(2028, 1, 1), dt.date(2028, 1, 31))
    feb = following_period([jan])
    assert (feb.start, feb.end) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))  # a leap year
    mar = following_period([jan, feb])
    assert (mar.start, mar.end) == (dt.date(2028, 3, 1), dt.date(2028, 3, 31))
    dec = CalendarPeriod(12, Bucket.MONTH, dt.date(2027, 12, 1), dt.date(2027, 12, 31))
    assert following_period([dec]) == CalendarPeriod(13, Bucket.MONTH, dt.date(2028, 1, 1), dt.date(2028, 1, 31))


def test_the_end_of_the_dates_is_an_invalid_input() -> None:
    last = CalendarPeriod(1, Bucket.WEEK, dt.date(9999, 12, 25), dt.date(9999, 12, 31))
    with pytest.raises(InvalidInput, match="the dates run out"):
        following_period([last])


# ------------------------------------------------------------------ the capacity pattern

PAPER_REGULAR = (200,) * 6 + (100, 100) + (200,) * 4
PAPER_OVERTIME = (150,) * 6 + (0, 0) + (150,) * 4


def paper_capacity() -> dict[CapacityKey, CapacityValue]:
    return {("LINE", k + 1): (float(PAPER_REGULAR[k]), float(PAPER_OVERTIME[k])) for k in range(12)}


def test_the_pattern_is_the_shortest_block_that_repeats() -> None:
    cal = weeks(12)
    assert pattern_length(cal, {("A", p.seq): (100.0, 0.0) for p in cal}) == 1  # a constant calendar
    two_shift = {("A", p.seq): (100.0 if p.seq % 2 else 50.0, 0.0) for p in cal}
    assert pattern_length(cal, two_shift) == 2
    # the paper's calendar: weeks 7-8 are short; weeks 9-12 equal weeks 1-4, so the block is 8 weeks
    assert pattern_length(cal, paper_capacity()) == 8
    once = {("A", p.seq): (float(p.seq), 0.0) for p in cal}
    assert pattern_length(cal, once) == 12  # nothing repeats: the whole calendar is the block
    # a missing row counts as a value of its own
    gaps = {("A", p.seq): (1.0, 0.0) for p in cal if p.seq % 3}
    assert pattern_length(cal, gaps) == 3
    assert pattern_length([], {}) == 0


# ------------------------------------------------------------------ extension

def apply(cal: list[CalendarPeriod], caps: dict[CapacityKey, CapacityValue], today: dt.date,
          horizon: int) -> tuple[list[CalendarPeriod], dict[CapacityKey, CapacityValue], int]:
    plan = plan_extension(cal, caps, today, horizon)
    new_caps = dict(caps)
    new_caps.update({(wc, seq): (reg, ot) for wc, seq, reg, ot in plan.capacities})
    return cal + list(plan.periods), new_caps, plan.current_seq


def test_extension_keeps_the_horizon_ahead_of_the_current_period() -> None:
    cal, caps = weeks(12), paper_capacity()
    today = dt.date(2027, 1, 27)  # period 4
    plan = plan_extension(cal, caps, today, 12)
    assert plan.current_seq == 4 and plan.last_seq == 16 and [p.seq for p in plan.periods] == [13, 14, 15, 16]
    assert plan.periods[0] == CalendarPeriod(13, Bucket.WEEK, dt.date(2027, 3, 29), dt.date(2027, 4, 4))
    # the 8-week block repeats: periods 13-16 are periods 5-8 (the short weeks 7-8 recur as 15-16)
    assert [(seq, reg, ot) for _wc, seq, reg, ot in plan.capacities] == [
        (13, 200, 150), (14, 200, 150), (15, 100, 0), (16, 100, 0)]
    assert plan_extension(cal, caps, today, 8).periods == ()  # 8 periods after period 4 are there already
    assert plan_extension(cal, caps, today, 9).last_seq == 13


def test_extension_is_idempotent_and_preserves_the_pattern() -> None:
    cal, caps = weeks(12), paper_capacity()
    today = dt.date(2027, 5, 12)  # past the end: the calendar must first reach today
    cal2, caps2, current = apply(cal, caps, today, 12)
    assert current_period(cal2, today).seq == current == 19 and cal2[-1].seq == 31
    assert pattern_length(cal2, caps2) == pattern_length(cal, caps) == 8
    assert all(caps2[("LINE", seq)] == caps2[("LINE", seq - 8)] for seq in range(13, 32))
    again = plan_extension(cal2, caps2, today, 12)
    assert again.periods == () and again.capacities == () and again.current_seq == 19


@given(values=st.lists(st.sampled_from([0.0, 100.0, 200.0]), min_size=1, max_size=14),
       first=st.integers(0, 30), second=st.integers(0, 30), horizon=st.integers(0, 6))
def test_extending_in_steps_equals_extending_once(values: list[float], first: int, second: int, horizon: int) -> None:
    cal = weeks(len(values))
    caps: dict[CapacityKey, CapacityValue] = {("W", k + 1): (v, v / 2) for k, v in enumerate(values)}
    early, late = sorted([MONDAY + dt.timedelta(days=first * 3), MONDAY + dt.timedelta(days=(first + second) * 3)])
    step_cal, step_caps, _ = apply(*apply(cal, caps, early, horizon)[:2], late, horizon)
    once_cal, once_caps, current = apply(cal, caps, late, horizon)
    assert (step_cal, step_caps) == (once_cal, once_caps)
    assert once_cal[-1].seq - current >= horizon
    assert pattern_length(once_cal, once_caps) == pattern_length(cal, caps)
    assert plan_extension(once_cal, once_caps, late, horizon).periods == ()


def test_before_the_calendar_the_horizon_counts_from_its_first_period() -> None:
    plan = plan_extension(weeks(4), {}, dt.date(2026, 6, 1), 5)
    assert plan.current_seq == 1 and plan.last_seq == 6 and plan.capacities == ()


def test_an_extension_that_is_not_possible_is_named() -> None:
    with pytest.raises(NotFound, match="no periods to extend"):
        plan_extension([], {}, MONDAY, 12)
    with pytest.raises(InvalidInput, match=f"more than {MAX_PERIOD} periods"):
        plan_extension(weeks(2), {}, dt.date(2300, 1, 1), 12)
    with pytest.raises(InvalidInput, match="must not be negative"):
        plan_extension(weeks(2), {}, MONDAY, -1)


def test_the_elapsed_share_of_a_period_is_measured_in_plant_time() -> None:
    from lpms.domain.plant_time import period_bounds, period_elapsed

    week = weeks(1)[0]  # Monday 4 January .. Sunday 10 January 2027
    assert period_bounds(week, "Asia/Tokyo") == (utc(2027, 1, 3, 15), utc(2027, 1, 10, 15))
    assert period_elapsed(week, utc(2027, 1, 3, 15), "Asia/Tokyo") == 0.0
    assert period_elapsed(week, utc(2027, 1, 7, 15), "Asia/Tokyo") == pytest.approx(4 / 7)
    assert period_elapsed(week, utc(2027, 1, 7, 15), "UTC") == pytest.approx(3.625 / 7)
    assert period_elapsed(week, utc(2027, 1, 1), "UTC") == 0.0 and period_elapsed(week, utc(2027, 2, 1), "UTC") == 1.0
    # the week of the spring change in Berlin has 167 hours
    dst = CalendarPeriod(1, Bucket.WEEK, dt.date(2027, 3, 22), dt.date(2027, 3, 28))
    start, end = period_bounds(dst, "Europe/Berlin")
    assert end - start == dt.timedelta(hours=167)
