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

from ..choices import EntryKind, RunStatus
from ..models import RotationBlock, ScheduleChange, ScheduleEntry, ScheduleRun
from ..months import month_end
from ..permissions import BASE_MANAGERS, office_hospitals
from ..scheduling.problem import LEAVE, month_index
from .schedule_moves import (
    Months,
    Move,
    check_moves,
    department_label,
    months_after,
    months_from_blocks,
    names_of,
    segments,
)

SCHEDULE_CHANGE_WORKFLOW = "rotation.schedule_change"


class ChangeStatus:
    """ScheduleChange.status values (the model keeps a plain CharField)."""

    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# ---------------------------------------------------------------- who may change what


def may_change_resident(user: User, profile: ResidentProfile) -> bool:
    """The published schedule of a resident: the office of their hospital and the managers of their base."""
    return profile.base.hospital_id in office_hospitals(user) or user.scope.acts_for_base(
        profile.base_id, *BASE_MANAGERS
    )


def _describe(moves: list[Move]) -> list[dict]:
    """The moves as stored, with the names the approvers read (kept as they were when asked)."""
    residents, departments = names_of(moves)
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
    from .. import explain
    from ..scheduling import metrics
    from .problems import problem_for_run
    from .runs import balance_figures

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
    state = {pk: months_from_blocks(profiles[pk], blocks[pk]) for pk in resident_ids}
    after = months_after(state, moves)
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
