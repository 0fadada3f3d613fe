"""指导医师分配: one supervising doctor per resident per rotation block, within each doctor's limit.

A supervisor's *load* during a block is the most residents they supervise on any one day of it
(other blocks whose dates intersect). The limit is the DepartmentSupervisor row's own
`max_residents`, else the department's `residents_per_supervisor`, else 3 (2 in 急诊, standards §4).

Suggestions spread the work: under the limit first, then the lightest load, then a doctor with a
current 指导医师准入, then someone who has *not* supervised this resident before (a resident should
learn from several doctors), then the name. The department's teaching secretary, head, the base
managers of its base and the office assign (rotation.permissions.managed_departments).
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Department, User
from core.audit import audit_record
from core.pinyin import initials
from notices.notify import notify

from ..models import DepartmentSetting, DepartmentSupervisor, RotationBlock
from ..months import month_end, month_start
from ..permissions import managed_departments, office_hospitals

DEFAULT_LIMIT = 3
EMERGENCY_LIMIT = 2


# --- months -----------------------------------------------------------------------------------


# --- limits -----------------------------------------------------------------------------------


def is_emergency(department: Department) -> bool:
    return department.code.upper() == "EMER" or "急诊" in department.name


def department_limit(department: Department) -> int:
    """Residents per supervisor at a time in a department: its setting, else 3 (2 in 急诊)."""
    setting = DepartmentSetting.objects.filter(department=department).only("residents_per_supervisor").first()
    if setting is not None:
        return setting.residents_per_supervisor
    return EMERGENCY_LIMIT if is_emergency(department) else DEFAULT_LIMIT


def supervisors_of(department: Department) -> QuerySet[DepartmentSupervisor]:
    """The department's available supervising doctors (active rows of active users)."""
    return (
        DepartmentSupervisor.objects.filter(department=department, is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user__real_name", "user__username")
    )


# --- load -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    block_id: int
    resident_id: int
    start: datetime.date
    end: datetime.date


def _peak(spans: Iterable[_Span], start: datetime.date, end: datetime.date, exclude: int | None = None) -> int:
    """Most spans covering any one day of [start, end]."""
    events: list[tuple[datetime.date, int]] = []
    for span in spans:
        if span.block_id == exclude or span.end < start or span.start > end:
            continue
        events.append((max(span.start, start), 1))
        events.append((min(span.end, end) + datetime.timedelta(days=1), -1))
    peak = current = 0
    for _day, delta in sorted(events, key=lambda e: (e[0], e[1])):  # leaving (-1) before arriving on the same day
        current += delta
        peak = max(peak, current)
    return peak


@dataclass
class Candidate:
    """A supervising doctor for one block: their load during it, their limit, and why they rank where they do."""

    user: User
    load: int
    limit: int
    qualified: bool
    reason: str
    supervised_before: bool = False
    current: bool = False

    @property
    def available(self) -> bool:
        return self.load < self.limit


@dataclass
class _Context:
    """Everything suggestions for one department over one period need, loaded in a few queries."""

    department: Department
    rows: list[DepartmentSupervisor]
    default_limit: int
    spans: dict[int, list[_Span]]
    qualified: set[int]
    history: dict[tuple[int, int], set[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, department: Department, blocks: list[RotationBlock]) -> "_Context":
        from faculty.models import SupervisorQualification

        rows = list(supervisors_of(department))
        user_ids = [row.user_id for row in rows]
        spans: dict[int, list[_Span]] = defaultdict(list)
        history: dict[tuple[int, int], set[int]] = defaultdict(set)
        if blocks and user_ids:
            first = min(b.start_date for b in blocks)
            last = max(b.end_date for b in blocks)
            overlapping = RotationBlock.objects.filter(
                supervisor_id__in=user_ids, start_date__lte=last, end_date__gte=first
            ).values_list("pk", "supervisor_id", "resident_id", "start_date", "end_date")
            for pk, supervisor_id, resident_id, start, end in overlapping:
                spans[supervisor_id].append(_Span(pk, resident_id, start, end))
            before = RotationBlock.objects.filter(
                supervisor_id__in=user_ids, resident_id__in={b.resident_id for b in blocks}
            ).values_list("pk", "supervisor_id", "resident_id")
            for pk, supervisor_id, resident_id in before:
                history[(supervisor_id, resident_id)].add(pk)
        qualified = set(
            SupervisorQualification.objects.valid_on(timezone.localdate())
            .filter(faculty__user_id__in=user_ids)
            .values_list("faculty__user_id", flat=True)
        )
        return cls(department, rows, department_limit(department), spans, qualified, history)

    def limit_of(self, row: DepartmentSupervisor) -> int:
        return row.max_residents or self.default_limit

    def candidates(self, block: RotationBlock) -> list[Candidate]:
        result = []
        for row in self.rows:
            load = _peak(self.spans.get(row.user_id, ()), block.start_date, block.end_date, exclude=block.pk)
            limit = self.limit_of(row)
            qualified = row.user_id in self.qualified
            before = bool(self.history.get((row.user_id, block.resident_id), set()) - {block.pk})
            result.append(
                Candidate(
                    user=row.user,
                    load=load,
                    limit=limit,
                    qualified=qualified,
                    supervised_before=before,
                    current=block.supervisor_id == row.user_id,
                    reason=_reason(load, limit, qualified, before),
                )
            )
        result.sort(
            key=lambda c: (not c.available, c.load, not c.qualified, c.supervised_before, _name_key(c.user), c.user.pk)
        )
        return result

    def record(self, block: RotationBlock, old_supervisor_id: int | None, new_supervisor_id: int) -> None:
        """Keep the in-memory loads right while auto-assign goes through a month."""
        if old_supervisor_id:
            self.spans[old_supervisor_id] = [s for s in self.spans[old_supervisor_id] if s.block_id != block.pk]
        self.spans[new_supervisor_id].append(_Span(block.pk, block.resident_id, block.start_date, block.end_date))
        self.history[(new_supervisor_id, block.resident_id)].add(block.pk)


def _name_key(user: User) -> tuple[str, str]:
    """Names in pinyin order, as the hospital's lists are."""
    name = user.display_name
    return initials(name), name


def _reason(load: int, limit: int, qualified: bool, before: bool) -> str:
    parts = [
        _("%(load)s of %(limit)s residents at a time") % {"load": load, "limit": limit}
        if load < limit
        else _("full: %(load)s of %(limit)s residents at a time") % {"load": load, "limit": limit}
    ]
    parts.append(_("qualified supervisor") if qualified else _("no current supervisor qualification"))
    if before:
        parts.append(_("has supervised this resident before"))
    return "; ".join(parts)


def suggest(block: RotationBlock) -> list[Candidate]:
    """The department's supervising doctors for a block, best first (see the module docstring)."""
    return _Context.load(block.department, [block]).candidates(block)


def suggestions_for(department: Department, blocks: list[RotationBlock]) -> dict[int, list[Candidate]]:
    """Candidates for many blocks of one department at once (block pk → candidates), for the month page."""
    context = _Context.load(department, blocks)
    return {block.pk: context.candidates(block) for block in blocks}


def load_table(department: Department, day: datetime.date | None = None) -> list[dict]:
    """Each supervising doctor of the department: residents supervised on `day` (any department) / limit."""
    day = day or timezone.localdate()
    context = _Context.load(department, [])
    rows = list(context.rows)
    current = defaultdict(list)
    blocks = (
        RotationBlock.objects.filter(
            supervisor_id__in=[r.user_id for r in rows], start_date__lte=day, end_date__gte=day
        )
        .select_related("resident__user", "department")
        .order_by("start_date")
    )
    for block in blocks:
        current[block.supervisor_id].append(block)
    return [
        {
            "user": row.user,
            "blocks": current[row.user_id],
            "load": len(current[row.user_id]),
            "limit": context.limit_of(row),
            "qualified": row.user_id in context.qualified,
        }
        for row in rows
    ]


# --- assigning --------------------------------------------------------------------------------


def may_assign(user, department: Department) -> bool:
    return managed_departments(user).filter(pk=department.pk).exists()


def may_override(user, block: RotationBlock) -> bool:
    """Only the training office may put a doctor over their limit (with a reason)."""
    hospitals = office_hospitals(user)
    hospital = block.department.hospital
    return hospital.pk in hospitals or (hospital.parent_id is not None and hospital.parent_id in hospitals)


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # pragma: no cover - the schedule pages come with rotation
        return ""


def _announce(block: RotationBlock, supervisor: User, previous: User | None) -> None:
    """Tell the resident and the new supervisor (and a replaced one). Texts in the hospital language."""
    resident_user = block.resident.user
    period = f"{block.start_date:%Y-%m-%d} – {block.end_date:%Y-%m-%d}"
    notify(
        [resident_user],
        title=gettext_lazy("Your supervising doctor has been assigned"),
        body=f"{block.department} · {period} · {supervisor.display_name}",
        url=_url("rotation:mine"),
        kind="rotation.supervisor_assigned",
    )
    notify(
        [supervisor],
        title=gettext_lazy("You supervise a new resident"),
        body=f"{resident_user.display_name} · {block.department} · {period}",
        url=_url("rotation:resident", block.resident.uuid),
        kind="rotation.supervisee_assigned",
    )
    if previous is not None and previous.pk != supervisor.pk:
        notify(
            [previous],
            title=gettext_lazy("You no longer supervise a resident"),
            body=f"{resident_user.display_name} · {block.department} · {period}",
            kind="rotation.supervisee_unassigned",
        )


def _over_limit_message(candidate: Candidate, block: RotationBlock) -> str:
    return _(
        "%(name)s already supervises %(load)s resident(s) at a time during %(start)s – %(end)s; "
        "the limit is %(limit)s. Choose another supervising doctor."
    ) % {
        "name": candidate.user.display_name,
        "load": candidate.load,
        "limit": candidate.limit,
        "start": f"{block.start_date:%Y-%m-%d}",
        "end": f"{block.end_date:%Y-%m-%d}",
    }


def _assign(
    block: RotationBlock,
    supervisor: User,
    acting_user: User,
    candidate: Candidate | None,
    *,
    override_reason: str = "",
    context: _Context | None = None,
) -> RotationBlock:
    if candidate is None:
        raise ValidationError(
            _("%(name)s is not an available supervising doctor of %(department)s.")
            % {"name": supervisor.display_name, "department": block.department},
            code="not_a_supervisor",
        )
    if block.supervisor_id == supervisor.pk:
        return block
    override_reason = (override_reason or "").strip()
    if not candidate.available:
        if not override_reason:
            raise ValidationError(_over_limit_message(candidate, block), code="over_limit")
        if not may_override(acting_user, block):
            raise ValidationError(
                _over_limit_message(candidate, block) + " " + _("Only the training office may exceed the limit."),
                code="over_limit",
            )
    previous = block.supervisor
    block.supervisor = supervisor
    block.supervisor_assigned_by = acting_user
    block.supervisor_assigned_at = timezone.now()
    block.save(update_fields=["supervisor", "supervisor_assigned_by", "supervisor_assigned_at"])
    extra = {"override": override_reason} if not candidate.available else {}
    audit_record(
        action="rotation.supervisor_assign",
        target=block,
        acting_user=acting_user,
        changes={"supervisor": [previous.display_name if previous else None, supervisor.display_name]},
        **extra,
    )
    _announce(block, supervisor, previous)
    if context is not None:
        context.record(block, previous.pk if previous else None, supervisor.pk)
    return block


def _lock(block: RotationBlock, supervisor: User | None = None) -> RotationBlock:
    """Lock the block and the doctor's rows, so two secretaries cannot both fill a doctor's last place."""
    if supervisor is not None:
        list(DepartmentSupervisor.objects.select_for_update().filter(user=supervisor).values_list("pk"))
    return (
        RotationBlock.objects.select_for_update(of=("self",))
        .select_related("resident__user", "department__hospital", "supervisor")
        .get(pk=block.pk)
    )


@transaction.atomic
def assign(block: RotationBlock, supervisor: User, acting_user: User, *, override_reason: str = "") -> RotationBlock:
    """Make `supervisor` the block's supervising doctor, within their limit (the office may exceed it, with a reason).

    Records who assigned it and when, audits, and notifies the resident and the doctor.
    """
    locked = _lock(block, supervisor)
    candidate = next((c for c in suggest(locked) if c.user.pk == supervisor.pk), None)
    result = _assign(locked, supervisor, acting_user, candidate, override_reason=override_reason)
    block.supervisor = result.supervisor
    block.supervisor_assigned_by = result.supervisor_assigned_by
    block.supervisor_assigned_at = result.supervisor_assigned_at
    return result


@transaction.atomic
def unassign(block: RotationBlock, acting_user: User) -> RotationBlock:
    """Remove the block's supervisor (the doctor is told)."""
    locked = _lock(block)
    previous = locked.supervisor
    if previous is None:
        return locked
    locked.supervisor = None
    locked.supervisor_assigned_by = acting_user
    locked.supervisor_assigned_at = timezone.now()
    locked.save(update_fields=["supervisor", "supervisor_assigned_by", "supervisor_assigned_at"])
    audit_record(
        action="rotation.supervisor_unassign",
        target=locked,
        acting_user=acting_user,
        changes={"supervisor": [previous.display_name, None]},
    )
    period = f"{locked.start_date:%Y-%m-%d} – {locked.end_date:%Y-%m-%d}"
    notify(
        [previous],
        title=gettext_lazy("You no longer supervise a resident"),
        body=f"{locked.resident.user.display_name} · {locked.department} · {period}",
        kind="rotation.supervisee_unassigned",
    )
    block.supervisor = None
    return locked


@dataclass
class AutoAssignResult:
    assigned: list[RotationBlock]
    unserved: list[RotationBlock]

    def __int__(self) -> int:
        return len(self.assigned)


def blocks_starting(department: Department, month: datetime.date) -> QuerySet[RotationBlock]:
    first = month_start(month)
    return RotationBlock.objects.filter(
        department=department, start_date__gte=first, start_date__lte=month_end(first)
    ).select_related("resident__user", "department__hospital", "supervisor")


@transaction.atomic
def auto_assign_report(department: Department, month: datetime.date, acting_user: User) -> AutoAssignResult:
    """Give every block starting in `month` without a supervisor the best suggestion, filling limits as it goes.

    Blocks no doctor can take (everyone full, or no supervisors) keep none and are returned as unserved.
    """
    list(DepartmentSupervisor.objects.select_for_update().filter(department=department).values_list("pk"))
    blocks = list(
        blocks_starting(department, month)
        .filter(supervisor__isnull=True)
        .select_for_update(of=("self",))
        .order_by("start_date", "resident__user__real_name", "pk")
    )
    context = _Context.load(department, blocks)
    result = AutoAssignResult(assigned=[], unserved=[])
    for block in blocks:
        best = next(iter(context.candidates(block)), None)
        if best is None or not best.available:
            result.unserved.append(block)
            continue
        _assign(block, best.user, acting_user, best, context=context)
        result.assigned.append(block)
    audit_record(
        action="rotation.supervisor_auto_assign",
        target=department,
        acting_user=acting_user,
        month=f"{month:%Y-%m}",
        assigned=len(result.assigned),
        unserved=len(result.unserved),
    )
    return result


def auto_assign(department: Department, month: datetime.date, acting_user: User) -> int:
    """auto_assign_report, counted: how many blocks got a supervisor."""
    return len(auto_assign_report(department, month, acting_user).assigned)


def blocks_present(department: Department, month: datetime.date) -> QuerySet[RotationBlock]:
    """Blocks of the department whose dates intersect the month."""
    first = month_start(month)
    return (
        RotationBlock.objects.filter(department=department)
        .filter(Q(start_date__lte=month_end(first)) & Q(end_date__gte=first))
        .select_related("resident__user", "supervisor", "department__hospital")
        .order_by("start_date", "resident__user__real_name", "pk")
    )
