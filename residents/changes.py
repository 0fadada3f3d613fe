"""Training changes (退培, 延期, 休学, 复学, change of base or cohort, 结业) through the approval engine.

A request only records what is asked for; the archive's training fields change when the last
approver says yes (`training_change_apply`, run by the workflow's on_approved hook). The
approved rows, in order, are the resident's dated status history with reasons.
"""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import RoleAssignment, SpecialtyBase, User
from accounts.services import role_assign
from approvals.choices import OPEN_STATUSES
from approvals.models import ApprovalRequest
from approvals.services import approval_submit, approval_withdraw
from core.audit import audit_record

from .choices import ChangeKind, ChangeState, RevisionSource, TrainingStatus
from .models import ResidentProfile, TrainingChange
from .services import in_archive_language, revision_record

TRAINING_CHANGE_WORKFLOW = "residents.training_change"

#: National rule: training may be extended by at most three years beyond the original planned end.
MAX_EXTENSION_YEARS = 3

_OPEN = (TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED, TrainingStatus.SUSPENDED)

#: The statuses each kind of change may start from. Withdrawn and completed archives are closed.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    ChangeKind.WITHDRAW: _OPEN,
    ChangeKind.EXTEND: _OPEN,
    ChangeKind.SUSPEND: (TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED),
    ChangeKind.RESUME: (TrainingStatus.SUSPENDED,),
    ChangeKind.CHANGE_BASE: _OPEN,
    ChangeKind.CHANGE_COHORT: _OPEN,
    ChangeKind.COMPLETE: (TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED),
}

#: The status an approved change leaves the archive in (changes of base or cohort keep it).
NEW_STATUS: dict[str, str] = {
    ChangeKind.WITHDRAW: TrainingStatus.WITHDRAWN,
    ChangeKind.EXTEND: TrainingStatus.EXTENDED,
    ChangeKind.SUSPEND: TrainingStatus.SUSPENDED,
    ChangeKind.RESUME: TrainingStatus.IN_TRAINING,
    ChangeKind.COMPLETE: TrainingStatus.COMPLETED,
}

#: The extra field each kind needs beside the effective date and the reason.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    ChangeKind.EXTEND: ("new_planned_end_date",),
    ChangeKind.CHANGE_BASE: ("new_base",),
    ChangeKind.CHANGE_COHORT: ("new_cohort",),
}


def available_kinds(profile: ResidentProfile) -> list[str]:
    """The kinds of change the archive's current status allows, in the order of ChangeKind."""
    return [kind for kind in ChangeKind.values if profile.status in ALLOWED_FROM[kind]]


def pending_change(profile: ResidentProfile) -> TrainingChange | None:
    return profile.training_changes.filter(state=ChangeState.PENDING).first()


def approval_request_for(change: TrainingChange) -> ApprovalRequest | None:
    """The approval request a change was submitted as (the latest, should there ever be several)."""
    return (
        ApprovalRequest.objects.filter(
            workflow=TRAINING_CHANGE_WORKFLOW,
            target_type=ContentType.objects.get_for_model(TrainingChange),
            target_id=str(change.pk),
        )
        .order_by("-submitted_at")
        .first()
    )


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def original_planned_end(profile: ResidentProfile) -> datetime.date:
    """The planned end before any extension: what the three-year limit counts from."""
    first_extension = (
        profile.training_changes.filter(state=ChangeState.APPROVED, kind=ChangeKind.EXTEND)
        .order_by("decided_at", "pk")
        .first()
    )
    if first_extension is not None:
        before = (first_extension.applied_changes.get("planned_end_date") or [None])[0]
        if before:
            return datetime.date.fromisoformat(before)
    return profile.planned_end_date


def extension_limit(profile: ResidentProfile) -> datetime.date:
    return _add_years(original_planned_end(profile), MAX_EXTENSION_YEARS)


def _status_error(profile: ResidentProfile, kind: str) -> str | None:
    if profile.status in ALLOWED_FROM[kind]:
        return None
    status = profile.get_status_display()
    if kind == ChangeKind.RESUME:
        return _("Only suspended training can be resumed; the training status is “%(status)s”.") % {"status": status}
    if kind == ChangeKind.COMPLETE:
        return _(
            "Only a resident in training or in extended training can complete; the training status is “%(status)s”."
        ) % {"status": status}
    if kind == ChangeKind.SUSPEND and profile.status == TrainingStatus.SUSPENDED:
        return _("Training is already suspended.")
    return _("This archive is closed (“%(status)s”): its training can no longer change.") % {"status": status}


def _validate(
    *,
    profile: ResidentProfile,
    kind: str,
    effective_date: datetime.date | None,
    reason: str,
    new_base: SpecialtyBase | None,
    new_cohort: int | None,
    new_planned_end_date: datetime.date | None,
) -> None:
    """Business rules per kind; every problem is reported at once, keyed by the form field it belongs to."""
    if kind not in ChangeKind.values:
        raise ValidationError({"kind": _("Choose what should change.")})
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if status_error := _status_error(profile, kind):
        add(NON_FIELD_ERRORS, status_error)
    if not reason:
        add("reason", _("Give the reason for this change: the approvers and the archive keep it."))
    if effective_date is None:
        add("effective_date", _("Give the date the change takes effect."))
    elif effective_date < profile.start_date:
        add(
            "effective_date",
            _("The change cannot take effect before training started (%(date)s).") % {"date": profile.start_date},
        )
    if kind == ChangeKind.EXTEND:
        limit = extension_limit(profile)
        if new_planned_end_date is None:
            add("new_planned_end_date", _("Give the new planned end date of training."))
        elif new_planned_end_date <= profile.planned_end_date:
            add(
                "new_planned_end_date",
                _("The new planned end must be later than the current one (%(date)s).")
                % {"date": profile.planned_end_date},
            )
        elif new_planned_end_date > limit:
            add(
                "new_planned_end_date",
                _(
                    "Training can be extended by at most %(years)d years beyond the original planned end: "
                    "the latest possible end is %(date)s."
                )
                % {"years": MAX_EXTENSION_YEARS, "date": limit},
            )
    elif kind == ChangeKind.CHANGE_BASE:
        if new_base is None:
            add("new_base", _("Choose the new specialty base."))
        elif new_base.pk == profile.base_id:
            add("new_base", _("The resident already belongs to this base; choose another one."))
        elif not new_base.is_active:
            add("new_base", _("This base no longer takes residents."))
        elif new_base.hospital_id != profile.base.hospital_id:
            add("new_base", _("The new base must belong to the same hospital as the current one."))
    elif kind == ChangeKind.CHANGE_COHORT:
        if new_cohort is None:
            add("new_cohort", _("Give the new cohort (year of enrollment)."))
        elif new_cohort == profile.cohort:
            add(
                "new_cohort",
                _("The resident is already in cohort %(cohort)s; give another one.") % {"cohort": new_cohort},
            )
    if errors:
        raise ValidationError(errors)


def _already_waiting() -> ValidationError:
    return ValidationError(
        _("A request is already waiting for approval. Wait for its decision or withdraw it first."),
        code="pending",
    )


@transaction.atomic
def training_change_submit(
    *,
    profile: ResidentProfile,
    acting_user: User,
    kind: str,
    effective_date: datetime.date | None,
    reason: str,
    new_base: SpecialtyBase | None = None,
    new_cohort: int | None = None,
    new_planned_end_date: datetime.date | None = None,
) -> TrainingChange:
    """Record the request and send it to the base director, then the training office. The archive is untouched."""
    # Lock the archive so two simultaneous requests cannot both pass the "one pending" check.
    profile = ResidentProfile.objects.select_for_update().select_related("base", "user").get(pk=profile.pk)
    if profile.training_changes.filter(state=ChangeState.PENDING).exists():
        raise _already_waiting()
    reason = (reason or "").strip()
    needs = KIND_FIELDS.get(kind, ())
    # Keep only what this kind needs, so the stored request says exactly what will change.
    new_base = new_base if "new_base" in needs else None
    new_cohort = new_cohort if "new_cohort" in needs else None
    new_planned_end_date = new_planned_end_date if "new_planned_end_date" in needs else None
    _validate(
        profile=profile,
        kind=kind,
        effective_date=effective_date,
        reason=reason,
        new_base=new_base,
        new_cohort=new_cohort,
        new_planned_end_date=new_planned_end_date,
    )
    try:
        with transaction.atomic():
            change = TrainingChange.objects.create(
                resident=profile,
                kind=kind,
                effective_date=effective_date,
                reason=reason,
                new_base=new_base,
                new_cohort=new_cohort,
                new_planned_end_date=new_planned_end_date,
                requested_by=acting_user,
            )
    except IntegrityError:  # the database's one-pending rule, should the lock be bypassed
        raise _already_waiting() from None
    audit_record(
        action="resident.training_change.request",
        target=profile,
        acting_user=acting_user,
        changes={
            "kind": [None, kind],
            "effective_date": [None, effective_date.isoformat()],
            **({"new_base": [None, str(new_base)]} if new_base else {}),
            **({"new_cohort": [None, new_cohort]} if new_cohort else {}),
            **({"new_planned_end_date": [None, new_planned_end_date.isoformat()]} if new_planned_end_date else {}),
        },
        change=change.uuid,
    )
    approval_submit(
        workflow=TRAINING_CHANGE_WORKFLOW,
        target=change,
        title=_("%(change)s: %(name)s") % {"change": change.get_kind_display(), "name": profile.user.display_name},
        acting_user=acting_user,
        subject=profile.user,
        base=profile.base,
        hospital=profile.base.hospital,
        context={"kind": kind},
        comment=reason,
    )
    return change


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _move_resident_role(*, profile: ResidentProfile, old_base: SpecialtyBase, change: TrainingChange, acting_user):
    """End the resident role in the old base the day before the move (today at the latest) and open one in the new."""
    day_before = change.effective_date - datetime.timedelta(days=1)
    today = timezone.localdate()
    old_roles = RoleAssignment.objects.active_on().filter(user=profile.user, role=Role.RESIDENT, base=old_base)
    for assignment in old_roles:
        assignment.valid_until = day_before if day_before >= assignment.valid_from else today
        assignment.save(update_fields=["valid_until"])
        audit_record(
            action="role.end",
            target=profile.user,
            acting_user=acting_user,
            changes={
                "role": [f"{Role.RESIDENT}@{old_base}", None],
                "valid_until": [None, _iso(assignment.valid_until)],
            },
        )
    role_assign(
        user=profile.user,
        role=Role.RESIDENT,
        base=change.new_base,
        acting_user=acting_user,
        valid_from=change.effective_date,
    )


def _as_read(applied: dict[str, list]) -> dict[str, list[str]]:
    """The archive history shows labels and readable values ("Training status": ["In training", "Withdrawn"])."""
    statuses = dict(TrainingStatus.choices)
    readable = {}
    for name, pair in applied.items():
        label = str(ResidentProfile._meta.get_field(name).verbose_name)
        readable[label] = [str(statuses.get(v, v)) if name == "status" else ("" if v is None else str(v)) for v in pair]
    return readable


@in_archive_language
@transaction.atomic
def training_change_apply(change: TrainingChange, acting_user: User | None) -> TrainingChange:
    """The last approver said yes: write the change into the archive, keep who changed what, audit it."""

    change = TrainingChange.objects.select_for_update().get(pk=change.pk)
    if change.state != ChangeState.PENDING:
        return change  # applied (or closed) already: never apply twice
    profile = ResidentProfile.objects.select_for_update().select_related("base", "user").get(pk=change.resident_id)
    applied: dict[str, list] = {}
    new_status = NEW_STATUS.get(change.kind)
    if new_status is not None:
        applied["status"] = [profile.status, new_status]
        applied["status_since"] = [_iso(profile.status_since), _iso(change.effective_date)]
        profile.status = new_status
        profile.status_since = change.effective_date
    if change.kind == ChangeKind.EXTEND:
        applied["planned_end_date"] = [_iso(profile.planned_end_date), _iso(change.new_planned_end_date)]
        profile.planned_end_date = change.new_planned_end_date
    elif change.kind == ChangeKind.CHANGE_BASE:
        old_base = profile.base
        applied["base"] = [str(old_base), str(change.new_base)]
        profile.base = change.new_base
        _move_resident_role(profile=profile, old_base=old_base, change=change, acting_user=acting_user)
    elif change.kind == ChangeKind.CHANGE_COHORT:
        applied["cohort"] = [profile.cohort, change.new_cohort]
        profile.cohort = change.new_cohort
    profile.save()
    change.state = ChangeState.APPROVED
    change.decided_at = timezone.now()
    change.applied_changes = applied
    change.save(update_fields=["state", "decided_at", "applied_changes"])
    revision_record(
        profile=profile,
        acting_user=acting_user,
        source=RevisionSource.APPROVAL,
        changes=_as_read(applied),
        note=f"{change.get_kind_display()}: {change.reason}"[:200],
    )
    audit_record(
        action="resident.training_change.apply",
        target=profile,
        acting_user=acting_user,
        changes=applied,
        change=change.uuid,
        kind=change.kind,
    )
    return change


@transaction.atomic
def training_change_close(*, change: TrainingChange, state: str, acting_user: User | None) -> TrainingChange:
    """Rejected or withdrawn: the request ends, the archive stays as it was."""
    change = TrainingChange.objects.select_for_update().get(pk=change.pk)
    if change.state != ChangeState.PENDING:
        return change
    change.state = state
    change.decided_at = timezone.now()
    change.save(update_fields=["state", "decided_at"])
    audit_record(
        action=f"resident.training_change.{'reject' if state == ChangeState.REJECTED else 'withdraw'}",
        target=change.resident,
        acting_user=acting_user,
        changes={"state": [ChangeState.PENDING, state]},
        change=change.uuid,
    )
    return change


def training_change_withdraw(*, change: TrainingChange, acting_user: User, comment: str = "") -> TrainingChange:
    """The requester takes the request back; the engine's withdraw runs the hook that closes the change."""
    request = approval_request_for(change)
    if request is None or request.status not in OPEN_STATUSES:
        raise ValidationError(_("This request was decided in the meantime and can no longer be withdrawn."))
    approval_withdraw(request=request, acting_user=acting_user, comment=comment)
    change.refresh_from_db()
    return change


# Hooks the workflow registers (residents/workflows.py): the engine calls them with the request.


def on_change_approved(*, request: ApprovalRequest, acting_user: User | None) -> None:
    training_change_apply(request.target, acting_user)


def on_change_rejected(*, request: ApprovalRequest, acting_user: User | None) -> None:
    training_change_close(change=request.target, state=ChangeState.REJECTED, acting_user=acting_user)


def on_change_withdrawn(*, request: ApprovalRequest, acting_user: User | None) -> None:
    training_change_close(change=request.target, state=ChangeState.WITHDRAWN, acting_user=acting_user)
