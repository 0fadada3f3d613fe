"""Programmes as data, departments' rotation settings, supervisors made available, elective preferences.

The scheduler reads everything here through four functions: `programme_problems` (it refuses a
programme with problems), `capacities` (per department and month), `preferences_for` (residents'
rankings) and the `DepartmentSupervisor` rows. Everything that writes is audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import SiteKind
from accounts.models import Department, Hospital, SpecialtyBase
from core.audit import audit_record
from residents.models import ResidentProfile

from .choices import RequirementKind
from .models import (
    DepartmentMonth,
    DepartmentSetting,
    DepartmentSupervisor,
    ElectivePreference,
    PreferenceWindow,
    Programme,
    ProgrammeRequirement,
)
from .months import month_list as month_range
from .months import month_start

DEFAULT_PROGRAMMES = Path(__file__).resolve().parent.parent / "accounts" / "data" / "rotation_programs.yaml"
#: Capacity of a department that has no setting yet (the model's default, too).
DEFAULT_CAPACITY = 10
#: 住培 staffing standard: at most 3 residents per supervising doctor, 2 in 急诊.
PER_SUPERVISOR = 3
PER_SUPERVISOR_EMERGENCY = 2
#: Training years a per-year minimum may name.
TRAINING_YEARS = (1, 2, 3)
#: How far ahead the month calendar reaches.
CALENDAR_MONTHS = 36


# ---------------------------------------------------------------- months


# ---------------------------------------------------------------- departments reachable by a hospital
def hospital_departments(hospital: Hospital) -> QuerySet[Department]:
    """The main hospital's departments and its collaborating sites': what a programme may name."""
    return (
        Department.objects.filter(Q(hospital=hospital) | Q(hospital__parent=hospital))
        .select_related("hospital")
        .order_by("hospital__kind", "hospital__code", "code")
    )


def default_supervisor_ratio(department: Department) -> int:
    """急诊 allows 2 residents per supervising doctor, everything else 3 (standards §4)."""
    if department.code.upper() == "EMER" or "急诊" in department.name:
        return PER_SUPERVISOR_EMERGENCY
    return PER_SUPERVISOR


# ---------------------------------------------------------------- loading the shipped programmes
@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)
    settings_created: int = 0
    #: programme codes in the file that no base of the hospital has
    not_offered: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.created:
            out.append(_("Programmes created: %(list)s.") % {"list": "、".join(self.created)})
        if self.replaced:
            out.append(_("Programmes replaced: %(list)s.") % {"list": "、".join(self.replaced)})
        if self.kept:
            out.append(_("Programmes already there, left alone: %(list)s.") % {"list": "、".join(self.kept)})
        if self.departments_created:
            out.append(
                _("Departments created in the main hospital: %(list)s.") % {"list": "、".join(self.departments_created)}
            )
        if self.settings_created:
            out.append(_("Rotation settings with default values for %(n)s departments.") % {"n": self.settings_created})
        if not out:
            out.append(_("No specialty base of this hospital has a default programme."))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def read_programmes(path: Path | str | None = None) -> dict[str, Any]:
    import yaml  # only loading needs PyYAML; keep it out of every process's start-up

    with Path(path or DEFAULT_PROGRAMMES).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class _DepartmentMatcher:
    """Finds the hospital's department for a department of the file: by code, then name, then alias;
    the main hospital before its collaborating sites. Creates what is missing in the main hospital."""

    def __init__(self, hospital: Hospital, data: dict[str, Any], report: LoadReport, acting_user) -> None:
        from accounts.demo import department_bases

        self.hospital = hospital
        self.specs = {d["code"]: d for d in data["departments"]}
        self.by_name = {d["name"]: d for d in data["departments"]}
        self.departments = list(hospital_departments(hospital))
        self.bases = {b.code: b for b in SpecialtyBase.objects.filter(hospital=hospital)}
        self.base_of = department_bases(data)
        self.report = report
        self.acting_user = acting_user

    def _find(self, spec: dict[str, Any]) -> Department | None:
        names = {spec["name"], *spec.get("aka", [])}
        for test in (
            lambda d: d.code == spec["code"],
            lambda d: d.name == spec["name"],
            lambda d: d.name in names,
        ):
            main = [d for d in self.departments if test(d) and d.hospital_id == self.hospital.pk]
            sites = [d for d in self.departments if test(d) and d.hospital_id != self.hospital.pk]
            if main or sites:
                return (main or sites)[0]
        return None

    def department(self, name: str) -> Department:
        spec = self.by_name.get(name) or {"code": name[:32], "name": name}
        found = self._find(spec)
        if found is not None:
            return found
        parent = self.department(self.specs[spec["parent"]]["name"]) if spec.get("parent") in self.specs else None
        base = self.bases.get(self.base_of.get(spec["code"]) or "")
        department = Department.objects.create(
            hospital=self.hospital,
            code=spec["code"],
            name=spec["name"],
            name_en=spec.get("name_en", ""),
            parent=parent,
            base=base,
        )
        department.hospital = self.hospital
        self.departments.append(department)
        self.report.departments_created.append(department.name)
        audit_record(
            action="rotation.department_create",
            target=department,
            acting_user=self.acting_user,
            changes={"code": [None, department.code], "name": [None, department.name]},
        )
        return department


@transaction.atomic
def load_programmes(
    hospital: Hospital, *, acting_user=None, path: Path | str | None = None, replace: bool = False
) -> LoadReport:
    """The shipped default programmes for every base of `hospital` that has none (all of them with `replace`)."""
    data = read_programmes(path)
    report = LoadReport()
    matcher = _DepartmentMatcher(hospital, data, report, acting_user)
    bases = {b.code: b for b in SpecialtyBase.objects.filter(hospital=hospital)}
    existing = {p.base_id: p for p in Programme.objects.filter(base__hospital=hospital)}
    for spec in data["programs"]:
        code = str(spec["code"])
        base = bases.get(code)
        if base is None:
            report.not_offered.append(code)
            continue
        programme = existing.get(base.pk)
        label = f"{code} {spec['name']}"
        if programme is not None and not replace:
            report.kept.append(label)
            continue
        limits = spec.get("collaborating_site_limits") or {}
        values = {
            "code": code,
            "name": spec["name"],
            "total_months": spec["total_months"],
            "source": spec.get("source", ""),
            "confirmed": bool(spec.get("confirmed")),
            "max_sites": limits.get("max_sites"),
            "max_site_departments": limits.get("max_departments"),
            "max_site_months": limits.get("max_months"),
        }
        if programme is None:
            programme = Programme.objects.create(base=base, **values)
            report.created.append(label)
        else:
            for name, value in values.items():
                setattr(programme, name, value)
            programme.save()
            programme.requirements.all().delete()
            report.replaced.append(label)
        for position, req in enumerate(spec["requirements"]):
            if "department" in req:
                ProgrammeRequirement.objects.create(
                    programme=programme,
                    position=position,
                    kind=RequirementKind.MANDATORY,
                    department=matcher.department(req["department"]),
                    months=req["months"],
                )
            else:
                group = ProgrammeRequirement.objects.create(
                    programme=programme,
                    position=position,
                    kind=RequirementKind.ELECTIVE,
                    months=req["months_each"],
                    choose=req["choose"],
                )
                group.options.set([matcher.department(name) for name in req["from"]])
        audit_record(
            action="rotation.programme_load",
            target=programme,
            acting_user=acting_user,
            replaced=programme.base_id in existing,
            requirements=len(spec["requirements"]),
        )
    report.settings_created = ensure_department_settings(hospital)
    return report


def ensure_department_settings(hospital: Hospital) -> int:
    """A default DepartmentSetting for every department a programme of `hospital` names that has none."""
    requirements = ProgrammeRequirement.objects.filter(programme__base__hospital=hospital)
    used = set(requirements.exclude(department=None).values_list("department_id", flat=True))
    used |= set(requirements.filter(options__isnull=False).values_list("options", flat=True))
    missing = Department.objects.filter(pk__in=used, rotation_setting__isnull=True)
    settings = [
        DepartmentSetting(department=d, capacity=DEFAULT_CAPACITY, residents_per_supervisor=default_supervisor_ratio(d))
        for d in missing
    ]
    DepartmentSetting.objects.bulk_create(settings)
    return len(settings)


# ---------------------------------------------------------------- checking a programme
def programme_problems(programmes: Iterable[Programme]) -> dict[int, list[str]]:
    """Problems of each programme (translated), in few queries: the scheduler refuses those with any."""
    programmes = list(programmes)
    requirements: dict[int, list[ProgrammeRequirement]] = defaultdict(list)
    for req in (
        ProgrammeRequirement.objects.filter(programme__in=programmes)
        .select_related("department__hospital")
        .prefetch_related("options__hospital")
        .order_by("position", "pk")
    ):
        requirements[req.programme_id].append(req)
    return {p.pk: _problems(p, requirements[p.pk]) for p in programmes}


def check_programme(programme: Programme) -> list[str]:
    return programme_problems([programme])[programme.pk]


def _label(req: ProgrammeRequirement, number: int) -> str:
    if req.kind == RequirementKind.MANDATORY and req.department_id:
        return str(req.department)
    return _("elective group %(n)s") % {"n": number}


def _problems(programme: Programme, requirements: Sequence[ProgrammeRequirement]) -> list[str]:
    problems: list[str] = []
    if not requirements:
        return [_("The programme has no requirements yet.")]
    total = 0
    seen: dict[int, int] = defaultdict(int)
    names: dict[int, str] = {}
    site_months = 0
    site_departments: set[int] = set()
    sites: set[int] = set()
    group_number = 0
    for req in requirements:
        options = list(req.options.all())
        if req.kind == RequirementKind.ELECTIVE:
            group_number += 1
            label = _label(req, group_number)
            total += req.choose * req.months
            if len(options) < req.choose:
                problems.append(
                    _("%(group)s offers %(options)s departments, but residents choose %(choose)s.")
                    % {"group": label.capitalize(), "options": len(options), "choose": req.choose}
                )
            for option in options:
                seen[option.pk] += 1
                names[option.pk] = str(option)
        else:
            label = _label(req, 0)
            total += req.months
            if req.department_id is None:
                problems.append(
                    _("A mandatory requirement (%(months)s months) has no department.") % {"months": req.months}
                )
            else:
                seen[req.department_id] += 1
                names[req.department_id] = str(req.department)
                if req.department.hospital.kind == SiteKind.COLLABORATING:
                    site_months += req.months
                    site_departments.add(req.department_id)
                    sites.add(req.department.hospital_id)
        if req.max_runs > req.months:
            problems.append(
                _("%(requirement)s cannot be split into %(runs)s periods: it has only %(months)s months.")
                % {"requirement": label, "runs": req.max_runs, "months": req.months}
            )
        problems.extend(_year_minimum_problems(req, label))
    if total != programme.total_months:
        problems.append(
            _("The requirements add up to %(sum)s months, but the programme lasts %(total)s months.")
            % {"sum": total, "total": programme.total_months}
        )
    for pk, count in seen.items():
        if count > 1:
            problems.append(_("%(department)s appears more than once.") % {"department": names[pk]})
    limits = (
        (programme.max_site_months, site_months, _("%(value)s months at collaborating sites (at most %(limit)s).")),
        (
            programme.max_site_departments,
            len(site_departments),
            _("%(value)s departments at collaborating sites (at most %(limit)s)."),
        ),
        (programme.max_sites, len(sites), _("%(value)s collaborating sites (at most %(limit)s).")),
    )
    for limit, value, message in limits:
        if limit is not None and value > limit:
            problems.append(message % {"value": value, "limit": limit})
    return problems


def _year_minimum_problems(req: ProgrammeRequirement, label: str) -> list[str]:
    minimum = req.year_minimum or {}
    if not isinstance(minimum, dict):
        return [_("%(requirement)s: the months per training year are not readable.") % {"requirement": label}]
    problems = []
    required = 0
    for year, months in minimum.items():
        try:
            year_number, months_number = int(year), int(months)
        except (TypeError, ValueError):
            return [_("%(requirement)s: the months per training year are not readable.") % {"requirement": label}]
        if year_number not in TRAINING_YEARS:
            problems.append(
                _("%(requirement)s: training year %(year)s does not exist (years 1 to 3).")
                % {"requirement": label, "year": year}
            )
        if months_number < 0:
            problems.append(
                _("%(requirement)s: negative months in year %(year)s.") % {"requirement": label, "year": year}
            )
        required += max(months_number, 0)
    if required > req.months:
        problems.append(
            _("%(requirement)s: %(required)s months are required in given training years, but it has only %(months)s.")
            % {"requirement": label, "required": required, "months": req.months}
        )
    return problems


# ---------------------------------------------------------------- editing a programme
PROGRAMME_FIELDS = (
    "name",
    "total_months",
    "source",
    "confirmed",
    "max_sites",
    "max_site_departments",
    "max_site_months",
)
REQUIREMENT_FIELDS = ("position", "kind", "department", "months", "choose", "max_runs", "year_minimum")


@transaction.atomic
def programme_update(
    *,
    programme: Programme,
    values: dict[str, Any],
    requirements: Sequence[dict[str, Any]],
    acting_user,
) -> list[str]:
    """Save the programme and its requirements in one go; return its problems (saving is allowed anyway).

    `requirements`: dicts with REQUIREMENT_FIELDS, "options" (departments), "id" (None for a new one)
    and "delete". A draft is edited step by step, so a programme that breaks the sum rule is saved.
    """
    before = {name: getattr(programme, name) for name in PROGRAMME_FIELDS}
    for name in PROGRAMME_FIELDS:
        if name in values:
            setattr(programme, name, values[name])
    programme.full_clean(exclude=["base"])
    programme.save()
    changes: dict[str, Any] = {
        n: [before[n], getattr(programme, n)] for n in PROGRAMME_FIELDS if before[n] != getattr(programme, n)
    }
    existing = {r.pk: r for r in programme.requirements.all()}
    added = removed = edited = 0
    for data in requirements:
        req = existing.get(data.get("id")) if data.get("id") else None
        if data.get("id") and req is None:
            raise ValidationError(_("A requirement was changed by someone else meanwhile; reload the page."))
        if data.get("delete"):
            if req is not None:
                req.delete()
                removed += 1
            continue
        req = req or ProgrammeRequirement(programme=programme)
        is_new = req.pk is None
        for name in REQUIREMENT_FIELDS:
            if name in data:
                setattr(req, name, data[name])
        if req.kind == RequirementKind.ELECTIVE:
            req.department = None
        else:
            req.choose = 1
        req.year_minimum = req.year_minimum or {}
        req.save()
        options = list(data.get("options") or []) if req.kind == RequirementKind.ELECTIVE else []
        req.options.set(options)
        added += is_new
        edited += not is_new
    if added or removed or edited:
        changes["requirements"] = {"added": added, "removed": removed, "saved": edited}
    audit_record(action="rotation.programme_update", target=programme, acting_user=acting_user, changes=changes)
    ensure_department_settings(programme.base.hospital)
    return check_programme(programme)


@transaction.atomic
def programme_create(*, base: SpecialtyBase, values: dict[str, Any], acting_user) -> Programme:
    """An empty programme for a base without one; requirements come next, on its edit page."""
    if Programme.objects.filter(base=base).exists():
        raise ValidationError(_("This specialty base has a programme already."))
    programme = Programme(base=base, code=base.code, **{n: v for n, v in values.items() if n in PROGRAMME_FIELDS})
    programme.full_clean()
    programme.save()
    audit_record(action="rotation.programme_create", target=programme, acting_user=acting_user)
    return programme


# ---------------------------------------------------------------- department settings and months
def department_capacity(department: Department, months: list[date]) -> list[tuple[int, int, bool]]:
    """(capacity, minimum, closed) for each month; a closed month is (0, 0, True)."""
    if not months:
        return []
    first = min(month_start(m) for m in months)
    last = max(month_start(m) for m in months)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    by_month = dict(zip(month_range(first, count), capacities([department], first, count)[department.pk], strict=True))
    return [by_month[month_start(m)] for m in months]


def capacities(
    departments: Iterable[Department | int], first_month: date, count: int
) -> dict[int, list[tuple[int, int, bool]]]:
    """Bulk `department_capacity` for consecutive months, in two queries whatever the number of departments.

    A month's DepartmentMonth row overrides the DepartmentSetting (capacity/minimum left empty there keep
    the setting's); a department without a setting has capacity DEFAULT_CAPACITY and minimum 0.
    """
    ids = [d if isinstance(d, int) else d.pk for d in departments]
    months = month_range(first_month, count)
    defaults = {pk: (DEFAULT_CAPACITY, 0) for pk in ids}
    for pk, capacity, minimum in DepartmentSetting.objects.filter(department_id__in=ids).values_list(
        "department_id", "capacity", "minimum"
    ):
        defaults[pk] = (capacity, minimum)
    overrides = {
        (row.department_id, row.month): row
        for row in DepartmentMonth.objects.filter(department_id__in=ids, month__gte=months[0], month__lte=months[-1])
        if months
    }
    result: dict[int, list[tuple[int, int, bool]]] = {}
    for pk in ids:
        capacity, minimum = defaults[pk]
        row_values = []
        for month in months:
            row = overrides.get((pk, month))
            if row is None:
                row_values.append((capacity, minimum, False))
            elif row.closed:
                row_values.append((0, 0, True))
            else:
                row_values.append(
                    (
                        capacity if row.capacity is None else row.capacity,
                        minimum if row.minimum is None else row.minimum,
                        False,
                    )
                )
        result[pk] = row_values
    return result


def setting_for(department: Department) -> DepartmentSetting:
    """The department's setting, or an unsaved one with the defaults."""
    try:
        return department.rotation_setting
    except DepartmentSetting.DoesNotExist:
        return DepartmentSetting(
            department=department,
            capacity=DEFAULT_CAPACITY,
            residents_per_supervisor=default_supervisor_ratio(department),
        )


@transaction.atomic
def department_setting_save(
    *, department: Department, capacity: int, minimum: int, residents_per_supervisor: int, acting_user
) -> DepartmentSetting:
    if capacity < 0 or minimum < 0:
        raise ValidationError(_("Capacity and minimum cannot be negative."))
    if minimum > capacity:
        raise ValidationError(_("The minimum (%(minimum)s) is above the capacity (%(capacity)s).") % {
            "minimum": minimum, "capacity": capacity})  # fmt: skip
    if residents_per_supervisor < 1:
        raise ValidationError(_("A supervising doctor takes at least one resident."))
    setting = setting_for(department)
    before = {n: getattr(setting, n) for n in ("capacity", "minimum", "residents_per_supervisor")}
    setting.capacity, setting.minimum = capacity, minimum
    setting.residents_per_supervisor = residents_per_supervisor
    setting.save()
    changes = {n: [before[n], getattr(setting, n)] for n in before if before[n] != getattr(setting, n)}
    audit_record(action="rotation.department_setting", target=department, acting_user=acting_user, changes=changes)
    return setting


@transaction.atomic
def department_months_set(
    *,
    department: Department,
    first: date,
    last: date,
    capacity: int | None,
    minimum: int | None,
    closed: bool,
    note: str = "",
    acting_user,
) -> int:
    """Set every month from `first` to `last`: another capacity/minimum, or closed. All empty = the defaults.

    Returns the number of months set.
    """
    first, last = month_start(first), month_start(last)
    if last < first:
        raise ValidationError(_("The last month is before the first."))
    if (capacity is not None and capacity < 0) or (minimum is not None and minimum < 0):
        raise ValidationError(_("Capacity and minimum cannot be negative."))
    setting = setting_for(department)
    effective_capacity = setting.capacity if capacity is None else capacity
    effective_minimum = setting.minimum if minimum is None else minimum
    if not closed and effective_minimum > effective_capacity:
        raise ValidationError(_("The minimum (%(minimum)s) is above the capacity (%(capacity)s).") % {
            "minimum": effective_minimum, "capacity": effective_capacity})  # fmt: skip
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    months = month_range(first, count)
    reset = capacity is None and minimum is None and not closed and not note
    DepartmentMonth.objects.filter(department=department, month__in=months).delete()
    if not reset:
        DepartmentMonth.objects.bulk_create(
            DepartmentMonth(
                department=department, month=m, capacity=capacity, minimum=minimum, closed=closed, note=note
            )
            for m in months
        )
    audit_record(
        action="rotation.department_months",
        target=department,
        acting_user=acting_user,
        changes={"months": [None, f"{first:%Y-%m}..{last:%Y-%m}"], "capacity": [None, capacity],
                 "minimum": [None, minimum], "closed": [None, closed], "reset": [None, reset]},
    )  # fmt: skip
    return count


# ---------------------------------------------------------------- supervisors made available (指导医师分配)
def qualified_user_ids(user_ids: Iterable[int], day: date | None = None) -> set[int]:
    """Who holds a current 指导医师准入 (faculty's SupervisorQualification valid on `day`)."""
    from faculty.models import SupervisorQualification

    return set(
        SupervisorQualification.objects.valid_on(day)
        .filter(faculty__user_id__in=list(user_ids))
        .values_list("faculty__user_id", flat=True)
    )


def supervisor_candidates(department: Department):
    """Users holding the supervisor role in the department now, not yet made available."""
    from accounts.choices import Role
    from accounts.models import RoleAssignment, User

    holders = RoleAssignment.objects.active_on().filter(role=Role.SUPERVISOR, department=department)
    taken = DepartmentSupervisor.objects.filter(department=department).values("user_id")
    return (
        User.objects.filter(pk__in=holders.values("user_id"), is_active=True)
        .exclude(pk__in=taken)
        .order_by("real_name", "username")
    )


@transaction.atomic
def supervisor_add(
    *, department: Department, user, max_residents: int | None = None, acting_user
) -> tuple[DepartmentSupervisor, bool]:
    """Make a supervisor available in the department. Returns (row, qualified now): unqualified is a warning only."""
    if (
        not supervisor_candidates(department).filter(pk=user.pk).exists()
        and not DepartmentSupervisor.objects.filter(department=department, user=user).exists()
    ):
        raise ValidationError(_("%(name)s is not a supervising doctor of this department.") % {"name": user})
    row, _created = DepartmentSupervisor.objects.update_or_create(
        department=department, user=user, defaults={"max_residents": max_residents, "is_active": True}
    )
    audit_record(
        action="rotation.supervisor_add",
        target=department,
        acting_user=acting_user,
        changes={"supervisor": [None, user.display_name], "max_residents": [None, max_residents]},
    )
    return row, user.pk in qualified_user_ids([user.pk])


@transaction.atomic
def supervisor_update(*, row: DepartmentSupervisor, max_residents: int | None, is_active: bool, acting_user) -> None:
    if max_residents is not None and max_residents < 1:
        raise ValidationError(_("A supervising doctor takes at least one resident."))
    changes = {}
    if row.max_residents != max_residents:
        changes["max_residents"] = [row.max_residents, max_residents]
    if row.is_active != is_active:
        changes["is_active"] = [row.is_active, is_active]
    row.max_residents, row.is_active = max_residents, is_active
    row.save(update_fields=["max_residents", "is_active"])
    audit_record(
        action="rotation.supervisor_update",
        target=row.department,
        acting_user=acting_user,
        supervisor=row.user.display_name,
        changes=changes,
    )


@transaction.atomic
def supervisor_remove(*, row: DepartmentSupervisor, acting_user) -> None:
    department, name = row.department, row.user.display_name
    row.delete()
    audit_record(
        action="rotation.supervisor_remove",
        target=department,
        acting_user=acting_user,
        changes={"supervisor": [name, None]},
    )


# ---------------------------------------------------------------- elective preferences
@transaction.atomic
def open_window(
    *,
    hospital: Hospital,
    opens_at: datetime,
    closes_at: datetime,
    base: SpecialtyBase | None = None,
    cohort: int | None = None,
    acting_user,
) -> PreferenceWindow:
    """Open a period for residents (of a base / cohort, or all) to rank their electives."""
    if closes_at <= opens_at:
        raise ValidationError(_("The window must close after it opens."))
    if closes_at <= timezone.now():
        raise ValidationError(_("The window would close in the past."))
    if base is not None and base.hospital_id != hospital.pk:
        raise ValidationError(_("This specialty base belongs to another hospital."))
    window = PreferenceWindow.objects.create(
        hospital=hospital,
        base=base,
        cohort=cohort,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=acting_user,
    )
    audit_record(
        action="rotation.preference_window_open",
        target=window,
        acting_user=acting_user,
        changes={"opens_at": [None, opens_at.isoformat()], "closes_at": [None, closes_at.isoformat()],
                 "base": [None, base.code if base else None], "cohort": [None, cohort]},
    )  # fmt: skip
    return window


@transaction.atomic
def close_window(*, window: PreferenceWindow, acting_user) -> None:
    """Close now; a window that has not opened yet is cancelled."""
    now = timezone.now()
    if window.closes_at <= now:
        raise ValidationError(_("This window is closed already."))
    if window.opens_at >= now:
        audit_record(action="rotation.preference_window_cancel", target=window, acting_user=acting_user)
        window.delete()
        return
    audit_record(
        action="rotation.preference_window_close",
        target=window,
        acting_user=acting_user,
        changes={"closes_at": [window.closes_at.isoformat(), now.isoformat()]},
    )
    window.closes_at = now
    window.save(update_fields=["closes_at"])


def windows_for(resident: ResidentProfile) -> QuerySet[PreferenceWindow]:
    """Windows that concern a resident: their hospital, and their base and cohort where the window names one."""
    return PreferenceWindow.objects.filter(
        Q(base__isnull=True) | Q(base_id=resident.base_id),
        Q(cohort__isnull=True) | Q(cohort=resident.cohort),
        hospital_id=resident.base.hospital_id,
    )


def window_for(resident: ResidentProfile) -> PreferenceWindow | None:
    """The window open now for this resident, if any."""
    now = timezone.now()
    return windows_for(resident).filter(opens_at__lte=now, closes_at__gt=now).order_by("-closes_at").first()


def next_window_for(resident: ResidentProfile) -> PreferenceWindow | None:
    return windows_for(resident).filter(opens_at__gt=timezone.now()).order_by("opens_at").first()


def elective_groups(resident: ResidentProfile) -> list[ProgrammeRequirement]:
    """The elective groups of the resident's base programme, options prefetched."""
    return list(
        ProgrammeRequirement.objects.filter(programme__base_id=resident.base_id, kind=RequirementKind.ELECTIVE)
        .prefetch_related("options__hospital")
        .order_by("position", "pk")
    )


@transaction.atomic
def save_preferences(
    resident: ResidentProfile,
    requirement: ProgrammeRequirement,
    ranked_department_ids: Sequence[int],
    acting_user,
) -> list[int]:
    """Replace the resident's ranking of one elective group (first = rank 1) while a window is open for them."""
    if requirement.kind != RequirementKind.ELECTIVE or requirement.programme.base_id != resident.base_id:
        raise ValidationError(_("This is not an elective group of your programme."))
    if window_for(resident) is None:
        raise ValidationError(_("Elective preferences are closed: no window is open for you now."))
    ranked = [int(pk) for pk in ranked_department_ids]
    if len(set(ranked)) != len(ranked):
        raise ValidationError(_("Each department can be ranked only once."))
    options = set(requirement.options.values_list("pk", flat=True))
    if not set(ranked) <= options:
        raise ValidationError(_("Only the departments of this elective group can be ranked."))
    current = ElectivePreference.objects.filter(resident=resident, requirement=requirement)
    before = list(current.order_by("rank").values_list("department_id", flat=True))
    current.delete()
    ElectivePreference.objects.bulk_create(
        ElectivePreference(resident=resident, requirement=requirement, department_id=pk, rank=rank)
        for rank, pk in enumerate(ranked, start=1)
    )
    audit_record(
        action="rotation.preferences_save",
        target=resident,
        acting_user=acting_user,
        requirement=requirement.pk,
        changes={"ranking": [before, ranked]},
    )
    return ranked


def preferences_for(
    residents: Iterable[ResidentProfile | int],
) -> dict[int, dict[int, list[int]]]:
    """resident id -> elective group id -> department ids, most wanted first (one query, for the scheduler)."""
    ids = [r if isinstance(r, int) else r.pk for r in residents]
    result: dict[int, dict[int, list[int]]] = {pk: {} for pk in ids}
    rows = (
        ElectivePreference.objects.filter(resident_id__in=ids)
        .order_by("resident_id", "requirement_id", "rank")
        .values_list("resident_id", "requirement_id", "department_id")
    )
    for resident_id, requirement_id, department_id in rows:
        result[resident_id].setdefault(requirement_id, []).append(department_id)
    return result


def window_is_open(window: PreferenceWindow, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return window.opens_at <= now < window.closes_at


__all__ = [
    "CALENDAR_MONTHS",
    "LoadReport",
    "capacities",
    "check_programme",
    "close_window",
    "department_capacity",
    "department_months_set",
    "department_setting_save",
    "load_programmes",
    "open_window",
    "preferences_for",
    "programme_problems",
    "programme_update",
    "save_preferences",
    "window_for",
]
