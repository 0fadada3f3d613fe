"""登记手册 against the quotas: the departments' standards, pro-rating, progress and the 80 % warning.

Quotas come from the department's CaseloadStandard rows (`load_caseload_standards` reads the
shipped examples) and are pro-rated to the block's length (`required_for`, standards §3). Only
approved entries count (`progress`, `progress_for`); the 出科 gate (rotation.services.exits) and
the home pages read the result. The entries themselves are rotation.services.caseload.
"""

import datetime
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Department, Hospital, User
from core.audit import audit_record
from notices.notify import notify

from ..choices import CaseloadKind, EntryStatus
from ..models import CaseloadEntry, CaseloadStandard, RotationBlock
from ..months import month_end, months_between

#: A kind of progress below this share, two weeks before the block ends, warns resident and supervisor.
WARN_RATIO = 0.8
WARN_DAYS = 14

#: The kinds whose quotas make up 出科 completion; operations count with procedures (操作/手术).
PROGRESS_KINDS = (CaseloadKind.DISEASE, CaseloadKind.CASE, CaseloadKind.PROCEDURE)
PROGRESS_GROUP = {
    CaseloadKind.DISEASE: CaseloadKind.DISEASE,
    CaseloadKind.CASE: CaseloadKind.CASE,
    CaseloadKind.PROCEDURE: CaseloadKind.PROCEDURE,
    CaseloadKind.OPERATION: CaseloadKind.PROCEDURE,
}

DEFAULT_PROGRAMMES = Path(__file__).resolve().parents[2] / "accounts" / "data" / "rotation_programs.yaml"
CASE_STANDARD_NAME = "管床病例"


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # pragma: no cover - until the lead wires the caseload pages
        return ""


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
        queryset = queryset.filter(kind__in=standard_kinds(kind))
    return queryset.order_by("kind", "position", "pk")


def standard_kinds(kind: str) -> tuple[str, ...]:
    """The standards' kinds an entry of `kind` may count toward (operations share the procedures' list)."""
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
