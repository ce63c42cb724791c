"""The current period, for the process-management services (release, downtime).

Interim: the period whose dates contain the UTC date of ``now``, as in the plant-time rules
(on a day between two periods the following one; none before the first or after the last).
When the plant's time zone is wired into the services, this becomes the plant-local date
(``lpms.domain.plant_time``) and the helper goes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lpms.db.shop_floor import PeriodRecord
from lpms.domain.errors import NotFound


def current_period_seq(periods: Sequence[PeriodRecord], now: dt.datetime) -> int:
    """The seq of the period containing ``now``'s UTC date (or the next one after a gap).
    Raises NotFound when the calendar is empty or the date lies outside it."""
    ordered = sorted(periods, key=lambda p: p.seq)
    today = now.astimezone(dt.UTC).date()
    if not ordered:
        raise NotFound("the calendar has no periods: import a calendar (calendar.csv) first")
    if today < ordered[0].start_date:
        raise NotFound(f"{today} is before the calendar's first period (period {ordered[0].seq} starts "
                       f"{ordered[0].start_date})")
    for period in ordered:
        if today <= period.end_date:
            return period.seq
    raise NotFound(f"{today} is after the calendar's last period (period {ordered[-1].seq} ends "
                   f"{ordered[-1].end_date}): extend the calendar")
