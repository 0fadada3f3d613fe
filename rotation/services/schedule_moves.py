"""Moves: what a manual change to a schedule does, month by month, and whether it breaks a rule.

The office's operations (assign months, swap two residents, swap or shift blocks) compile to
month-level `Move`s, checked against the scheduler's own rules (`rotation.scheduling.metrics`)
plus the office's: started months, leave and the training window never change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department
from residents.models import ResidentProfile

from ..choices import EntryKind, RunStatus
from ..models import RotationBlock, ScheduleEntry, ScheduleRun
from ..months import add_months, months_between
from ..scheduling.problem import FREE, LEAVE, month_index, month_label

#: A resident's months: first day of the month -> department id, None (unassigned) or LEAVE.
Months = dict[date, int | None]


@dataclass(frozen=True)
class Move:
    """One resident-month changing department. `before` is what the requester saw (checked again on apply)."""

    resident: int
    month: date
    before: int | None
    after: int | None

    def as_json(self) -> dict:
        return {"resident": self.resident, "month": self.month.isoformat(), "from": self.before, "to": self.after}

    @classmethod
    def from_json(cls, row: dict) -> Move:
        return cls(
            resident=int(row["resident"]),
            month=date.fromisoformat(row["month"]),
            before=row.get("from"),
            after=row.get("to"),
        )


@dataclass(frozen=True)
class Segment:
    """A run of consecutive months in one department (what a RotationBlock covers)."""

    department: int
    start: date  # first month
    end: date  # last month

    @property
    def months(self) -> int:
        return month_index(self.end) - month_index(self.start) + 1


def segments(months: Months) -> list[Segment]:
    """The blocks a resident's months form: consecutive months of the same department, in order."""
    result: list[Segment] = []
    for month in sorted(months):
        department = months[month]
        if department is None or department == LEAVE:
            continue
        last = result[-1] if result else None
        if last and last.department == department and month_index(last.end) + 1 == month_index(month):
            result[-1] = Segment(department, last.start, month)
        else:
            result.append(Segment(department, month, month))
    return result


# ---------------------------------------------------------------- the current state


def is_draft(source: ScheduleRun | None) -> bool:
    return source is not None and source.status == RunStatus.DRAFT


def draft_months(run: ScheduleRun, resident_ids: Iterable[int]) -> dict[int, Months]:
    state: dict[int, Months] = defaultdict(dict)
    rows = ScheduleEntry.objects.filter(run=run, resident_id__in=list(resident_ids)).values_list(
        "resident_id", "month", "kind", "department_id"
    )
    for resident_id, month, kind, department_id in rows:
        if kind == EntryKind.LEAVE:
            state[resident_id][month] = LEAVE
        elif kind == EntryKind.ROTATION:
            state[resident_id][month] = department_id
        else:
            state[resident_id][month] = None
    return dict(state)


def window(profile: ResidentProfile) -> list[date]:
    """The months of a resident's training window, from the start month to the planned end's."""
    return months_between(profile.start_date.replace(day=1), profile.planned_end_date.replace(day=1))


def months_from_blocks(profile: ResidentProfile, blocks: Iterable[RotationBlock]) -> Months:
    months: Months = dict.fromkeys(window(profile))
    for block in sorted(blocks, key=lambda b: b.start_date):  # a later block wins a shared month
        for month in months_between(block.start_date.replace(day=1), block.end_date.replace(day=1)):
            months[month] = block.department_id
    return months


def published_months(resident_ids: Iterable[int]) -> dict[int, Months]:
    """The live schedule (RotationBlocks) over each resident's window; months without a block are None."""
    ids = list(resident_ids)
    blocks: dict[int, list[RotationBlock]] = defaultdict(list)
    for block in RotationBlock.objects.filter(resident_id__in=ids):
        blocks[block.resident_id].append(block)
    profiles = ResidentProfile.objects.filter(pk__in=ids)
    return {p.pk: months_from_blocks(p, blocks[p.pk]) for p in profiles}


def current_months(source: ScheduleRun | None, resident_ids: Iterable[int]) -> dict[int, Months]:
    """A draft run's entries, or (None / a published run) the live blocks."""
    if is_draft(source):
        return draft_months(source, resident_ids)
    return published_months(resident_ids)


# ---------------------------------------------------------------- office operations -> moves


def _diff(resident: int, before: Months, after: Months) -> list[Move]:
    return [
        Move(resident, month, before.get(month), after[month])
        for month in sorted(after)
        if after[month] != before.get(month)
    ]


def _require_months(months: Months, wanted: Iterable[date]) -> None:
    missing = [m for m in wanted if m not in months]
    if missing:
        raise ValidationError(
            _("%(month)s lies outside the resident's training window.") % {"month": f"{missing[0]:%Y-%m}"}
        )


def moves_assign(resident: int, months: Months, start: date, end: date, department: int | None) -> list[Move]:
    """Put the months start..end (inclusive) in one department (None: leave them unassigned)."""
    if end < start:
        raise ValidationError(_("The last month comes before the first one."))
    span = months_between(start, end)
    _require_months(months, span)
    after = {**months, **dict.fromkeys(span, department)}
    return _diff(resident, months, after)


def moves_swap_residents(
    first: int, first_months: Months, second: int, second_months: Months, start: date, end: date
) -> list[Move]:
    """Exchange two residents' departments in start..end."""
    if first == second:
        raise ValidationError(_("Choose another resident to swap with."))
    if end < start:
        raise ValidationError(_("The last month comes before the first one."))
    span = months_between(start, end)
    _require_months(first_months, span)
    _require_months(second_months, span)
    after_first = {**first_months, **{m: second_months[m] for m in span}}
    after_second = {**second_months, **{m: first_months[m] for m in span}}
    return _diff(first, first_months, after_first) + _diff(second, second_months, after_second)


def _segment_at(months: Months, start: date) -> Segment:
    for segment in segments(months):
        if segment.start == start:
            return segment
    raise ValidationError(_("No block starts in %(month)s.") % {"month": f"{start:%Y-%m}"})


def moves_swap_blocks(resident: int, months: Months, first_start: date, second_start: date) -> list[Move]:
    """Exchange two blocks of one resident; whatever lies between them shifts with the lengths."""
    first, second = sorted([_segment_at(months, first_start), _segment_at(months, second_start)], key=lambda s: s.start)
    if first == second:
        raise ValidationError(_("Choose two different blocks."))
    between = months_between(add_months(first.end, 1), add_months(second.start, -1))  # empty when adjacent
    middle = [months.get(m) for m in between]
    sequence = [second.department] * second.months + middle + [first.department] * first.months
    span = months_between(first.start, second.end)
    after = {**months, **dict(zip(span, sequence, strict=True))}
    return _diff(resident, months, after)


def moves_shift_block(resident: int, months: Months, block_start: date, new_start: date) -> list[Move]:
    """Move one block to start in another month; the months it passes over shift to fill the gap."""
    block = _segment_at(months, block_start)
    if new_start == block.start:
        raise ValidationError(_("The block already starts in %(month)s.") % {"month": f"{new_start:%Y-%m}"})
    new_end = add_months(new_start, block.months - 1)
    _require_months(months, [new_start, new_end])
    length = block.months
    if new_start > block.start:  # later: what followed the block moves up
        span = months_between(block.start, new_end)
        following = [months[m] for m in span[length:]]
        sequence = following + [block.department] * length
    else:  # earlier: what preceded the block moves down
        span = months_between(new_start, block.end)
        preceding = [months[m] for m in span[: len(span) - length]]
        sequence = [block.department] * length + preceding
    after = {**months, **dict(zip(span, sequence, strict=True))}
    return _diff(resident, months, after)


# ---------------------------------------------------------------- checking


def names_of(moves: list[Move]) -> tuple[dict[int, str], dict[int, str]]:
    resident_ids = {m.resident for m in moves}
    department_ids = {d for m in moves for d in (m.before, m.after) if d not in (None, LEAVE)}
    profiles = ResidentProfile.objects.filter(pk__in=resident_ids).select_related("user")
    residents = {p.pk: p.user.display_name for p in profiles}
    departments = dict(Department.objects.filter(pk__in=department_ids).values_list("pk", "name"))
    return residents, departments


def department_label(department_id: int | None, names: dict[int, str]) -> str:
    if department_id is None:
        return _("unassigned")
    if department_id == LEAVE:
        return _("leave")
    return names.get(department_id, "?")


def _local_errors(source: ScheduleRun | None, moves: list[Move], state: dict[int, Months], today: date) -> list[str]:
    """The office's own rules: what the scheduler's validation cannot know (the request's staleness)."""
    residents, departments = names_of(moves)
    errors: list[str] = []
    seen: set[tuple[int, date]] = set()
    started = month_index(today)
    for move in moves:
        name = residents.get(move.resident, "?")
        month = f"{move.month:%Y-%m}"
        months = state.get(move.resident, {})
        if (move.resident, move.month) in seen:
            errors.append(_("%(name)s's month %(month)s is changed twice.") % {"name": name, "month": month})
            continue
        seen.add((move.resident, move.month))
        if move.month not in months:
            errors.append(_("%(month)s lies outside %(name)s's training window.") % {"name": name, "month": month})
        elif month_index(move.month) <= started:
            errors.append(
                _("%(name)s's month %(month)s has already started and can no longer change.")
                % {"name": name, "month": month}
            )
        elif months[move.month] == LEAVE or move.after == LEAVE:
            errors.append(
                _("%(name)s is on leave in %(month)s; leave months cannot be moved.") % {"name": name, "month": month}
            )
        elif months[move.month] != move.before:
            errors.append(
                _(
                    "%(name)s's month %(month)s has changed in the meantime (now %(now)s, not %(then)s); "
                    "reload the schedule and try again."
                )
                % {
                    "name": name,
                    "month": month,
                    "now": department_label(months[move.month], departments),
                    "then": department_label(move.before, departments),
                }
            )
    return errors


def months_after(state: dict[int, Months], moves: list[Move]) -> dict[int, Months]:
    after = {resident: dict(months) for resident, months in state.items()}
    for move in moves:
        after.setdefault(move.resident, {})[move.month] = move.after
    return after


def check_moves(source: ScheduleRun | None, moves: list[Move], *, today: date | None = None) -> list[str]:
    """Every reason the moves cannot be made, as sentences; empty means the change is valid.

    `source` is a draft run (its entries change) or None / a published run (the live blocks).
    Only violations the change introduces count: a schedule already breaking a rule elsewhere
    does not block an unrelated fix.
    """
    if not moves:
        return [_("Nothing would change: choose other months or another department.")]
    today = today or timezone.localdate()
    residents = {m.resident for m in moves}
    state = current_months(source, residents)
    errors = _local_errors(source, moves, state, today)
    if errors:
        return errors
    return _new_violations(source, state, moves, today=today)


# ---------------------------------------------------------------- the scheduler's rules


def _problem(source: ScheduleRun | None, state: dict[int, Months], today: date):
    """The problem to judge on: a draft's every resident (capacity counts them all), else the moved ones.

    For the published schedule, build_problem already takes other residents' blocks off the
    capacities. Started months are the office's rule above, so no re-planning pins here.
    """
    from .problems import build_problem, schedule_from_entries

    if is_draft(source):
        ids = ScheduleEntry.objects.filter(run=source).values_list("resident_id", flat=True).distinct()
        problem, index = build_problem(
            hospital=source.hospital, residents=ResidentProfile.objects.filter(pk__in=ids), replan=False, today=today
        )
        before = schedule_from_entries(index, ScheduleEntry.objects.filter(run=source), problem)
        return problem, index, before
    profiles = ResidentProfile.objects.filter(pk__in=list(state)).select_related("base__hospital")
    hospital = profiles[0].base.hospital
    problem, index = build_problem(hospital=hospital, residents=profiles, replan=False, today=today)
    before = [[FREE] * resident.length for resident in problem.residents]
    for r, resident_id in enumerate(index.residents):
        start = problem.residents[r].start
        for month, value in state.get(resident_id, {}).items():
            offset = month_index(month) - start
            if 0 <= offset < len(before[r]):
                before[r][offset] = _problem_value(index, value)
    return problem, index, before


def _problem_value(index, department: int | None) -> int:
    if department is None:
        return FREE
    if department == LEAVE:
        return LEAVE
    return index.department_index[department]


def _severity(problem, violation) -> int:
    """How badly a rule is broken, so a change that only makes an old problem smaller is not blamed for it."""
    d = violation.detail or {}
    kind = violation.kind
    if kind == "count":
        return abs(d.get("got", 0) - d.get("expected", 0))
    if kind == "capacity":
        return d.get("load", 0) - d.get("capacity", 0)
    if kind in ("runs", "site", "unexpected"):
        return d.get("got", 0)
    if kind == "year_minimum":
        return d.get("expected", 0) - d.get("got", 0)
    if kind == "elective" and violation.resident is not None:
        groups = problem.residents[violation.resident].electives
        group = d.get("group", 0)
        choose = groups[group].choose if group < len(groups) else 0
        return abs(d.get("chosen", 0) - choose)
    return 1


def _key(violation) -> tuple:
    group = (violation.detail or {}).get("group")
    return (violation.kind, violation.resident, violation.department, violation.month, group)


def _new_violations(
    source: ScheduleRun | None, state: dict[int, Months], moves: list[Move], *, today: date
) -> list[str]:
    """The violations of the scheduler's rules the moves introduce or worsen, as sentences."""
    from ..scheduling.metrics import validate

    problem, index, before = _problem(source, state, today)
    residents, departments = names_of(moves)
    errors: list[str] = []
    after = [list(row) for row in before]
    for move in moves:
        name = residents.get(move.resident, "?")
        r = index.resident_index.get(move.resident)
        if r is None:
            errors.append(
                _("%(name)s's schedule cannot be checked: their specialty base has no usable rotation programme.")
                % {"name": name}
            )
            continue
        if move.after is not None and move.after not in index.department_index:
            errors.append(
                _("%(department)s is not part of %(name)s's rotation programme.")
                % {"department": department_label(move.after, departments), "name": name}
            )
            continue
        offset = month_index(move.month) - problem.residents[r].start
        if 0 <= offset < len(after[r]):
            after[r][offset] = _problem_value(index, move.after)
    if errors:
        return list(dict.fromkeys(errors))
    moved = {index.resident_index[m.resident] for m in moves}
    touched = {(index.department_index[m.after], month_index(m.month)) for m in moves if m.after is not None}
    old = {}
    for violation in validate(problem, before):
        old[_key(violation)] = max(old.get(_key(violation), 0), _severity(problem, violation))
    for violation in validate(problem, after):
        concerns = violation.resident in moved or (
            violation.kind == "capacity" and (violation.department, violation.month) in touched
        )
        if not concerns:
            continue
        key = _key(violation)
        if key in old and _severity(problem, violation) <= old[key]:
            continue
        errors.append(violation_sentence(violation, problem, index))
    return list(dict.fromkeys(errors))


def violation_sentence(violation, problem, index) -> str:
    """One rule the changed schedule would break, in the office's words (with the whole hospital's figures)."""
    d = violation.detail or {}
    name = problem.residents[violation.resident].name if violation.resident is not None else ""
    department = problem.departments[violation.department].name if violation.department is not None else ""
    month = month_label(violation.month) if violation.month is not None else ""
    kind = violation.kind
    params = {"name": name, "department": department, "month": month, **d}
    if kind == "count":
        return _("%(name)s would have %(got)s months in %(department)s; the programme requires %(expected)s.") % params
    if kind == "unexpected":
        return _("%(name)s would have %(got)s months in %(department)s, which the programme does not include.") % params
    if kind == "runs":
        if d.get("limit") == 1:
            return _("%(name)s's months in %(department)s would no longer form one continuous block.") % params
        return (
            _("%(name)s's months in %(department)s would be split into %(got)s periods; at most %(limit)s are allowed.")
            % params
        )
    if kind == "year_minimum":
        return (
            _(
                "%(name)s would have %(got)s months of %(department)s in training year %(year)s; "
                "at least %(expected)s are required."
            )
            % params
        )
    if kind == "elective":
        groups = problem.residents[violation.resident].electives
        group = groups[d.get("group", 0)] if d.get("group", 0) < len(groups) else None
        options = "、".join(problem.departments[o].name for o in group.options) if group else ""
        return _(
            "%(name)s would rotate through %(chosen)s of the electives %(options)s; the programme requires %(choose)s."
        ) % {**params, "options": options, "choose": group.choose if group else "?"}
    if kind == "capacity":
        department_id = index.departments[violation.department]
        offset = violation.month - index.first_month
        others = (index.occupied.get(department_id) or [0] * index.horizon)[offset]
        load, capacity = d.get("load", 0) + others, d.get("capacity", 0) + others
        if capacity == 0:
            return _("%(department)s takes no residents in %(month)s.") % params
        return _("%(department)s would have %(load)s residents in %(month)s; it takes at most %(capacity)s.") % {
            **params,
            "load": load,
            "capacity": capacity,
        }
    if kind == "site":
        limits = {
            "sites": _("collaborating sites"),
            "departments": _("departments at collaborating sites"),
            "months": _("months at collaborating sites"),
        }
        return _("%(name)s would have %(got)s %(what)s; the programme allows at most %(expected)s.") % {
            **params,
            "what": limits.get(d.get("limit"), d.get("limit")),
        }
    if kind == "pinned":
        return _("%(name)s's month %(month)s is fixed and cannot change.") % params
    if kind == "leave":
        return _("%(name)s's month %(month)s would be leave that was never approved.") % params
    from ..explain import violation_text

    return violation_text(violation, problem, index)
