"""Calendar months as dates (the first of the month): the one set of helpers rotation's views and services share.

The scheduler counts months as integers (`rotation.scheduling.problem.month_index`); the database
and the pages use the first day of the month.
"""

import calendar
import datetime


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def add_months(day: datetime.date, count: int) -> datetime.date:
    """The first day of the month `count` months after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_list(first: datetime.date, count: int) -> list[datetime.date]:
    first = month_start(first)
    return [add_months(first, i) for i in range(count)]


def months_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Every month from `start`'s to `end`'s, both included."""
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    return month_list(start, max(0, count))


def parse_month(value: str | None) -> datetime.date | None:
    """'2026-03' (or '2026-03-01') -> date(2026, 3, 1); anything else None."""
    if not value:
        return None
    try:
        parts = [int(p) for p in str(value).strip().split("-")[:2]]
        return datetime.date(parts[0], parts[1], 1)
    except (ValueError, IndexError):
        return None
