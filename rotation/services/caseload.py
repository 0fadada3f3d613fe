"""登记手册: the daily caseload a resident logs and the block's supervisor approves into the archive.

An entry belongs to the resident's rotation block that contains its date (never a future date,
never a day outside every block). The resident edits or deletes it until it is approved; an
approved entry is corrected by a new entry (`corrects`, a mandatory reason) that goes through
approval too and, once approved, supersedes the old one. Only approved entries count.

Editing and deciding race each other (a resident fixes a count on the phone while the supervisor
bulk-approves on the ward computer): every write is one `UPDATE ... WHERE version = n`, so exactly
one of them wins and the other is told the entry changed meanwhile.

The quotas, pro-rating and progress against them are rotation.services.caseload_progress.
"""

import datetime
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.audit import audit_record
from core.uploads import clean_filename, validate_upload
from notices.notify import notify
from residents.models import ResidentProfile

from ..choices import CaseloadKind, EntryStatus, ProcedureRole
from ..models import CaseloadAttachment, CaseloadEntry, CaseloadStandard, RotationBlock
from .caseload_progress import standard_kinds, standards_of

ATTACHMENT_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "pdf"})
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5
#: More than this in one line is a typo (3 × ECG, not 300).
MAX_COUNT = 99

EDITABLE = (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.RETURNED)
#: What each kind needs on top of the date (the service's rules; the forms only check shape).
PROCEDURE_ROLES = (ProcedureRole.OPERATOR, ProcedureRole.ASSISTANT)
OPERATION_ROLES = (ProcedureRole.SURGEON, ProcedureRole.FIRST_ASSISTANT, ProcedureRole.SECOND_ASSISTANT)
#: The fields an entry's writer may set (everything else is the workflow's).
ENTRY_FIELDS = (
    "standard",
    "name",
    "patient_initials",
    "record_number",
    "source",
    "is_main",
    "is_rescue",
    "role",
    "succeeded",
    "failure_reason",
    "content",
    "count",
)
#: Patient data never reaches the audit trail in clear.
PATIENT_FIELDS = ("patient_initials", "record_number")
#: Kinds that identify one patient record: "same as yesterday" does not copy them by default.
PATIENT_KINDS = (CaseloadKind.CASE, CaseloadKind.WRITEUP)


# --- masking ------------------------------------------------------------------------------------


def mask_initials(value: str) -> str:
    """王小明 / WXM -> 王** / W**: the first character only."""
    value = (value or "").strip()
    if not value:
        return ""
    return value[0] + "**"


def mask_record_number(value: str) -> str:
    """0012345678 -> ****5678; short numbers keep only their last character."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 4:
        return "****" + value[-4:]
    return "*" * (len(value) - 1) + value[-1]


def may_see_patient(user, entry: CaseloadEntry) -> bool:
    """Full patient initials and record number: the resident and the block's supervisor, on the detail page."""
    return bool(user.is_authenticated) and (entry.resident.user_id == user.pk or entry.block.supervisor_id == user.pk)


# --- entries: rules ------------------------------------------------------------------------------


def block_on(resident: ResidentProfile, day: datetime.date) -> RotationBlock | None:
    """The resident's block containing `day` (the published schedule has one at most)."""
    return (
        RotationBlock.objects.filter(resident=resident, start_date__lte=day, end_date__gte=day)
        .select_related("department", "supervisor", "resident__user")
        .order_by("start_date")
        .first()
    )


def _block_for(resident: ResidentProfile, day: datetime.date) -> RotationBlock:
    if day > timezone.localdate():
        raise ValidationError({"day": _("The date cannot be in the future.")}, code="future")
    block = block_on(resident, day)
    if block is None:
        raise ValidationError(
            {"day": _("%(date)s is not in any of your rotation blocks.") % {"date": f"{day:%Y-%m-%d}"}},
            code="outside",
        )
    return block


def _clean_fields(kind: str, fields: dict[str, Any], block: RotationBlock) -> dict[str, Any]:
    """Business rules of one entry's fields; returns them normalised (unused fields of the kind emptied)."""
    if kind not in CaseloadKind.values:
        raise ValidationError(_("Choose what kind of entry this is."), code="kind")
    unknown = set(fields) - set(ENTRY_FIELDS)
    if unknown:  # pragma: no cover - a programming error, not input
        raise TypeError(f"unknown caseload fields: {sorted(unknown)}")
    values: dict[str, Any] = {
        "standard": None,
        "name": "",
        "patient_initials": "",
        "record_number": "",
        "source": "",
        "is_main": False,
        "is_rescue": False,
        "role": "",
        "succeeded": None,
        "failure_reason": "",
        "content": "",
        "count": 1,
    }
    for name, value in fields.items():
        values[name] = value.strip() if isinstance(value, str) else value
    errors: dict[str, str] = {}
    count = values["count"]
    if count is None or not isinstance(count, int) or count < 1:
        errors["count"] = _("The number must be at least 1.")
    elif count > MAX_COUNT:
        errors["count"] = _("At most %(max)s in one entry.") % {"max": MAX_COUNT}
    standard = values["standard"]
    if standard is not None:
        if standard.department_id != block.department_id or not standard.is_active:
            errors["standard"] = _("Choose an item of %(department)s's list.") % {"department": block.department.name}
        elif standard.kind not in standard_kinds(kind):
            errors["standard"] = _("This item belongs to another kind of entry.")
        elif kind != CaseloadKind.CASE:
            values["name"] = standard.name  # the list's item, not a name left over from before
    has_list = kind in (CaseloadKind.DISEASE,) and standards_of(block.department_id, kind).exists()
    if kind == CaseloadKind.DISEASE and has_list and standard is None:
        errors["standard"] = _("Choose the disease from the department's list.")
    elif kind not in (CaseloadKind.CASE,) and not values["name"] and "standard" not in errors:
        errors["name"] = _("Say what it was.")
    if kind in (CaseloadKind.CASE, CaseloadKind.WRITEUP):
        if not values["patient_initials"]:
            errors["patient_initials"] = _("Enter the patient's initials.")
        if not values["record_number"]:
            errors["record_number"] = _("Enter the medical record number.")
    if kind == CaseloadKind.CASE:
        if not values["source"]:
            errors["source"] = _("Say where the patient came from.")
        if standard is None:
            case_standard = standards_of(block.department_id, CaseloadKind.CASE).first()
            values["standard"] = case_standard
        values["name"] = values["name"] or (values["standard"].name if values["standard"] else "")
    else:
        values["source"], values["is_main"] = "", False
    if kind == CaseloadKind.PROCEDURE:
        if values["role"] not in PROCEDURE_ROLES:
            errors["role"] = _("Say whether you performed it or assisted.")
        if values["succeeded"] is None:
            errors["succeeded"] = _("Say whether it succeeded.")
        elif values["succeeded"] is False and not values["failure_reason"]:
            errors["failure_reason"] = _("Give the reason it failed.")
    elif kind == CaseloadKind.OPERATION:
        if values["role"] not in OPERATION_ROLES:
            errors["role"] = _("Choose your role in the operation.")
    else:
        values["role"] = ""
    if kind not in (CaseloadKind.PROCEDURE, CaseloadKind.OPERATION):
        values["succeeded"], values["failure_reason"] = None, ""
    elif values["succeeded"] is not False:
        values["failure_reason"] = ""
    if kind == CaseloadKind.RESCUE:
        values["is_rescue"] = True
    if errors:
        raise ValidationError(errors)
    return values


def _check_files(files: Sequence) -> list[str]:
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError(
            {"attachments": _("At most %(max)s files per entry.") % {"max": MAX_ATTACHMENTS}}, code="too_many"
        )
    types = []
    for upload in files:
        try:
            types.append(
                validate_upload(upload, allowed_extensions=ATTACHMENT_EXTENSIONS, max_bytes=ATTACHMENT_MAX_BYTES)
            )
        except ValidationError as exc:
            raise ValidationError({"attachments": exc.messages}) from exc
    return types


def _attach(entry: CaseloadEntry, files: Sequence, types: Sequence[str]) -> None:
    for upload, content_type in zip(files, types, strict=True):
        original = clean_filename(upload.name)
        attachment = CaseloadAttachment(
            entry=entry, original_name=original, size=upload.size, content_type=content_type
        )
        attachment.file.save(f"{uuid.uuid4().hex}{os.path.splitext(original)[1].lower()}", upload, save=False)
        attachment.save()


def _audit_values(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        if name in PATIENT_FIELDS:
            out[name] = "***" if value else ""
        elif isinstance(value, CaseloadStandard):
            out[name] = value.name
        else:
            out[name] = value
    return out


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # pragma: no cover - until the lead wires the caseload pages
        return ""


# --- entries: writing ----------------------------------------------------------------------------


@transaction.atomic
def entry_create(
    *,
    resident: ResidentProfile,
    kind: str,
    day: datetime.date,
    acting_user: User,
    draft: bool = False,
    files: Sequence = (),
    corrects: CaseloadEntry | None = None,
    correction_reason: str = "",
    **fields: Any,
) -> CaseloadEntry:
    """Log one entry in the block containing `day` (submitted for approval, or a draft to finish later)."""
    block = _block_for(resident, day)
    values = _clean_fields(kind, fields, block)
    types = _check_files(files)
    entry = CaseloadEntry.objects.create(
        block=block,
        resident=resident,
        kind=kind,
        day=day,
        status=EntryStatus.DRAFT if draft else EntryStatus.SUBMITTED,
        corrects=corrects,
        correction_reason=correction_reason,
        **values,
    )
    _attach(entry, files, types)
    audit_record(
        action="caseload.correct" if corrects else "caseload.create",
        target=entry,
        acting_user=acting_user,
        changes={k: [None, v] for k, v in _audit_values({"kind": kind, "day": f"{day}", **values}).items()},
        status=entry.status,
        **({"corrects": corrects.uuid, "reason": correction_reason} if corrects else {}),
    )
    return entry


class StaleEntry(ValidationError):
    """The entry changed (edited, decided, deleted) since the page showed it."""


def _stale() -> StaleEntry:
    return StaleEntry(
        _("This entry was changed meanwhile (edited, approved or returned). Reload the page and try again."),
        code="stale",
    )


@transaction.atomic
def entry_update(
    *,
    entry: CaseloadEntry,
    version: int,
    acting_user: User,
    day: datetime.date | None = None,
    draft: bool | None = None,
    files: Sequence = (),
    **fields: Any,
) -> CaseloadEntry:
    """The resident changes an entry that is not approved yet; a returned entry goes back for approval.

    Compare-and-swap on `version`: if the supervisor decided (or another tab saved) meanwhile, nothing
    is written and StaleEntry says so.
    """
    day = day or entry.day
    block = _block_for(entry.resident, day)
    merged = {name: getattr(entry, name) for name in ENTRY_FIELDS}
    merged.update(fields)
    values = _clean_fields(entry.kind, merged, block)
    types = _check_files(files)
    if len(files) + entry.attachments.count() > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": _("At most %(max)s files per entry.") % {"max": MAX_ATTACHMENTS}})
    if draft is None:
        status = EntryStatus.DRAFT if entry.status == EntryStatus.DRAFT else EntryStatus.SUBMITTED
    else:
        status = EntryStatus.DRAFT if draft else EntryStatus.SUBMITTED
    before = {name: getattr(entry, name) for name in ENTRY_FIELDS}
    updated = CaseloadEntry.objects.filter(pk=entry.pk, version=version, status__in=EDITABLE).update(
        block=block,
        day=day,
        status=status,
        version=F("version") + 1,
        updated_at=timezone.now(),
        **values,
    )
    if not updated:
        raise _stale()
    entry.refresh_from_db()
    _attach(entry, files, types)
    old, new = _audit_values(before), _audit_values(values)
    audit_record(
        action="caseload.update",
        target=entry,
        acting_user=acting_user,
        changes={k: [old[k], new[k]] for k in new if before[k] != values[k]},
        status=entry.status,
        files=len(files),
    )
    return entry


@transaction.atomic
def entry_delete(*, entry: CaseloadEntry, version: int, acting_user: User) -> None:
    """The resident takes back an entry not approved yet; its files go after the commit (GridFS is outside it)."""
    files = [(a.file.name, a.file.storage) for a in entry.attachments.all()]
    deleted, _rows = CaseloadEntry.objects.filter(pk=entry.pk, version=version, status__in=EDITABLE).delete()
    if not deleted:
        raise _stale()
    for name, storage in files:
        if name:
            transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))
    audit_record(
        action="caseload.delete",
        target=entry,
        acting_user=acting_user,
        changes={"name": [entry.name, None], "day": [f"{entry.day}", None], "count": [entry.count, None]},
    )


@transaction.atomic
def drafts_submit(
    *, resident: ResidentProfile, acting_user: User, entries: Iterable[CaseloadEntry] | None = None
) -> int:
    """Send the resident's drafts (all, or the given ones) for approval."""
    queryset = CaseloadEntry.objects.filter(resident=resident, status=EntryStatus.DRAFT)
    if entries is not None:
        queryset = queryset.filter(pk__in=[e.pk for e in entries])
    ids = list(queryset.values_list("pk", flat=True))
    count = CaseloadEntry.objects.filter(pk__in=ids, status=EntryStatus.DRAFT).update(
        status=EntryStatus.SUBMITTED, version=F("version") + 1, updated_at=timezone.now()
    )
    if count:
        audit_record(action="caseload.submit", target=resident, acting_user=acting_user, entries=count)
    return count


@transaction.atomic
def entry_correct(
    *,
    entry: CaseloadEntry,
    reason: str,
    acting_user: User,
    day: datetime.date | None = None,
    files: Sequence = (),
    **fields: Any,
) -> CaseloadEntry:
    """Correct an approved entry: a new entry pointing at it, with the reason, through approval again.

    The old entry keeps counting until the correction is approved; then it is superseded.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"correction_reason": _("Say why the approved entry needs correcting.")})
    current = CaseloadEntry.objects.select_for_update().get(pk=entry.pk)
    if current.status != EntryStatus.APPROVED:
        raise ValidationError(_("Only an approved entry is corrected; change this one directly."), code="not_approved")
    if current.corrections.filter(status__in=EDITABLE).exists():
        raise ValidationError(
            _("A correction of this entry is already waiting; change that one instead."), code="pending"
        )
    merged = {name: getattr(current, name) for name in ENTRY_FIELDS}
    merged.update(fields)
    return entry_create(
        resident=current.resident,
        kind=current.kind,
        day=day or current.day,
        acting_user=acting_user,
        files=files,
        corrects=current,
        correction_reason=reason,
        **merged,
    )


# --- entries: deciding ---------------------------------------------------------------------------


@dataclass
class DecisionResult:
    approved: list[CaseloadEntry] = field(default_factory=list)
    returned: list[CaseloadEntry] = field(default_factory=list)
    skipped: list[CaseloadEntry] = field(default_factory=list)


def _decide_one(entry: CaseloadEntry, version: int, approve: bool, comment: str, acting_user: User) -> bool:
    """One compare-and-swap: submitted at `version` → approved / returned. False when it changed meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        updated = CaseloadEntry.objects.filter(pk=entry.pk, version=version, status=EntryStatus.SUBMITTED).update(
            status=EntryStatus.APPROVED if approve else EntryStatus.RETURNED,
            decided_by=acting_user,
            decided_at=now,
            comment=comment,
            version=F("version") + 1,
            updated_at=now,
        )
        if not updated:
            return False
        superseded = 0
        if approve and entry.corrects_id:
            superseded = CaseloadEntry.objects.filter(pk=entry.corrects_id, status=EntryStatus.APPROVED).update(
                status=EntryStatus.SUPERSEDED, version=F("version") + 1, updated_at=now
            )
        entry.refresh_from_db()
        audit_record(
            action="caseload.approve" if approve else "caseload.return",
            target=entry,
            acting_user=acting_user,
            changes={"status": [EntryStatus.SUBMITTED.value, entry.status]},
            comment=comment,
            **({"superseded": entry.corrects_id} if superseded else {}),
        )
    return True


def entry_decide(*, entry: CaseloadEntry, version: int, approve: bool, comment: str = "", acting_user: User) -> None:
    """The block's supervisor (or the head) approves an entry or returns it with a comment.

    Raises StaleEntry if the resident changed it since the page showed it.
    """
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": _("Say what needs changing when you return an entry.")})
    if not _decide_one(entry, version, approve, comment[:300], acting_user):
        raise _stale()
    if not approve:
        notify(
            [entry.resident.user],
            title=gettext_lazy("A caseload entry was returned"),
            body=f"{entry.day:%Y-%m-%d} · {entry.name or entry.get_kind_display()} · {comment}",
            url=_url("rotation:caseload_entry", entry.uuid),
            kind="rotation.caseload_returned",
        )


def entries_approve(
    *, selection: Sequence[tuple[CaseloadEntry, int]], acting_user: User, comment: str = ""
) -> DecisionResult:
    """Bulk approval of a day's or a week's entries: each entry on its own (all or nothing per entry).

    `selection` pairs each entry (already checked: the acting user may decide it) with the version
    the page showed; an entry the resident edited meanwhile is skipped and reported, the rest approved.
    """
    result = DecisionResult()
    for entry, version in selection:
        if _decide_one(entry, version, True, comment[:300], acting_user):
            result.approved.append(entry)
        else:
            result.skipped.append(entry)
    if result.approved:
        audit_record(
            action="caseload.bulk_approve",
            acting_user=acting_user,
            approved=len(result.approved),
            skipped=len(result.skipped),
        )
    return result


# --- same as yesterday ---------------------------------------------------------------------------


def repeat_candidates(resident: ResidentProfile, day: datetime.date) -> list[CaseloadEntry]:
    """The entries of the day before `day` that could be logged again (not superseded ones)."""
    return list(
        CaseloadEntry.objects.filter(resident=resident, day=day - datetime.timedelta(days=1))
        .exclude(status=EntryStatus.SUPERSEDED)
        .select_related("standard")
        .order_by("pk")
    )


@transaction.atomic
def entries_repeat(
    *, resident: ResidentProfile, entries: Sequence[CaseloadEntry], day: datetime.date, acting_user: User
) -> list[CaseloadEntry]:
    """ "Same as yesterday": copy the chosen entries to `day` as new submitted entries (attachments not copied)."""
    created = []
    for source in entries:
        if source.resident_id != resident.pk:  # pragma: no cover - the view offers only the resident's own
            continue
        fields = {name: getattr(source, name) for name in ENTRY_FIELDS}
        created.append(entry_create(resident=resident, kind=source.kind, day=day, acting_user=acting_user, **fields))
    return created


# --- selections for pages -------------------------------------------------------------------------


def inbox_q(user) -> Q:
    """Submitted entries a user decides: of blocks they supervise, or of departments they head."""
    from accounts.choices import Role

    q = Q(block__supervisor_id=user.pk)
    heads = user.scope.departments(Role.DEPARTMENT_HEAD)
    if heads:
        q |= Q(block__department_id__in=heads)
    return Q(status=EntryStatus.SUBMITTED) & q


def waiting_count(user) -> int:
    """The nav badge: one COUNT."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return CaseloadEntry.objects.filter(inbox_q(user)).count()
