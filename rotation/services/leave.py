"""Leave: requests with half days, decided through the approval engine, 销假, the rules and the make-up ledger.

Days are calendar days (weekends and holidays count, as hospitals count leave during a rotation),
minus half a day when the leave starts in the afternoon and half a day when it ends at noon. After
销假 a leave counts only up to the day before the resident was back at work.

The rules are the hospital's (`LeaveSettings`, created with the shipped examples on first use):
leave above `block_fail_ratio` of a block fails that block's 出科, cumulative leave extends training
by the extension rules, and days beyond `makeup_over_days` in one leave are owed in the make-up
ledger.

Other areas read leave only through the functions of the "public reads" section below; the
scheduler gets months fully on leave as LEAVE pins (registered at import of this module).
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Hospital, User
from approvals.choices import ActionKind
from approvals.models import ApprovalAction, ApprovalRequest
from approvals.services import approval_submit, approval_withdraw
from core.audit import audit_record
from core.uploads import clean_filename, validate_upload
from residents.models import ResidentProfile

from ..choices import LeaveKind, LeaveStatus, MakeupKind
from ..models import LeaveAttachment, LeaveRequest, LeaveSettings, MakeupEntry, RotationBlock
from ..months import add_months, month_end
from ..scheduling.problem import LEAVE
from .problems import pins

LEAVE_WORKFLOW = "rotation.leave"
SUPERVISOR_RELATION = "rotation.block_supervisor"
ATTACHMENT_EXTENSIONS = ("jpg", "jpeg", "png", "pdf")
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
#: Requests that occupy their days: a new request may not overlap them.
ACTIVE_STATUSES = (LeaveStatus.PENDING, LeaveStatus.APPROVED)
HALF = Decimal("0.5")

SETTINGS_DEFAULTS = {
    "block_fail_ratio": Decimal("0.333"),
    "extension_rules": [{"over_days": 90, "extend_months": 6}, {"over_days": 180, "extend_months": 12}],
    "makeup_over_days": 30,
    "annual_leave_days": 5,
}


# ---------------------------------------------------------------- arithmetic


@dataclass(frozen=True)
class Span:
    """The days a leave occupies: first and last day, with the half days at either end."""

    start: date
    end: date
    start_afternoon: bool = False
    end_morning: bool = False

    @property
    def days(self) -> Decimal:
        return self.overlap_days(self.start, self.end)

    def overlap_days(self, first: date, last: date) -> Decimal:
        """Days of this span inside [first, last], half days counted as 0.5."""
        lo, hi = max(self.start, first), min(self.end, last)
        if lo > hi:
            return Decimal(0)
        days = Decimal((hi - lo).days + 1)
        if lo == self.start and self.start_afternoon:
            days -= HALF
        if hi == self.end and self.end_morning:
            days -= HALF
        return max(days, Decimal(0))

    def slots(self) -> tuple[int, int]:
        """Half-day slots [from, to): a leave ending at noon and one starting that afternoon do not overlap."""
        return (
            self.start.toordinal() * 2 + (1 if self.start_afternoon else 0),
            self.end.toordinal() * 2 + (1 if self.end_morning else 2),
        )

    def overlaps(self, other: Span) -> bool:
        a, b = self.slots(), other.slots()
        return a[0] < b[1] and b[0] < a[1]


def leave_days(start: date, end: date, *, start_afternoon: bool = False, end_morning: bool = False) -> Decimal:
    """Calendar days from start to end, minus half a day for each half-day end."""
    if end < start:
        return Decimal(0)
    return Span(start, end, start_afternoon, end_morning).days


def effective_span(leave: LeaveRequest) -> Span:
    """The days a leave really took: after 销假 only up to the day before the resident was back."""
    end, end_morning = leave.end_date, leave.end_morning
    if leave.returned_on is not None and leave.returned_on <= leave.end_date:
        end, end_morning = max(leave.returned_on - timedelta(days=1), leave.start_date), False
    return Span(leave.start_date, end, leave.start_afternoon, end_morning)


def effective_days(leave: LeaveRequest) -> Decimal:
    return effective_span(leave).days


# ---------------------------------------------------------------- settings


def settings_for_hospital(hospital: Hospital) -> LeaveSettings:
    """The hospital's rules; a collaborating site follows its parent. Created with the shipped examples."""
    hospital_id = hospital.parent_id or hospital.pk
    rules, _created = LeaveSettings.objects.get_or_create(hospital_id=hospital_id, defaults=dict(SETTINGS_DEFAULTS))
    return rules


def settings_for_resident(resident: ResidentProfile) -> LeaveSettings:
    return settings_for_hospital(resident.base.hospital)


def clean_extension_rules(rules) -> list[dict]:
    """[{"over_days": int > 0, "extend_months": int > 0}, ...] sorted by days; anything else is refused."""
    if not isinstance(rules, list):
        raise ValidationError(_("The extension rules must be a list."))
    cleaned = []
    for rule in rules:
        try:
            over, extend = int(rule["over_days"]), int(rule["extend_months"])
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                _('Each extension rule needs "over_days" and "extend_months" as whole numbers.')
            ) from None
        if over <= 0 or extend <= 0:
            raise ValidationError(_("Days and months of an extension rule must be above zero."))
        cleaned.append({"over_days": over, "extend_months": extend})
    return sorted(cleaned, key=lambda r: r["over_days"])


@transaction.atomic
def leave_settings_update(*, rules: LeaveSettings, values: dict, acting_user: User) -> LeaveSettings:
    """The office changes its hospital's leave rules; the change applies from now on (audited)."""
    rules = LeaveSettings.objects.select_for_update().get(pk=rules.pk)
    changes = {}
    values = {**values, "extension_rules": clean_extension_rules(values.get("extension_rules", rules.extension_rules))}
    for name in ("block_fail_ratio", "extension_rules", "makeup_over_days", "annual_leave_days"):
        if name in values and values[name] != getattr(rules, name):
            changes[name] = [str(getattr(rules, name)), str(values[name])]
            setattr(rules, name, values[name])
    if changes:
        rules.full_clean()
        rules.save()
        audit_record(action="rotation.leave.settings", target=rules, acting_user=acting_user, changes=changes)
    return rules


# ---------------------------------------------------------------- public reads (other areas call these)


def _approved(resident_ids: Iterable[int], first: date | None = None, last: date | None = None):
    queryset = LeaveRequest.objects.filter(resident_id__in=list(resident_ids), status=LeaveStatus.APPROVED)
    if first is not None:
        queryset = queryset.filter(end_date__gte=first)
    if last is not None:
        queryset = queryset.filter(start_date__lte=last)
    return queryset.only("resident_id", "start_date", "start_afternoon", "end_date", "end_morning", "returned_on")


def approved_leave_days(resident_ids: Iterable[int], first: date, last: date) -> dict[int, Decimal]:
    """Approved leave inside [first, last] per resident (half days, 销假 applied); residents without leave absent."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for leave in _approved(resident_ids, first, last):
        days = effective_span(leave).overlap_days(first, last)
        if days:
            totals[leave.resident_id] += days
    return dict(totals)


def on_leave(day: date, resident_ids: Iterable[int]) -> set[int]:
    """Residents on approved leave (any part of) that day."""
    return {
        leave.resident_id for leave in _approved(resident_ids, day, day) if effective_span(leave).overlap_days(day, day)
    }


def block_leave_days(block: RotationBlock) -> Decimal:
    """Approved leave of the block's resident during the block's dates."""
    return approved_leave_days([block.resident_id], block.start_date, block.end_date).get(block.resident_id, Decimal(0))


def block_leave_exceeds(block: RotationBlock, rules: LeaveSettings | None = None) -> bool:
    """The 出科 gate: leave above block_fail_ratio of the block's calendar days fails the block."""
    rules = rules or settings_for_resident(block.resident)
    block_days = Decimal((block.end_date - block.start_date).days + 1)
    return block_leave_days(block) > Decimal(rules.block_fail_ratio) * block_days


def cumulative_leave_days(resident: ResidentProfile) -> Decimal:
    """All approved leave of the resident's training, 销假 applied."""
    return sum((effective_days(leave) for leave in _approved([resident.pk])), Decimal(0))


def extension_due(resident: ResidentProfile, rules: LeaveSettings | None = None) -> int:
    """Months of extension the cumulative leave calls for (the highest rule exceeded; 0 if none)."""
    rules = rules or settings_for_resident(resident)
    total = cumulative_leave_days(resident)
    months = [int(r["extend_months"]) for r in rules.extension_rules or [] if total > Decimal(str(r["over_days"]))]
    return max(months, default=0)


def makeup_balance(resident: ResidentProfile) -> Decimal:
    """Days still owed in the make-up ledger: owed minus made up (结业 needs 0)."""
    return makeup_balances([resident.pk]).get(resident.pk, Decimal(0))


def makeup_balances(resident_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    rows = MakeupEntry.objects.all()
    if resident_ids is not None:
        rows = rows.filter(resident_id__in=list(resident_ids))
    balances: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows.values("resident_id", "kind").annotate(total=Sum("days")):
        sign = 1 if row["kind"] == MakeupKind.OWED else -1
        balances[row["resident_id"]] += sign * row["total"]
    return dict(balances)


# ---------------------------------------------------------------- scheduler pins


@pins.register
def approved_leave_pins(resident_ids: list[int], first_month: date, count: int) -> dict[int, dict[int, int]]:
    """Months entirely covered by approved leave (several leaves together count) are LEAVE for the scheduler."""
    first, last = first_month, month_end(add_months(first_month, count - 1)) if count > 0 else first_month
    covered: dict[int, set[date]] = defaultdict(set)
    for leave in _approved(resident_ids, first, last):
        span = effective_span(leave)
        day = max(span.start, first)
        while day <= min(span.end, last):
            covered[leave.resident_id].add(day)
            day += timedelta(days=1)
    result: dict[int, dict[int, int]] = {}
    for resident_id, days in covered.items():
        for offset in range(count):
            month = add_months(first_month, offset)
            length = month_end(month).day
            if sum(1 for d in days if d.year == month.year and d.month == month.month) == length:
                result.setdefault(resident_id, {})[offset] = LEAVE
    return result


# ---------------------------------------------------------------- requests


def block_for(resident: ResidentProfile, start: date, end: date) -> RotationBlock | None:
    return (
        RotationBlock.objects.filter(resident=resident, start_date__lte=start, end_date__gte=end)
        .select_related("department", "supervisor")
        .order_by("start_date")
        .first()
    )


def check_request(
    *,
    resident: ResidentProfile,
    kind: str,
    span: Span,
    exclude_pk: int | None = None,
) -> tuple[RotationBlock | None, list[str]]:
    """Business rules of a request: dates in order, inside one block, no overlap, annual leave left."""
    errors: list[str] = []
    if span.end < span.start:
        return None, [_("The leave cannot end before it starts.")]
    if span.days <= 0:
        return None, [_("A one-day leave cannot both start in the afternoon and end at noon.")]
    block = block_for(resident, span.start, span.end)
    if block is None:
        touching = list(
            RotationBlock.objects.filter(resident=resident, start_date__lte=span.end, end_date__gte=span.start)
            .select_related("department")
            .order_by("start_date")
        )
        if touching:
            names = "; ".join(f"{b.department.name} {b.start_date:%Y-%m-%d} – {b.end_date:%Y-%m-%d}" for b in touching)
            errors.append(
                _(
                    "The leave must fall within one rotation block, but these dates span more than one or go "
                    "beyond it (%(blocks)s). Ask for leave up to the end of the block and send a second request "
                    "for the rest."
                )
                % {"blocks": names}
            )
        else:
            errors.append(
                _(
                    "You have no rotation block from %(start)s to %(end)s: "
                    "leave can only be asked for during your rotation."
                )
                % {"start": f"{span.start:%Y-%m-%d}", "end": f"{span.end:%Y-%m-%d}"}
            )
    others = LeaveRequest.objects.filter(
        resident=resident, status__in=ACTIVE_STATUSES, start_date__lte=span.end, end_date__gte=span.start
    ).exclude(pk=exclude_pk)
    for other in others:
        if effective_span(other).overlaps(span):
            errors.append(
                _("These dates overlap your %(status)s leave from %(start)s to %(end)s.")
                % {
                    "status": other.get_status_display().lower(),
                    "start": f"{other.start_date:%Y-%m-%d}",
                    "end": f"{other.end_date:%Y-%m-%d}",
                }
            )
            break
    if kind == LeaveKind.ANNUAL:
        rules = settings_for_resident(resident)
        year_first, year_last = date(span.start.year, 1, 1), date(span.start.year, 12, 31)
        taken = sum(
            (
                effective_span(leave).overlap_days(year_first, year_last)
                for leave in LeaveRequest.objects.filter(
                    resident=resident,
                    kind=LeaveKind.ANNUAL,
                    status__in=ACTIVE_STATUSES,
                    start_date__lte=year_last,
                    end_date__gte=year_first,
                ).exclude(pk=exclude_pk)
            ),
            Decimal(0),
        )
        if taken + span.days > rules.annual_leave_days:
            errors.append(
                _("Annual leave is %(allowed)s days a year; %(taken)s are taken or asked for in %(year)s.")
                % {"allowed": rules.annual_leave_days, "taken": format_days(taken), "year": span.start.year}
            )
    return block, errors


def format_days(value: Decimal) -> str:
    """3.0 -> "3", 2.5 -> "2.5"."""
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


def validate_attachments(files: Iterable) -> list[tuple[object, str]]:
    """Every file checked before anything is stored: (file, content type)."""
    checked = []
    for file in files:
        checked.append(
            (file, validate_upload(file, allowed_extensions=ATTACHMENT_EXTENSIONS, max_bytes=ATTACHMENT_MAX_BYTES))
        )
    return checked


def approval_request_for(leave: LeaveRequest) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.filter(
            workflow=LEAVE_WORKFLOW,
            target_type=ContentType.objects.get_for_model(LeaveRequest),
            target_id=str(leave.pk),
        )
        .order_by("-submitted_at")
        .first()
    )


@transaction.atomic
def leave_request_submit(
    *,
    resident: ResidentProfile,
    kind: str,
    start_date: date,
    end_date: date,
    reason: str,
    acting_user: User,
    start_afternoon: bool = False,
    end_morning: bool = False,
    files: Iterable = (),
) -> LeaveRequest:
    """The resident asks for leave: checked against their rotation and other leave, then routed by length.

    Nothing is stored unless every check passes (attachments included).
    """
    if resident.user_id != acting_user.pk:
        raise PermissionDenied
    reason = (reason or "").strip()
    span = Span(start_date, end_date, start_afternoon, end_morning)
    errors = [] if reason else [_("Give the reason for the leave: the approvers read it.")]
    if kind not in LeaveKind.values:
        errors.append(_("Choose the type of leave."))
    # Lock the resident's row: two requests sent at once cannot both pass the overlap check.
    ResidentProfile.objects.select_for_update().filter(pk=resident.pk).first()
    block, rule_errors = check_request(resident=resident, kind=kind, span=span)
    errors += rule_errors
    checked = []
    try:
        checked = validate_attachments(files)
    except ValidationError as exc:
        errors += exc.messages
    if errors:
        raise ValidationError(errors)
    days = span.days
    leave = LeaveRequest.objects.create(
        resident=resident,
        block=block,
        kind=kind,
        start_date=start_date,
        start_afternoon=start_afternoon,
        end_date=end_date,
        end_morning=end_morning,
        days=days,
        reason=reason,
    )
    names = []
    for file, content_type in checked:
        original = clean_filename(file.name)
        attachment = LeaveAttachment(request=leave, original_name=original, size=file.size, content_type=content_type)
        attachment.file.save(f"{uuid.uuid4().hex}{os.path.splitext(original)[1].lower()}", file, save=False)
        attachment.save()
        names.append(original)
    audit_record(
        action="rotation.leave.submit",
        target=leave,
        acting_user=acting_user,
        changes={"status": [None, LeaveStatus.PENDING]},
        kind=kind,
        start=str(start_date),
        end=str(end_date),
        days=str(days),
        attachments=len(names),
    )
    approval_submit(
        workflow=LEAVE_WORKFLOW,
        target=leave,
        title=_("Leave: %(name)s, %(kind)s, %(start)s – %(end)s (%(days)s days)")
        % {
            "name": acting_user.display_name,
            "kind": leave.get_kind_display(),
            "start": f"{start_date:%Y-%m-%d}",
            "end": f"{end_date:%Y-%m-%d}",
            "days": format_days(days),
        },
        acting_user=acting_user,
        subject=acting_user,
        hospital=resident.base.hospital,
        base=resident.base,
        department=block.department,
        context={"days": float(days), "kind": kind},
        comment=reason,
    )
    leave.refresh_from_db()  # approved at once when no step applies
    return leave


def first_decision_made(leave: LeaveRequest) -> bool:
    approval = approval_request_for(leave)
    return approval is not None and ApprovalAction.objects.filter(request=approval, kind=ActionKind.APPROVE).exists()


def may_withdraw(user: User, leave: LeaveRequest) -> bool:
    return leave.resident.user_id == user.pk and leave.status == LeaveStatus.PENDING and not first_decision_made(leave)


@transaction.atomic
def leave_request_withdraw(*, leave: LeaveRequest, acting_user: User) -> LeaveRequest:
    """The resident takes a request back before anyone decided on it (afterwards the approvers have a say)."""
    if leave.resident.user_id != acting_user.pk:
        raise PermissionDenied
    leave = LeaveRequest.objects.select_for_update().get(pk=leave.pk)
    approval = approval_request_for(leave)
    if leave.status != LeaveStatus.PENDING or approval is None:
        raise ValidationError(_("Only a leave request waiting for approval can be withdrawn."))
    if ApprovalAction.objects.filter(request=approval, kind=ActionKind.APPROVE).exists():
        raise ValidationError(
            _("An approver has already agreed to this request: it can no longer be withdrawn. Ask them instead.")
        )
    approval_withdraw(request=approval, acting_user=acting_user)  # the hook sets the status
    leave.refresh_from_db()
    return leave


@transaction.atomic
def leave_request_report_back(*, leave: LeaveRequest, returned_on: date, acting_user: User) -> LeaveRequest:
    """销假: the resident confirms the day they were back at work; the leave may shorten, never lengthen."""
    leave = LeaveRequest.objects.select_for_update().select_related("resident__user").get(pk=leave.pk)
    if leave.resident.user_id != acting_user.pk:
        raise PermissionDenied
    if leave.status != LeaveStatus.APPROVED or leave.returned_on is not None:
        raise ValidationError(_("Only approved leave not yet reported back can be closed."))
    latest = leave.end_date + timedelta(days=1)
    if returned_on <= leave.start_date:
        raise ValidationError(
            _("The day back at work must be after the first day of leave (%(start)s).")
            % {"start": f"{leave.start_date:%Y-%m-%d}"}
        )
    if returned_on > latest:
        raise ValidationError(
            _(
                "The leave was approved until %(end)s: the day back at work can be %(latest)s at the latest. "
                "A longer absence needs a new leave request."
            )
            % {"end": f"{leave.end_date:%Y-%m-%d}", "latest": f"{latest:%Y-%m-%d}"}
        )
    if returned_on > timezone.localdate():
        raise ValidationError(_("Confirm your return once you are back: the day cannot be in the future."))
    before = leave.days
    leave.returned_on = returned_on
    leave.returned_confirmed_at = timezone.now()
    leave.days = effective_days(leave)
    leave.save(update_fields=["returned_on", "returned_confirmed_at", "days"])
    audit_record(
        action="rotation.leave.report_back",
        target=leave,
        acting_user=acting_user,
        changes={"returned_on": [None, str(returned_on)], "days": [str(before), str(leave.days)]},
    )
    _update_owed(leave, acting_user)
    return leave


# ---------------------------------------------------------------- the make-up ledger


def _update_owed(leave: LeaveRequest, acting_user: User | None) -> None:
    """The owed entry of one leave follows its days beyond makeup_over_days (created, shortened or removed)."""
    rules = settings_for_resident(leave.resident)
    owed = max(effective_days(leave) - rules.makeup_over_days, Decimal(0))
    entry = MakeupEntry.objects.filter(leave=leave, kind=MakeupKind.OWED).first()
    before = entry.days if entry else Decimal(0)
    if owed == before:
        return
    if entry is None:
        entry = MakeupEntry.objects.create(
            resident=leave.resident,
            kind=MakeupKind.OWED,
            days=owed,
            day=leave.end_date,
            leave=leave,
            note=_("Leave %(start)s – %(end)s: days beyond %(over)s")
            % {
                "start": f"{leave.start_date:%Y-%m-%d}",
                "end": f"{leave.end_date:%Y-%m-%d}",
                "over": rules.makeup_over_days,
            },
            created_by=acting_user or leave.resident.user,
        )
    elif owed:
        entry.days = owed
        entry.save(update_fields=["days"])
    else:
        entry.delete()
    audit_record(
        action="rotation.leave.makeup_owed",
        target=leave,
        acting_user=acting_user,
        changes={"owed": [str(before), str(owed)]},
        resident=str(leave.resident.uuid),
    )


@transaction.atomic
def makeup_record(*, resident: ResidentProfile, days: Decimal, day: date, note: str, acting_user: User) -> MakeupEntry:
    """The office records days made up (e.g. extra weeks in a department); the balance goes down."""
    if days <= 0:
        raise ValidationError(_("Enter the days made up, above zero."))
    if days % HALF:
        raise ValidationError(_("Days are counted in halves: e.g. 3 or 3.5."))
    entry = MakeupEntry.objects.create(
        resident=resident,
        kind=MakeupKind.MADE_UP,
        days=days,
        day=day,
        note=(note or "").strip(),
        created_by=acting_user,
    )
    audit_record(
        action="rotation.leave.makeup_record",
        target=resident,
        acting_user=acting_user,
        changes={"made_up": [None, str(days)]},
        day=str(day),
    )
    return entry


# ---------------------------------------------------------------- approval hooks (rotation/workflows_leave.py)


def _set_status(request: ApprovalRequest, status: str, acting_user: User | None) -> LeaveRequest | None:
    leave = (
        LeaveRequest.objects.select_for_update()
        .select_related("resident__user", "resident__base__hospital")
        .filter(pk=request.target_id)
        .first()
    )
    if leave is None or leave.status == status:
        return leave
    before = leave.status
    leave.status = status
    leave.decided_at = None if status in (LeaveStatus.RETURNED, LeaveStatus.PENDING) else timezone.now()
    leave.save(update_fields=["status", "decided_at"])
    audit_record(
        action=f"rotation.leave.{status}",
        target=leave,
        acting_user=acting_user,
        changes={"status": [before, status]},
    )
    return leave


def _tell_resident(leave: LeaveRequest, title: str, request: ApprovalRequest) -> None:
    from notices.notify import notify

    last = request.actions.exclude(comment="").filter(kind__in=[ActionKind.REJECT, ActionKind.RETURN]).last()
    notify(
        [leave.resident.user],
        title=title,
        body=last.comment if last else "",
        url=reverse("rotation:leave_detail", args=[leave.uuid]),
        kind="rotation.leave",
    )


def on_leave_approved(*, request: ApprovalRequest, acting_user: User | None) -> None:
    leave = _set_status(request, LeaveStatus.APPROVED, acting_user)
    if leave is None:
        return
    _update_owed(leave, acting_user)
    with translation.override(settings.LANGUAGE_CODE):
        _tell_resident(
            leave,
            _("Your leave from %(start)s to %(end)s was approved")
            % {"start": f"{leave.start_date:%Y-%m-%d}", "end": f"{leave.end_date:%Y-%m-%d}"},
            request,
        )


def on_leave_rejected(*, request: ApprovalRequest, acting_user: User | None) -> None:
    leave = _set_status(request, LeaveStatus.REJECTED, acting_user)
    if leave is not None:
        with translation.override(settings.LANGUAGE_CODE):
            _tell_resident(
                leave,
                _("Your leave from %(start)s to %(end)s was not approved")
                % {"start": f"{leave.start_date:%Y-%m-%d}", "end": f"{leave.end_date:%Y-%m-%d}"},
                request,
            )


def on_leave_returned(*, request: ApprovalRequest, acting_user: User | None) -> None:
    leave = _set_status(request, LeaveStatus.RETURNED, acting_user)
    if leave is not None:
        with translation.override(settings.LANGUAGE_CODE):
            _tell_resident(
                leave,
                _("Your leave request from %(start)s was returned for changes")
                % {"start": f"{leave.start_date:%Y-%m-%d}"},
                request,
            )


def on_leave_withdrawn(*, request: ApprovalRequest, acting_user: User | None) -> None:
    leave = _set_status(request, LeaveStatus.WITHDRAWN, acting_user)
    if leave is not None:
        with translation.override(settings.LANGUAGE_CODE):
            _tell_resident(
                leave,
                _("Your leave request from %(start)s was withdrawn") % {"start": f"{leave.start_date:%Y-%m-%d}"},
                request,
            )


def on_leave_resubmitted(*, request: ApprovalRequest, acting_user: User | None) -> None:
    """Sent again after a return: pending once more (and blocking overlapping requests again)."""
    _set_status(request, LeaveStatus.PENDING, acting_user)


def block_supervisor(request: ApprovalRequest):
    """The approvals relation rotation.block_supervisor: the supervisor of the target's block (none: the office)."""
    target = request.target
    block = target if isinstance(target, RotationBlock) else getattr(target, "block", None)
    supervisor_id = getattr(block, "supervisor_id", None)
    return User.objects.filter(pk=supervisor_id) if supervisor_id else User.objects.none()


def needs_report_back(resident: ResidentProfile, today: date | None = None):
    """Approved leave that has ended without 销假 yet (the resident's to-do)."""
    today = today or timezone.localdate()
    return LeaveRequest.objects.filter(
        resident=resident, status=LeaveStatus.APPROVED, returned_on__isnull=True, end_date__lt=today
    )
