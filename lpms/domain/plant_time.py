"""Plant time: the plant-local date of a moment, the current calendar period, and the rolling
calendar's extension rule. Pure (standard library only); documented in docs/process.md.

- ``plant_date(now, timezone)``: the date on the plant's wall calendar at the UTC moment ``now``
  (23:30 UTC on 1 December is already 2 December in Asia/Tokyo).
- ``current_period(periods, today)``: the period containing ``today``; on a day between two
  periods (a calendar with gaps) the period that follows. Before the first period or after the
  last there is none: ``OutsideCalendar`` (a NotFound) says which side and what to do.
- ``plan_extension(periods, capacities, today, horizon_periods)``: the periods (and their
  capacity rows) to append so that at least ``horizon_periods`` periods lie after the current
  one. Each new period has the length and spacing of the last one (a month bucket: the next
  calendar month); capacities repeat the calendar's capacity pattern: the shortest block of
  periods whose repetition reproduces every work center's capacities over the whole calendar
  (a constant calendar repeats its last period; one with a two-week shutdown in twelve repeats
  all twelve). Extending in several steps gives the same calendar as extending once, and
  extending an extended calendar adds nothing.
- ``period_bounds`` / ``period_elapsed``: a period as UTC moments (plant-local midnights) and the
  share of it that has passed at ``now``.
"""
from __future__ import annotations

import calendar as _calendar
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lpms.domain.enums import Bucket
from lpms.domain.errors import InvalidInput, NotFound
from lpms.domain.limits import MAX_PERIOD

CapacityKey = tuple[str, int]  # (work center code, period seq)
CapacityValue = tuple[float, float]  # (regular_min, overtime_min)


class OutsideCalendar(NotFound):
    """The plant date lies before the calendar's first period or after its last one."""


@dataclass(frozen=True)
class CalendarPeriod:
    """A calendar period: ``seq`` is its number, ``start`` and ``end`` plant-local dates (inclusive)."""

    seq: int
    bucket: Bucket
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def plant_zone(timezone: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``timezone``; InvalidInput naming it when there is no such zone."""
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"timezone={timezone!r}: not an IANA time zone name (e.g. Europe/Berlin)") from None


def plant_date(now: dt.datetime, timezone: str) -> dt.date:
    """The plant-local date at the moment ``now`` (an aware datetime, normally UTC)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput(f"now={now.isoformat()}: a moment needs its time zone (LPMS passes times in UTC)")
    return now.astimezone(plant_zone(timezone)).date()


def _ordered(periods: Iterable[CalendarPeriod]) -> list[CalendarPeriod]:
    return sorted(periods, key=lambda p: p.seq)


def current_index(periods: Sequence[CalendarPeriod], today: dt.date) -> int | None:
    """Index (into ``periods``, ordered by seq) of the period containing ``today``, or of the next
    period when ``today`` falls between two; None before the first or after the last period."""
    if not periods or today < periods[0].start or today > periods[-1].end:
        return None
    for k, period in enumerate(periods):
        if today <= period.end:
            return k
    return None  # pragma: no cover - today <= periods[-1].end above


def current_period(periods: Iterable[CalendarPeriod], today: dt.date) -> CalendarPeriod:
    """The current period for the plant date ``today``; OutsideCalendar when there is none."""
    ordered = _ordered(periods)
    if not ordered:
        raise OutsideCalendar("the calendar has no periods: import a calendar (calendar.csv) first")
    k = current_index(ordered, today)
    if k is not None:
        return ordered[k]
    first, last = ordered[0], ordered[-1]
    if today < first.start:
        raise OutsideCalendar(f"plant date {today} is before the calendar's first period "
                              f"(period {first.seq} starts {first.start})")
    raise OutsideCalendar(f"plant date {today} is after the calendar's last period (period {last.seq} ends "
                          f"{last.end}): run 'lpms calendar extend'")


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months; a day past the target month's end becomes its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def following_period(periods: Sequence[CalendarPeriod]) -> CalendarPeriod:
    """The period after the last of ``periods`` (ordered by seq): the same bucket and length.

    Day and week buckets: the last period's length, at the last period's distance from the one
    before it (a calendar with gaps keeps them). Month bucket: the next calendar month (from the
    day after the last period ends, to the day before the same day a month later).
    """
    last = periods[-1]
    try:
        if last.bucket is Bucket.MONTH:
            start = last.end + dt.timedelta(days=1)
            end = _add_months(start, 1) - dt.timedelta(days=1)
        else:
            step = last.days
            if len(periods) > 1:
                step = max(step, (last.start - periods[-2].start).days)
            start = last.start + dt.timedelta(days=step)
            end = start + dt.timedelta(days=last.days - 1)
    except (OverflowError, ValueError):
        raise InvalidInput(f"the calendar cannot be extended past period {last.seq} ({last.end}): "
                           f"the dates run out") from None
    return CalendarPeriod(last.seq + 1, last.bucket, start, end)


def pattern_length(periods: Sequence[CalendarPeriod], capacities: Mapping[CapacityKey, CapacityValue]) -> int:
    """The length of the calendar's capacity pattern: the smallest P such that every period's
    capacities (all work centers, a missing row counts as a value) equal those P periods earlier,
    over the whole calendar (``periods`` ordered by seq). A calendar with no periods has 0."""
    centers = sorted({wc for wc, _ in capacities})
    column = [tuple(capacities.get((wc, p.seq)) for wc in centers) for p in periods]
    n = len(column)
    if n == 0:
        return 0
    # the prefix function (Knuth-Morris-Pratt): the smallest period is n - the longest proper border
    border = [0] * n
    for i in range(1, n):
        k = border[i - 1]
        while k and column[i] != column[k]:
            k = border[k - 1]
        if column[i] == column[k]:
            k += 1
        border[i] = k
    return n - border[-1]


@dataclass(frozen=True)
class ExtensionPlan:
    """What extending the calendar appends: periods and their capacity rows, in order."""

    today: dt.date
    periods: tuple[CalendarPeriod, ...]
    capacities: tuple[tuple[str, int, float, float], ...]  # (work center, period seq, regular_min, overtime_min)
    current_seq: int  # the current period once extended (the first period when today is before the calendar)
    last_seq: int
    pattern_periods: int


def plan_extension(periods: Iterable[CalendarPeriod], capacities: Mapping[CapacityKey, CapacityValue],
                   today: dt.date, horizon_periods: int) -> ExtensionPlan:
    """The periods and capacity rows to append so that at least ``horizon_periods`` periods lie
    after the current period of ``today`` (before the calendar's start: after its first period).

    Raises OutsideCalendar when there is no calendar to extend and InvalidInput when the
    extension would pass the limit of MAX_PERIOD periods.
    """
    if horizon_periods < 0:
        raise InvalidInput(f"horizon_periods={horizon_periods}: must not be negative")
    ordered = _ordered(periods)
    if not ordered:
        raise OutsideCalendar("the calendar has no periods to extend: import a calendar (calendar.csv) first")
    pattern = pattern_length(ordered, capacities)
    centers = sorted({wc for wc, _ in capacities})
    caps = dict(capacities)
    added: list[CalendarPeriod] = []
    rows: list[tuple[str, int, float, float]] = []
    current: int | None = None  # index of the current period, once today lies inside the calendar
    while True:
        if today <= ordered[-1].end:
            if current is None:  # appending periods after it never changes which period holds today
                current = current_index(ordered, today) if today >= ordered[0].start else 0
            if current is not None and len(ordered) - 1 - current >= horizon_periods:
                break
        if ordered[-1].seq >= MAX_PERIOD:
            raise InvalidInput(f"extending the calendar to plant date {today} with {horizon_periods} periods ahead "
                               f"needs more than {MAX_PERIOD} periods (the limit)")
        new = following_period(ordered)
        source = ordered[len(ordered) - pattern]
        ordered.append(new)
        added.append(new)
        for wc in centers:
            value = caps.get((wc, source.seq))
            if value is not None:
                caps[(wc, new.seq)] = value
                rows.append((wc, new.seq, value[0], value[1]))
    return ExtensionPlan(today, tuple(added), tuple(rows), ordered[current].seq, ordered[-1].seq, pattern)


def period_bounds(period: CalendarPeriod, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """The period as UTC moments: from plant-local midnight of its first day to plant-local
    midnight after its last day."""
    zone = plant_zone(timezone)
    start = dt.datetime.combine(period.start, dt.time(), zone)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def period_elapsed(period: CalendarPeriod, now: dt.datetime, timezone: str) -> float:
    """The share of ``period`` that has passed at ``now`` in plant time: 0 at its first plant-local
    midnight, 1 at the midnight after its last day (clamped to [0, 1]; real hours, so a day
    with a daylight-saving change counts 23 or 25)."""
    plant_date(now, timezone)  # checks the zone and that now is aware
    start, end = period_bounds(period, timezone)
    share = (now - start) / (end - start)
    return min(max(share, 0.0), 1.0)
