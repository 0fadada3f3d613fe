"""What the scheduler is given: departments with monthly capacities, residents with a training
window, what their programme requires, what is already fixed, and what they prefer.

Months are absolute integers (`year * 12 + month - 1`, see `month_index`) so windows of different
cohorts compare directly. A resident's schedule is a list with one entry per month of the window:
a department index, `FREE` (the programme is shorter than the window: 33 of 36 months) or `LEAVE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

FREE = -1  # a month of the window with no rotation (机动 / exam preparation)
LEAVE = -2  # approved leave: always pinned, counts for no department and does not split a block


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def month_label(index: int) -> str:
    return f"{index // 12}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Department:
    key: object  # the database id (or any label in benchmarks)
    name: str
    collaborating: bool = False  # at a collaborating site (协同单位): counts against the site limits
    site: object = None  # which site, for the max-sites rule


@dataclass(frozen=True)
class Requirement:
    """A mandatory department: exactly `months` months, in at most `max_runs` runs (1 = one block).

    `year_minimum` maps a training year (1-based) to the months that must fall inside it.
    """

    department: int
    months: int
    max_runs: int = 1
    year_minimum: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ElectiveGroup:
    """Choose `choose` of `options`, `months_each` months each (each chosen one is then a Requirement)."""

    choose: int
    months_each: int
    options: tuple[int, ...]
    max_runs: int = 1


@dataclass(frozen=True)
class SiteLimits:
    """Collaborating-site limits of a programme: at most this many sites, departments and months there."""

    max_sites: int | None = None
    max_departments: int | None = None
    max_months: int | None = None


@dataclass
class Resident:
    key: object
    name: str
    start: int  # first month of the training window (absolute index)
    length: int  # months in the window
    requirements: tuple[Requirement, ...]
    electives: tuple[ElectiveGroup, ...] = ()
    # per elective group (same order as `electives`): department indices, most wanted first
    preferences: tuple[tuple[int, ...], ...] = ()
    # months that must stay as they are: absolute month -> department index or LEAVE
    pinned: dict[int, int] = field(default_factory=dict)
    # the published schedule when re-planning: absolute month -> department index or FREE
    previous: dict[int, int] = field(default_factory=dict)
    site_limits: SiteLimits = SiteLimits()
    group: object = None  # base / cohort label, for reports only

    @property
    def end(self) -> int:
        """One past the last month of the window."""
        return self.start + self.length

    def months(self) -> range:
        return range(self.start, self.end)


@dataclass
class Problem:
    departments: list[Department]
    residents: list[Resident]
    first_month: int  # the horizon: every window lies inside [first_month, first_month + horizon)
    horizon: int
    # capacity[d][t - first_month]: the most residents department d takes in month t (0 = closed)
    capacity: list[list[int]]
    # minimum[d][t - first_month]: a soft floor (reported as a warning when missed), may be all zeros
    minimum: list[list[int]] | None = None

    def cap(self, department: int, month: int) -> int:
        return self.capacity[department][month - self.first_month]

    def months(self) -> range:
        return range(self.first_month, self.first_month + self.horizon)


# A schedule: for each resident (same order as Problem.residents) one entry per window month.
Schedule = list[list[int]]
