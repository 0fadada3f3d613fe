"""Programmes as data, departments' rotation settings, supervisors made available, elective preferences.

The scheduler reads everything here through four functions: `programme_problems` (it refuses a
programme with problems), `capacities` (per department and month), `preferences_for` (residents'
rankings) and the `DepartmentSupervisor` rows. Everything that writes is audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.choices import SiteKind
from accounts.models import Department, Hospital, SpecialtyBase
from core.audit import audit_record

from ..choices import RequirementKind
from ..models import (
    DepartmentSetting,
    Programme,
    ProgrammeRequirement,
)

DEFAULT_PROGRAMMES = Path(__file__).resolve().parents[2] / "accounts" / "data" / "rotation_programs.yaml"
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
