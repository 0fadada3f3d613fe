"""登记手册: the daily caseload a resident logs and the block's supervisor approves into the archive.

An entry belongs to the resident's rotation block that contains its date (never a future date,
never a day outside every block). The resident edits or deletes it until it is approved; an
approved entry is corrected by a new entry (`corrects`, a mandatory reason) that goes through
approval too and, once approved, supersedes the old one. Only approved entries count.

Editing and deciding race each other (a resident fixes a count on the phone while the supervisor
bulk-approves on the ward computer): every write is one `UPDATE ... WHERE version = n`, so exactly
one of them wins and the other is told the entry changed meanwhile.

Quotas come from the department's CaseloadStandard rows (`load_caseload_standards` reads the
shipped examples) and are pro-rated to the block's length (`progress`).
"""

import datetime
import math
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Department, Hospital, User
from core.audit import audit_record
from core.uploads import clean_filename, validate_upload
from notices.notify import notify
from residents.models import ResidentProfile

from ..choices import CaseloadKind, EntryStatus, ProcedureRole
from ..models import CaseloadAttachment, CaseloadEntry, CaseloadStandard, RotationBlock
from ..months import month_end, months_between

ATTACHMENT_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "pdf"})
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5
#: More than this in one line is a typo (3 × ECG, not 300).
MAX_COUNT = 99
#: A kind of progress below this share, two weeks before the block ends, warns resident and supervisor.
WARN_RATIO = 0.8
WARN_DAYS = 14

EDITABLE = (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.RETURNED)
#: The kinds whose quotas make up 出科 completion; operations count with procedures (操作/手术).
PROGRESS_KINDS = (CaseloadKind.DISEASE, CaseloadKind.CASE, CaseloadKind.PROCEDURE)
PROGRESS_GROUP = {
    CaseloadKind.DISEASE: CaseloadKind.DISEASE,
    CaseloadKind.CASE: CaseloadKind.CASE,
    CaseloadKind.PROCEDURE: CaseloadKind.PROCEDURE,
    CaseloadKind.OPERATION: CaseloadKind.PROCEDURE,
}
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

DEFAULT_PROGRAMMES = Path(__file__).resolve().parents[2] / "accounts" / "data" / "rotation_programs.yaml"
CASE_STANDARD_NAME = "管床病例"


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


# --- standards ----------------------------------------------------------------------------------


@dataclass
class StandardsReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: int = 0
    departments: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            _("%(count)s standards created, %(updated)s updated, %(kept)s kept")
            % {"count": len(self.created), "updated": len(self.updated), "kept": self.kept}
        ]
        if self.departments:
            out.append(_("Departments: %(names)s") % {"names": ", ".join(self.departments)})
        return out


def _quota_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The standards of one department of the file: diseases, skills (procedures) and managed inpatients (cases)."""
    quotas = spec["example_quotas"]
    rows = []
    for position, item in enumerate(quotas.get("diseases") or []):
        rows.append({"kind": CaseloadKind.DISEASE, "name": item["name"], "minimum": item["min"], "position": position})
    managed = quotas.get("managed_inpatients") or {}
    if managed.get("min"):
        detail = ""
        if managed.get("followed_admission_to_discharge_min"):
            detail = f"其中全程管理（入院至出院）≥ {managed['followed_admission_to_discharge_min']}"
        rows.append(
            {"kind": CaseloadKind.CASE, "name": CASE_STANDARD_NAME, "minimum": managed["min"], "detail": detail}
        )
    for position, item in enumerate(quotas.get("skills") or []):
        rows.append(
            {
                "kind": CaseloadKind.PROCEDURE,
                "name": item["name"],
                "minimum": item["min"],
                "detail": str(item.get("detail", ""))[:300],
                "position": position,
            }
        )
    months = int(quotas.get("standard_months") or 1)
    for row in rows:
        row["standard_months"] = months
    return rows


def _departments_for(hospital: Hospital, spec: dict[str, Any]) -> list[Department]:
    """The hospital's (and its sites') departments that are this department of the file: code, name or alias."""
    names = {spec["name"], *spec.get("aka", [])}
    return list(
        Department.objects.filter(Q(hospital=hospital) | Q(hospital__parent=hospital))
        .filter(Q(code=spec["code"]) | Q(name__in=names))
        .order_by("pk")
    )


@transaction.atomic
def load_caseload_standards(
    hospital: Hospital, *, acting_user: User | None = None, path: Path | str | None = None, replace: bool = False
) -> StandardsReport:
    """The shipped per-resident quotas (`example_quotas` of rotation_programs.yaml) for the hospital's departments.

    Idempotent: a standard that exists (department, kind, name) is kept as the office left it, unless
    `replace` asks to reset it to the shipped numbers.
    """
    from .programmes import read_programmes

    data = read_programmes(path or DEFAULT_PROGRAMMES)
    report = StandardsReport()
    for spec in data["departments"]:
        if not spec.get("example_quotas"):
            continue
        rows = _quota_rows(spec)
        for department in _departments_for(hospital, spec):
            existing = {(s.kind, s.name): s for s in CaseloadStandard.objects.filter(department=department)}
            report.departments.append(department.name)
            for row in rows:
                values = {k: v for k, v in row.items() if k not in ("kind", "name")}
                current = existing.get((row["kind"], row["name"]))
                if current is None:
                    standard = CaseloadStandard.objects.create(department=department, **row)
                    report.created.append(f"{department.name} · {standard.name}")
                    continue
                changed = {k: [getattr(current, k), v] for k, v in values.items() if getattr(current, k) != v}
                if replace and changed:
                    for name, (_old, new) in changed.items():
                        setattr(current, name, new)
                    current.save(update_fields=list(changed))
                    report.updated.append(f"{department.name} · {current.name}")
                else:
                    report.kept += 1
    if report.created or report.updated:
        audit_record(
            action="caseload.standards_load",
            target=hospital,
            acting_user=acting_user,
            created=len(report.created),
            updated=len(report.updated),
        )
    return report


def standards_of(department: Department | int, kind: str | None = None) -> QuerySet[CaseloadStandard]:
    """The department's standards in use (of one kind, operations sharing the procedures' list)."""
    department_id = department if isinstance(department, int) else department.pk
    queryset = CaseloadStandard.objects.filter(department_id=department_id, is_active=True)
    if kind is not None:
        queryset = queryset.filter(kind__in=_standard_kinds(kind))
    return queryset.order_by("kind", "position", "pk")


def _standard_kinds(kind: str) -> tuple[str, ...]:
    if kind in (CaseloadKind.PROCEDURE, CaseloadKind.OPERATION):
        return (CaseloadKind.PROCEDURE, CaseloadKind.OPERATION)
    return (kind,)


# --- progress against the quotas -----------------------------------------------------------------


def block_months(block: RotationBlock) -> Fraction:
    """The block's length in months: each calendar month it touches counts by the share of its days covered.

    A block from the 1st of March to the 30th of April is exactly 2; 1–15 March is 15/31.
    """
    total = Fraction(0)
    for first in months_between(block.start_date, block.end_date):
        last = month_end(first)
        start, end = max(first, block.start_date), min(last, block.end_date)
        total += Fraction((end - start).days + 1, last.day)
    return total


def required_for(standard: CaseloadStandard, months: Fraction) -> int:
    """required = ⌈months ÷ standard months × minimum⌉, pro-rated for a shorter rotation (standards §3).

    Rounding up is the default the standards leave to the hospital. A rotation longer than the
    standard's does not raise the minimum: the quota is what one rotation of that department asks.
    """
    if standard.minimum <= 0:
        return 0
    share = min(Fraction(months), Fraction(standard.standard_months)) / standard.standard_months
    return math.ceil(share * standard.minimum)


@dataclass(frozen=True)
class StandardProgress:
    standard: CaseloadStandard
    required: int
    done: int

    @property
    def ratio(self) -> float:
        return 1.0 if self.required == 0 else self.done / self.required

    @property
    def percent(self) -> int:
        return min(100, round(self.ratio * 100))

    @property
    def met(self) -> bool:
        return self.done >= self.required


@dataclass(frozen=True)
class KindProgress:
    kind: str
    lines: tuple[StandardProgress, ...]

    @property
    def label(self) -> str:
        return CaseloadKind(self.kind).label

    @property
    def required(self) -> int:
        return sum(line.required for line in self.lines)

    @property
    def credited(self) -> int:
        """Done, each standard capped at its requirement (50 ECGs do not make up for no 电复律)."""
        return sum(min(line.done, line.required) for line in self.lines)

    @property
    def completion(self) -> float:
        return 1.0 if self.required == 0 else self.credited / self.required

    @property
    def percent(self) -> int:
        return min(100, math.floor(self.completion * 100))

    @property
    def below_gate(self) -> bool:
        return self.completion < WARN_RATIO


@dataclass(frozen=True)
class BlockProgress:
    """A block's quotas: per standard required (pro-rated) and done (approved), and completion per kind.

    Completion of a kind (病种, 病例, 操作 with 手术) = Σ min(done, required) ÷ Σ required over its
    standards, so surplus on one item never hides a gap on another; a kind without standards is complete.
    """

    block: RotationBlock
    months: Fraction
    kinds: tuple[KindProgress, ...]
    learning: int = 0

    @property
    def lines(self) -> list[StandardProgress]:
        return [line for kind in self.kinds for line in kind.lines]

    @property
    def months_shown(self) -> float:
        """The block's months for people (2.97), the exact Fraction being for the arithmetic."""
        return round(float(self.months), 1)

    @property
    def has_standards(self) -> bool:
        return any(kind.lines for kind in self.kinds)

    def kind(self, kind: str) -> KindProgress | None:
        return next((k for k in self.kinds if k.kind == kind), None)

    @property
    def lowest_completion(self) -> float:
        """The weakest kind's completion (1.0 without standards): what the 80 % 出科 gate looks at."""
        return min((k.completion for k in self.kinds if k.lines), default=1.0)

    @property
    def lowest_percent(self) -> int:
        return min(100, math.floor(self.lowest_completion * 100))

    @property
    def below_gate(self) -> list[KindProgress]:
        return [k for k in self.kinds if k.lines and k.below_gate]


def progress_for(blocks: Sequence[RotationBlock]) -> dict[int, BlockProgress]:
    """Progress of many blocks in three queries (standards, approved sums, learning records)."""
    blocks = list(blocks)
    if not blocks:
        return {}
    standards: dict[int, list[CaseloadStandard]] = defaultdict(list)
    for standard in CaseloadStandard.objects.filter(
        department_id__in={b.department_id for b in blocks}, is_active=True
    ).order_by("kind", "position", "pk"):
        standards[standard.department_id].append(standard)
    done: dict[int, list[tuple[int | None, str, int]]] = defaultdict(list)
    sums = (
        CaseloadEntry.objects.filter(block__in=blocks, status=EntryStatus.APPROVED)
        .values_list("block_id", "standard_id", "kind")
        .annotate(total=Sum("count"))
        .order_by()
    )
    for block_id, standard_id, kind, total in sums:
        done[block_id].append((standard_id, kind, total or 0))
    result = {}
    for block in blocks:
        months = block_months(block)
        own = standards.get(block.department_id, [])
        by_standard: dict[int, int] = defaultdict(int)
        learning = 0
        loose_cases = 0
        for standard_id, kind, total in done.get(block.pk, ()):
            if kind == CaseloadKind.LEARNING:
                learning += total
            if standard_id is not None:
                by_standard[standard_id] += total
            elif kind == CaseloadKind.CASE:
                loose_cases += total
        case_standards = [s for s in own if s.kind == CaseloadKind.CASE]
        if case_standards and loose_cases:  # a case logged without an item counts toward the (first) case quota
            by_standard[case_standards[0].pk] += loose_cases
        groups: dict[str, list[StandardProgress]] = {k: [] for k in PROGRESS_KINDS}
        for standard in own:
            group = PROGRESS_GROUP.get(standard.kind)
            if group is None:
                continue
            groups[group].append(StandardProgress(standard, required_for(standard, months), by_standard[standard.pk]))
        kinds = tuple(KindProgress(kind, tuple(lines)) for kind, lines in groups.items())
        result[block.pk] = BlockProgress(block=block, months=months, kinds=kinds, learning=learning)
    return result


def progress(block: RotationBlock) -> BlockProgress:
    """The block's quota progress (see BlockProgress); the exit and home pages use it."""
    return progress_for([block])[block.pk]


def learning_count(block: RotationBlock) -> int:
    """Approved learning records (业务学习) of the block."""
    total = CaseloadEntry.objects.filter(
        block=block, kind=CaseloadKind.LEARNING, status=EntryStatus.APPROVED
    ).aggregate(n=Sum("count"))["n"]
    return total or 0


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
        elif standard.kind not in _standard_kinds(kind):
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


# --- warnings -------------------------------------------------------------------------------------


def warn_low_quotas(today: datetime.date | None = None) -> int:
    """Two weeks before a block ends, tell the resident and the supervisor about kinds below 80 %.

    Idempotent per block: the warning notification itself is the marker (kind + the block's page).
    Returns how many blocks were warned.
    """
    from notices.models import Notification

    today = today or timezone.localdate()
    blocks = list(
        RotationBlock.objects.filter(
            start_date__lte=today,
            end_date__gte=today,
            end_date__lte=today + datetime.timedelta(days=WARN_DAYS),
            department__caseload_standards__is_active=True,
        )
        .distinct()
        .select_related("resident__user", "department", "supervisor")
    )
    if not blocks:
        return 0
    urls = {b.pk: _url("rotation:caseload_block", b.uuid) or f"/rotation/caseload/blocks/{b.uuid}/" for b in blocks}
    warned = set(
        Notification.objects.filter(kind="rotation.caseload_low", url__in=urls.values()).values_list("url", flat=True)
    )
    count = 0
    for block_id, item in progress_for(blocks).items():
        block = item.block
        url = urls[block_id]
        low = item.below_gate
        if not low or url in warned:
            continue
        with transaction.atomic():
            parts = ", ".join(f"{k.label} {k.percent}%" for k in low)
            notify(
                [u for u in (block.resident.user, block.supervisor) if u is not None],
                title=gettext_lazy("Caseload below 80 % two weeks before the rotation ends"),
                body=f"{block.resident.user.display_name} · {block.department.name} · "
                f"{block.end_date:%Y-%m-%d} · {parts}",
                url=url,
                kind="rotation.caseload_low",
            )
            audit_record(action="caseload.quota_warning", target=block, kinds=parts)
        count += 1
    return count
