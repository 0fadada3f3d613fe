"""Manual changes to a schedule: move or swap months, checked at once, applied to a draft or approved.

The office's common operations ("swap 2027-03..04 of A with B", "move A's 呼吸内科 block to start
2027-05") all compile to month-level `Move`s: one resident, one month, from one department to
another (None = an unassigned month). A list of moves is checked against the same rules the
scheduler obeys (`rotation.scheduling.metrics.validate`) plus the office's own: started months,
leave and the training window never change. A draft run is edited directly; the published
schedule (the residents' RotationBlocks) changes only when the base approves a ScheduleChange.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import Department, RoleAssignment, User
from approvals.models import ApprovalRequest
from approvals.services import approval_submit
from core.audit import audit_record
from residents.models import ResidentProfile

from .choices import EntryKind, RunStatus
from .models import RotationBlock, ScheduleChange, ScheduleEntry, ScheduleRun
from .months import add_months, month_end, months_between
from .permissions import BASE_MANAGERS, office_hospitals
from .scheduling.problem import FREE, LEAVE, month_index, month_label

SCHEDULE_CHANGE_WORKFLOW = "rotation.schedule_change"


class ChangeStatus:
    """ScheduleChange.status values (the model keeps a plain CharField)."""

    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


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


def _months_from_blocks(profile: ResidentProfile, blocks: Iterable[RotationBlock]) -> Months:
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
    return {p.pk: _months_from_blocks(p, blocks[p.pk]) for p in profiles}


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


def _names(moves: list[Move]) -> tuple[dict[int, str], dict[int, str]]:
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
    residents, departments = _names(moves)
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


def _after(state: dict[int, Months], moves: list[Move]) -> dict[int, Months]:
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
    from .scheduling.metrics import validate

    problem, index, before = _problem(source, state, today)
    residents, departments = _names(moves)
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
    from .explain import violation_text

    return violation_text(violation, problem, index)


# ---------------------------------------------------------------- who may change what


def may_change_resident(user: User, profile: ResidentProfile) -> bool:
    """The published schedule of a resident: the office of their hospital and the managers of their base."""
    return profile.base.hospital_id in office_hospitals(user) or user.scope.acts_for_base(
        profile.base_id, *BASE_MANAGERS
    )


def _describe(moves: list[Move]) -> list[dict]:
    """The moves as stored, with the names the approvers read (kept as they were when asked)."""
    residents, departments = _names(moves)
    rows = []
    for move in sorted(moves, key=lambda m: (residents.get(m.resident, ""), m.resident, m.month)):
        rows.append(
            {
                **move.as_json(),
                "resident_name": residents.get(move.resident, ""),
                "from_name": department_label(move.before, departments),
                "to_name": department_label(move.after, departments),
            }
        )
    return rows


def summarize(moves: list[Move]) -> list[dict]:
    """Consecutive months of one resident with the same before/after, as ranges (for pages and notices)."""
    rows = _describe(moves)
    ranges: list[dict] = []
    for row in rows:
        last = ranges[-1] if ranges else None
        month = date.fromisoformat(row["month"])
        if (
            last
            and last["resident"] == row["resident"]
            and last["from"] == row["from"]
            and last["to"] == row["to"]
            and month_index(last["end"]) + 1 == month_index(month)
        ):
            last["end"] = month
        else:
            ranges.append({**row, "start": month, "end": month})
    return ranges


# ---------------------------------------------------------------- drafts


@transaction.atomic
def apply_to_draft(run: ScheduleRun, moves: list[Move], acting_user: User) -> int:
    """The office edits a draft directly: entries change and the run's figures are recomputed."""
    run = ScheduleRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.DRAFT or run.hospital_id not in office_hospitals(acting_user):
        raise PermissionDenied
    errors = check_moves(run, moves)
    if errors:
        raise ValidationError(errors)
    entries = {
        (e.resident_id, e.month): e
        for e in ScheduleEntry.objects.select_for_update().filter(run=run, resident_id__in={m.resident for m in moves})
    }
    for move in moves:
        entry = entries[(move.resident, move.month)]
        entry.department_id = move.after
        entry.kind = EntryKind.ROTATION if move.after is not None else EntryKind.FREE
        entry.save(update_fields=["department", "kind"])
    _refresh_stats(run, len(moves))
    audit_record(
        action="rotation.run.change",
        target=run,
        acting_user=acting_user,
        changes={f"{r['resident_name']} {r['month'][:7]}": [r["from_name"], r["to_name"]] for r in _describe(moves)},
        moves=len(moves),
    )
    return len(moves)


def _refresh_stats(run: ScheduleRun, moved: int) -> None:
    """The review page's figures follow the edit: balance, overflow and violations recomputed, edits counted.

    Figures about the generation itself (solver, preferences, changes against the published
    version) stay as generated.
    """
    from . import explain
    from .problems import problem_for_run
    from .runs import balance_figures
    from .scheduling import metrics

    problem, index, schedule = problem_for_run(run)
    balance = metrics.balance(problem, schedule)
    violations = metrics.validate(problem, schedule)
    stats = dict(run.stats or {})
    stats.update(balance_figures(balance, violations), edited_months=stats.get("edited_months", 0) + moved)
    warnings = [w for w in (run.warnings or []) if w.get("kind") not in ("violation", "overflow")]
    warnings += [explain.violation_dict(v, problem, index) for v in violations]
    if balance.overflow:
        warnings.append({"kind": "overflow", "count": balance.overflow})
    run.stats, run.warnings = stats, warnings
    run.save(update_fields=["stats", "warnings"])


# ---------------------------------------------------------------- the published schedule


def published_run(hospital_id: int) -> ScheduleRun | None:
    return (
        ScheduleRun.objects.filter(hospital_id=hospital_id, status=RunStatus.PUBLISHED)
        .order_by("-published_at", "-pk")
        .first()
    )


def approval_request_for(change: ScheduleChange) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.filter(
            workflow=SCHEDULE_CHANGE_WORKFLOW,
            target_type=ContentType.objects.get_for_model(ScheduleChange),
            target_id=str(change.pk),
        )
        .order_by("-submitted_at")
        .first()
    )


def pending_changes(resident_ids: Iterable[int]) -> list[ScheduleChange]:
    return list(
        ScheduleChange.objects.filter(residents__in=list(resident_ids), status=ChangeStatus.PENDING)
        .distinct()
        .order_by("created_at")
    )


@transaction.atomic
def request_change(moves: list[Move], reason: str, acting_user: User) -> ScheduleChange:
    """Ask for a change of the published schedule; the base director decides (the office if there is none)."""
    reason = (reason or "").strip()
    if not moves:
        raise ValidationError(_("Nothing would change: choose other months or another department."))
    profiles = list(
        ResidentProfile.objects.filter(pk__in={m.resident for m in moves}).select_related("user", "base__hospital")
    )
    if len(profiles) != len({m.resident for m in moves}) or not all(
        may_change_resident(acting_user, p) for p in profiles
    ):
        raise PermissionDenied
    hospitals = {p.base.hospital_id for p in profiles}
    if len(hospitals) != 1:
        raise ValidationError(_("A change can only concern residents of one hospital."))
    hospital = profiles[0].base.hospital
    errors = [] if reason else [_("Give the reason for this change: the approvers read it.")]
    run = published_run(hospital.pk)
    if run is None:
        errors.append(_("There is no published schedule to change yet."))
    errors += check_moves(None, moves)
    if errors:
        raise ValidationError(errors)
    described = _describe(moves)
    change = ScheduleChange.objects.create(run=run, moves=described, reason=reason, requested_by=acting_user)
    change.residents.set(profiles)
    audit_record(
        action="rotation.schedule_change.request",
        target=change,
        acting_user=acting_user,
        changes={f"{r['resident_name']} {r['month'][:7]}": [r["from_name"], r["to_name"]] for r in described},
        residents=",".join(str(p.uuid) for p in profiles),
    )
    bases = {p.base_id for p in profiles}
    names = "、".join(p.user.display_name for p in profiles)
    approval_submit(
        workflow=SCHEDULE_CHANGE_WORKFLOW,
        target=change,
        title=_("Schedule change: %(names)s") % {"names": names},
        acting_user=acting_user,
        subject=profiles[0].user if len(profiles) == 1 else None,
        # Residents of two bases: no single base director, so the office decides (the engine's fallback).
        base=profiles[0].base if len(bases) == 1 else None,
        hospital=hospital,
        context={"residents": len(profiles), "months": len(moves)},
        comment=reason,
    )
    return change


def change_moves(change: ScheduleChange) -> list[Move]:
    return [Move.from_json(row) for row in change.moves]


def _rebuild_blocks(profile: ResidentProfile, blocks: list[RotationBlock], after: Months, run: ScheduleRun) -> dict:
    """Split and merge one resident's blocks to match `after`; unchanged blocks keep their supervisor."""
    wanted = segments(after)
    existing = {(b.department_id, b.start_date.replace(day=1), b.end_date.replace(day=1)): b for b in blocks}
    kept, created, removed = [], [], []
    for segment in wanted:
        block = existing.pop((segment.department, segment.start, segment.end), None)
        if block is not None:
            kept.append(block)
            continue
        # Keep the exact first/last day where an old block of this department began/ended in that month.
        same = [b for b in blocks if b.department_id == segment.department]
        start = next((b.start_date for b in same if b.start_date.replace(day=1) == segment.start), segment.start)
        end = next((b.end_date for b in same if b.end_date.replace(day=1) == segment.end), month_end(segment.end))
        created.append(
            RotationBlock(resident=profile, department_id=segment.department, start_date=start, end_date=end, run=run)
        )
    for block in existing.values():
        removed.append(f"{block.department_id}:{block.start_date}..{block.end_date}")
        block.delete()
    RotationBlock.objects.bulk_create(created)
    return {
        "removed": removed,
        "created": [f"{b.department_id}:{b.start_date}..{b.end_date}" for b in created],
        "kept": len(kept),
    }


@transaction.atomic
def schedule_change_apply(change: ScheduleChange, acting_user: User | None) -> ScheduleChange:
    """The base said yes: check again (the schedule may have moved on), then rewrite the blocks and tell people.

    Anything no longer valid raises ValidationError: the approval fails and nothing changes.
    """
    change = ScheduleChange.objects.select_for_update().get(pk=change.pk)
    if change.status != ChangeStatus.PENDING:
        return change  # applied or closed already: never twice
    moves = change_moves(change)
    resident_ids = sorted({m.resident for m in moves})
    profiles = {
        p.pk: p
        for p in ResidentProfile.objects.select_for_update()
        .filter(pk__in=resident_ids)
        .select_related("user", "base")
        .order_by("pk")
    }
    errors = check_moves(None, moves)
    if errors:
        audit_record(
            action="rotation.schedule_change.apply",
            outcome="failure",
            target=change,
            acting_user=acting_user,
            reasons=" | ".join(errors)[:500],
        )
        raise ValidationError(
            [_("The change can no longer be applied: the schedule has changed since it was requested.")] + errors
        )
    blocks: dict[int, list[RotationBlock]] = defaultdict(list)
    for block in RotationBlock.objects.select_for_update().filter(resident_id__in=resident_ids).order_by("start_date"):
        blocks[block.resident_id].append(block)
    state = {pk: _months_from_blocks(profiles[pk], blocks[pk]) for pk in resident_ids}
    after = _after(state, moves)
    rebuilt = {
        str(profiles[pk].uuid): _rebuild_blocks(profiles[pk], blocks[pk], after[pk], change.run) for pk in resident_ids
    }
    change.status = ChangeStatus.APPLIED
    change.applied_at = timezone.now()
    change.save(update_fields=["status", "applied_at"])
    audit_record(
        action="rotation.schedule_change.apply",
        target=change,
        acting_user=acting_user,
        changes={"status": [ChangeStatus.PENDING, ChangeStatus.APPLIED]},
        blocks=rebuilt,
    )
    _notify_applied(change, moves, [profiles[pk] for pk in resident_ids])
    return change


def _notify_applied(change: ScheduleChange, moves: list[Move], profiles: list[ResidentProfile]) -> None:
    """The residents whose months moved and the teaching secretaries of every department involved.

    Written in the hospital's language, not the approver's.
    """
    from notices.notify import notify

    def line(r: dict, with_name: bool) -> str:
        params = {
            "name": r["resident_name"],
            "start": f"{r['start']:%Y-%m}",
            "end": f"{r['end']:%Y-%m}",
            "before": r["from_name"],
            "after": r["to_name"],
        }
        if with_name:
            return _("%(name)s, %(start)s – %(end)s: %(before)s → %(after)s") % params
        return _("%(start)s – %(end)s: %(before)s → %(after)s") % params

    with translation.override(settings.LANGUAGE_CODE):
        ranges = summarize(moves)
        for profile in profiles:
            notify(
                [profile.user],
                title=_("Your rotation schedule has changed"),
                body="\n".join(line(r, False) for r in ranges if r["resident"] == profile.pk),
                url=reverse("rotation:mine"),
                kind="rotation.schedule_change",
            )
        department_ids = {d for m in moves for d in (m.before, m.after) if d not in (None, LEAVE)}
        secretaries: dict[int, list[User]] = defaultdict(list)
        assignments = (
            RoleAssignment.objects.active_on()
            .filter(role=Role.TEACHING_SECRETARY, department_id__in=department_ids)
            .select_related("user")
        )
        for assignment in assignments:
            secretaries[assignment.department_id].append(assignment.user)
        for department in Department.objects.filter(pk__in=secretaries):
            lines = [line(r, True) for r in ranges if department.pk in (r["from"], r["to"])]
            notify(
                secretaries[department.pk],
                title=_("Rotation schedule changed in %(department)s") % {"department": department.name},
                body="\n".join(lines),
                url=reverse("rotation:department", args=[department.uuid]),
                kind="rotation.schedule_change",
            )


@transaction.atomic
def schedule_change_close(*, change: ScheduleChange, status: str, acting_user: User | None) -> ScheduleChange:
    """Rejected or withdrawn: the request ends, the schedule stays as it was."""
    change = ScheduleChange.objects.select_for_update().get(pk=change.pk)
    if change.status != ChangeStatus.PENDING:
        return change
    change.status = status
    change.save(update_fields=["status"])
    audit_record(
        action=f"rotation.schedule_change.{'reject' if status == ChangeStatus.REJECTED else 'withdraw'}",
        target=change,
        acting_user=acting_user,
        changes={"status": [ChangeStatus.PENDING, status]},
    )
    return change


# Hooks the workflow registers (rotation/workflows.py): the engine calls them with the request.


def on_change_approved(*, request: ApprovalRequest, acting_user: User | None) -> None:
    schedule_change_apply(request.target, acting_user)


def on_change_rejected(*, request: ApprovalRequest, acting_user: User | None) -> None:
    schedule_change_close(change=request.target, status=ChangeStatus.REJECTED, acting_user=acting_user)


def on_change_withdrawn(*, request: ApprovalRequest, acting_user: User | None) -> None:
    schedule_change_close(change=request.target, status=ChangeStatus.WITHDRAWN, acting_user=acting_user)
