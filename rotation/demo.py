"""The demo hospital's rotation: default programmes, capacities, supervisors, and a published schedule.

What a training office would have done by now, in order:
1. load the shipped programmes (`rotation_programs.yaml`) for every base;
2. set each department's capacity from what the programmes ask of it (a third above the average
   demand at its busiest month) and close one department for one month (Spring Festival);
3. make the department's supervising doctors available for one-to-one supervision;
4. collect elective preferences (a window last summer; most residents ranked their options);
5. the 2023 cohort, now graduated, rotated before the platform: their schedule is generated once
   and kept as history (blocks without a run);
6. generate the schedule of every resident in training and publish it as version 1. The persona
   `resident` has been in 心血管内科 since last month under `supervisor` (a block already
   published and started, which the run keeps);
7. give every block a supervisor where the department has one free, at most the department's
   limit at a time.

Idempotent: once the hospital has a published version, nothing is done.
"""

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.choices import Role
from accounts.demo import HOSPITAL, PERSONA_DEPARTMENT
from accounts.models import Department, Hospital, RoleAssignment, User
from core.demo import register
from residents.choices import TrainingStatus
from residents.models import ResidentProfile

from .choices import RequirementKind, RunScope, RunStatus
from .models import (
    DepartmentMonth,
    DepartmentSetting,
    DepartmentSupervisor,
    ElectivePreference,
    PreferenceWindow,
    Programme,
    RotationBlock,
    ScheduleRun,
)
from .scheduling import solver
from .scheduling.problem import month_start
from .services import programmes, runs
from .services.problems import build_problem, window
from .services.supervision import department_limit

PERSONA_RESIDENT = "resident"
PERSONA_SUPERVISOR = "supervisor"
CAPACITY_HEADROOM = 1.35
PREFERENCE_SHARE = 0.7  # residents who ranked their electives


@register("rotation", order=25)
def seed_rotation(stdout=None) -> str:
    hospital = Hospital.objects.get(code=HOSPITAL["code"])
    if ScheduleRun.objects.filter(hospital=hospital, status=RunStatus.PUBLISHED).exists():
        return "up to date"
    office = User.objects.get(username="office")
    seconds = getattr(settings, "DEMO_SCHEDULE_SECONDS", 10)

    report = programmes.load_programmes(hospital, acting_user=office)
    capacities = _set_capacities(hospital)
    supervisors = _make_supervisors_available(hospital)
    preferences = _preferences(hospital, office)
    graduates = _graduates_history(hospital, seconds)

    run = runs.start_run(hospital=hospital, scope=RunScope.HOSPITAL, time_limit=max(10, seconds), acting_user=office)
    _persona_block(run)
    run.time_limit = seconds  # the form's minimum is for people; the demo needs a few seconds only
    run.save(update_fields=["time_limit"])
    run = runs.execute_run(run.pk)
    if run.status != RunStatus.DRAFT:
        raise RuntimeError(f"demo schedule not generated: {run.status} {run.message} {run.explanation}")
    run = runs.publish_run(run, acting_user=office)
    assigned = _assign_supervisors(hospital)
    return (
        f"{len(report.created)} programmes, {capacities} department capacities, {supervisors} supervisors available, "
        f"{preferences} elective rankings, {graduates} rotation blocks of history, "
        f"schedule v{run.version} ({run.stats.get('residents')} residents, imbalance {run.stats.get('imbalance_sum')}) "
        f"published, {assigned} rotation blocks with a supervisor"
    )


def _set_capacities(hospital: Hospital) -> int:
    """A third above the average demand at each department's busiest month; one closed month."""
    residents = ResidentProfile.objects.filter(base__hospital=hospital).exclude(
        status__in=[TrainingStatus.WITHDRAWN, TrainingStatus.SUSPENDED]
    )
    demand: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    requirements = defaultdict(list)
    for requirement in _requirement_rows(hospital):
        requirements[requirement[0]].append(requirement[1:])
    for profile in residents:
        start, length = window(profile)
        for department_ids, months in requirements.get(profile.base_id, []):
            share = months / len(department_ids) / length
            for department_id in department_ids:
                for month in range(start, start + length):
                    demand[department_id][month] += share
    updated = 0
    for setting in DepartmentSetting.objects.filter(department_id__in=demand):
        peak = max(demand[setting.department_id].values())
        setting.capacity = max(2, math.ceil(CAPACITY_HEADROOM * peak) + 1)
        setting.minimum = 1 if peak >= 2 else 0
        setting.save(update_fields=["capacity", "minimum"])
        updated += 1
    february = date(timezone.localdate().year + 1, 2, 1)
    rehab = Department.objects.filter(hospital=hospital, code="REHA").first()
    if rehab:
        DepartmentMonth.objects.get_or_create(
            department=rehab, month=february, defaults={"closed": True, "note": "春节期间病区合并，暂停接收轮转"}
        )
    return updated


def _requirement_rows(hospital: Hospital):
    """(base id, department ids, months) per requirement: an elective group spreads its months over its options."""
    for programme in Programme.objects.filter(base__hospital=hospital).prefetch_related("requirements__options"):
        for requirement in programme.requirements.all():
            if requirement.kind == RequirementKind.MANDATORY:
                yield programme.base_id, [requirement.department_id], requirement.months
            else:
                options = [o.pk for o in requirement.options.all()]
                if options:
                    yield programme.base_id, options, requirement.months * requirement.choose


def _make_supervisors_available(hospital: Hospital) -> int:
    holders = (
        RoleAssignment.objects.active_on()
        .filter(role=Role.SUPERVISOR, department__isnull=False, user__is_active=True)
        .filter(Q(department__hospital=hospital) | Q(department__hospital__parent=hospital))
        .values_list("department_id", "user_id")
        .distinct()
    )
    rows = [DepartmentSupervisor(department_id=d, user_id=u) for d, u in holders]
    DepartmentSupervisor.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _preferences(hospital: Hospital, office: User) -> int:
    """Last summer's window; seven in ten residents ranked the options of each elective group."""
    year = timezone.localdate().year
    tz = timezone.get_current_timezone()
    PreferenceWindow.objects.get_or_create(
        hospital=hospital,
        base=None,
        cohort=None,
        opens_at=datetime.combine(date(year, 7, 1), time(8), tz),
        defaults={"closes_at": datetime.combine(date(year, 7, 31), time(18), tz), "created_by": office},
    )
    groups = defaultdict(list)
    for programme in Programme.objects.filter(base__hospital=hospital).prefetch_related("requirements__options"):
        for requirement in programme.requirements.all():
            if requirement.kind == RequirementKind.ELECTIVE:
                groups[programme.base_id].append((requirement, [o.pk for o in requirement.options.order_by("code")]))
    rows = []
    residents = ResidentProfile.objects.filter(
        base__hospital=hospital, status__in=[TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED]
    ).order_by("pk")
    for n, profile in enumerate(residents):
        if (n * 7) % 10 >= PREFERENCE_SHARE * 10:  # deterministic: 7 in 10
            continue
        for requirement, options in groups.get(profile.base_id, []):
            shift = n % len(options)
            ranked = options[shift:] + options[:shift]
            rows += [
                ElectivePreference(resident=profile, requirement=requirement, department_id=d, rank=rank)
                for rank, d in enumerate(ranked, start=1)
            ]
    ElectivePreference.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _graduates_history(hospital: Hospital, seconds: int) -> int:
    """The graduated cohort's rotations, generated once and kept as history (no run: before the platform)."""
    graduates = ResidentProfile.objects.filter(base__hospital=hospital, status=TrainingStatus.COMPLETED)
    if not graduates.exists():
        return 0
    problem, index = build_problem(hospital=hospital, residents=graduates, replan=False)
    result = solver.solve(problem, time_limit=max(2, seconds // 3), seed=2023)
    if not result.feasible:
        raise RuntimeError(f"the demo's history cannot be scheduled: {result.explanation}")
    blocks = []
    for r, months in enumerate(result.schedule):
        resident_id = index.residents[r]
        start = problem.residents[r].start
        entries = [
            (month_start(start + i), index.departments[value] if value >= 0 else None) for i, value in enumerate(months)
        ]
        for department_id, first, last in runs._segments(entries, set()):
            blocks.append(
                RotationBlock(resident_id=resident_id, department_id=department_id, start_date=first, end_date=last)
            )
    RotationBlock.objects.bulk_create(blocks, batch_size=1000)
    return len(blocks)


def _persona_block(run: ScheduleRun) -> None:
    """李住院 has been in 心血管内科 since last month (the programme's 4 months), under 张带教."""
    profile = ResidentProfile.objects.filter(user__username=PERSONA_RESIDENT).first()
    department = Department.objects.filter(hospital=run.hospital, code=PERSONA_DEPARTMENT).first()
    if profile is None or department is None:
        return
    this_month = timezone.localdate().replace(day=1)
    start = (this_month - timedelta(days=1)).replace(day=1)
    end = month_start(start.year * 12 + start.month - 1 + 4) - timedelta(days=1)
    RotationBlock.objects.create(
        resident=profile,
        department=department,
        start_date=max(start, profile.start_date),
        end_date=end,
        supervisor=User.objects.filter(username=PERSONA_SUPERVISOR).first(),
        run=run,
    )


def _assign_supervisors(hospital: Hospital) -> int:
    """Quietly (no notifications for history): the least busy available doctor, within the department's limit."""
    available: dict[int, list[int]] = defaultdict(list)
    for department_id, user_id in (
        DepartmentSupervisor.objects.filter(is_active=True, department__hospital=hospital)
        .order_by("department_id", "user__username")
        .values_list("department_id", "user_id")
    ):
        available[department_id].append(user_id)
    limits = {
        d.pk: department_limit(d)
        for d in Department.objects.filter(pk__in=available).select_related("rotation_setting")
    }
    taken: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for user_id, start, end in RotationBlock.objects.filter(supervisor__isnull=False).values_list(
        "supervisor_id", "start_date", "end_date"
    ):
        taken[user_id].append((start, end))
    changed = []
    blocks = RotationBlock.objects.filter(
        resident__base__hospital=hospital, supervisor__isnull=True, department_id__in=available
    ).order_by("start_date", "department_id", "pk")
    for block in blocks:

        def overlapping(user_id: int, block=block) -> int:
            return sum(1 for s, e in taken[user_id] if s <= block.end_date and e >= block.start_date)

        candidates = [u for u in available[block.department_id] if overlapping(u) < limits[block.department_id]]
        if not candidates:
            continue
        chosen = min(candidates, key=lambda u: (overlapping(u), available[block.department_id].index(u)))
        block.supervisor_id = chosen
        taken[chosen].append((block.start_date, block.end_date))
        changed.append(block)
    RotationBlock.objects.bulk_update(changed, ["supervisor"], batch_size=1000)
    return RotationBlock.objects.filter(resident__base__hospital=hospital, supervisor__isnull=False).count()
