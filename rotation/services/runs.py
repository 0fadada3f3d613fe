"""Schedule runs: generate a draft in the background, review it, publish it as the next version.

A run goes queued -> running -> draft (or infeasible / failed); the office publishes a draft
(it becomes version N of the hospital's schedule and rewrites the residents' future
RotationBlocks) or discards it. Publishing a newer version supersedes older ones whose residents
it covers. Every state change is audited.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import Role
from accounts.models import Department, Hospital, RoleAssignment, SpecialtyBase, User
from core.audit import audit_record
from residents.models import ResidentProfile

from .. import explain
from ..choices import EntryKind, RunScope, RunStatus
from ..models import RotationBlock, ScheduleEntry, ScheduleRun
from ..scheduling.problem import Problem, Schedule, month_index, month_label, month_start
from .problems import build_problem, entries_from_schedule, run_residents, schedule_from_blocks

logger = logging.getLogger(__name__)

MIN_TIME_LIMIT = 10
MAX_TIME_LIMIT = 300
ENTRY_BATCH = 2000
PROGRESS_INTERVAL = 0.5  # seconds between progress writes
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
REVIEWABLE = (RunStatus.DRAFT, RunStatus.INFEASIBLE, RunStatus.FAILED)


class RunError(ValidationError):
    """A run cannot do what was asked (publish a non-draft, generate twice at once...)."""


# --- starting and executing -----------------------------------------------------------------------


def current_version(hospital: Hospital | int) -> ScheduleRun | None:
    """The hospital's newest published run, if any."""
    return ScheduleRun.objects.filter(hospital=hospital, status=RunStatus.PUBLISHED).order_by("-version").first()


@transaction.atomic
def start_run(
    *,
    hospital: Hospital,
    scope: str,
    base: SpecialtyBase | None = None,
    cohort: int | None = None,
    time_limit: int = 60,
    acting_user: User,
) -> ScheduleRun:
    """Queue a run for a hospital, one base or one cohort; the task runs after commit."""
    if scope not in RunScope.values:
        raise RunError(_("Choose what to schedule: the whole hospital, a specialty base or a cohort."))
    if scope == RunScope.BASE and base is None:
        raise RunError(_("Choose the specialty base to schedule."))
    if scope == RunScope.COHORT and not cohort:
        raise RunError(_("Enter the cohort (year of enrolment) to schedule."))
    if base is not None and base.hospital_id != hospital.pk:
        raise RunError(_("That specialty base belongs to another hospital."))
    if not MIN_TIME_LIMIT <= int(time_limit) <= MAX_TIME_LIMIT:
        raise RunError(
            _("The time limit must be between %(low)s and %(high)s seconds.")
            % {"low": MIN_TIME_LIMIT, "high": MAX_TIME_LIMIT}
        )
    Hospital.objects.select_for_update().filter(pk=hospital.pk).first()  # one generation at a time per hospital
    if ScheduleRun.objects.filter(hospital=hospital, status__in=ACTIVE).exists():
        raise RunError(_("A schedule is already being generated for this hospital; wait until it finishes."))
    run = ScheduleRun.objects.create(
        hospital=hospital,
        scope=scope,
        base=base if scope != RunScope.HOSPITAL else None,
        cohort=cohort if scope == RunScope.COHORT else None,
        time_limit=int(time_limit),
        previous=current_version(hospital),
        created_by=acting_user,
        message=_("Waiting for a worker"),
    )
    audit_record(
        action="rotation.run.start",
        target=run,
        acting_user=acting_user,
        changes={"scope": [None, scope], "base": [None, str(base or "")], "cohort": [None, cohort]},
    )
    transaction.on_commit(lambda: _enqueue(run))
    return run


def _enqueue(run: ScheduleRun) -> None:
    from ..tasks import GRACE, generate_schedule

    if settings.CELERY_TASK_ALWAYS_EAGER and settings.ROTATION_RUNS_IN_THREAD:
        # Embedded mode has no worker: an eager task would hold the request for the whole time
        # limit. A thread lets the page return and its progress bar poll, as with a worker.
        threading.Thread(target=_execute_in_thread, args=(run.pk,), name=f"schedule-run-{run.pk}", daemon=True).start()
        return

    result = generate_schedule.apply_async(
        args=[run.pk], soft_time_limit=run.time_limit + GRACE, time_limit=run.time_limit + GRACE + 30
    )
    if result is not None and getattr(result, "id", None):
        ScheduleRun.objects.filter(pk=run.pk, task_id="").update(task_id=str(result.id)[:64])


# The solver reports in English (it is Django-free); the progress bar speaks the office's language.
PHRASES = {
    "Choosing electives": gettext_lazy("Choosing electives"),
    "No schedule exists": gettext_lazy("No schedule exists"),
    "Building a first schedule": gettext_lazy("Building a first schedule"),
    "Balancing departments": gettext_lazy("Balancing departments"),
    "Done": gettext_lazy("Done"),
}


def balance_figures(balance, violations: list) -> dict:
    """The figures a run shows for its schedule (the review page, and again after manual changes)."""
    return {
        "imbalance_sum": round(balance.sum, 2),
        "imbalance_max": round(balance.max, 2),
        "lower_bound_sum": round(balance.lower_bound_sum, 2),
        "lower_bound_max": round(balance.lower_bound_max, 2),
        "ratio": round(balance.ratio, 3) if balance.ratio != float("inf") else None,
        "overflow": balance.overflow,
        "violations": len(violations),
    }


def _execute_in_thread(run_id: int) -> None:
    try:
        execute_run(run_id)
    finally:
        connection.close()


def _progress_writer(run_id: int) -> Callable[[float, str], None]:
    last = [0.0]

    def write(fraction: float, phrase: str = "") -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL:
            return
        last[0] = now
        ScheduleRun.objects.filter(pk=run_id).update(
            progress=max(0.0, min(1.0, float(fraction))), message=str(PHRASES.get(phrase, phrase) or "")[:300]
        )

    return write


def execute_run(run_id: int) -> ScheduleRun | None:
    """The task body: build, diagnose, solve, store the draft. Never raises for a bad run."""
    updated = ScheduleRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, progress=0, message=_("Reading residents and programmes")
    )
    if not updated:
        return ScheduleRun.objects.filter(pk=run_id).first()
    run = ScheduleRun.objects.select_related("hospital").get(pk=run_id)
    started = time.monotonic()
    try:
        _execute(run, started)
    except Exception:
        logger.exception("schedule run %s failed", run_id)
        ScheduleRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED,
            message=_(
                "The scheduler stopped with an internal error; the administrators can see the details in the log."
            ),
            finished_at=timezone.now(),
        )
    run.refresh_from_db()
    return run


def _execute(run: ScheduleRun, started: float) -> None:
    from ..scheduling import diagnose, metrics, solver

    residents = run_residents(run)
    replan = RotationBlock.objects.filter(resident__in=residents, run__isnull=False).exists()
    problem, index = build_problem(hospital=run.hospital, residents=residents, replan=replan)
    stats: dict = {"residents": len(problem.residents), "excluded": len(index.warnings), "replan": replan}
    if not problem.residents:
        _finish(
            run,
            status=RunStatus.FAILED,
            message=_("There is no resident in training with a usable programme to schedule."),
            stats=stats,
            warnings=index.warnings,
        )
        return
    write = _progress_writer(run.pk)
    write(0.02, _("Checking capacities"))
    reasons = diagnose.diagnose(problem)
    if reasons:
        _finish(
            run,
            status=RunStatus.INFEASIBLE,
            message=_("No schedule is possible; see why below."),
            stats={**stats, "elapsed": round(time.monotonic() - started, 1)},
            warnings=index.warnings,
            explanation=[explain.reason_dict(r, problem) for r in reasons],
        )
        return
    result = solver.solve(problem, time_limit=run.time_limit, seed=run.seed, progress=write, replan=replan)
    if not result.feasible or result.schedule is None:
        _finish(
            run,
            status=RunStatus.INFEASIBLE,
            message=_("No schedule is possible; see why below."),
            stats={**stats, "elapsed": round(time.monotonic() - started, 1), "solver": _plain(result.stats)},
            warnings=index.warnings,
            explanation=[explain.reason_dict(r, problem) for r in result.explanation or []],
        )
        return
    schedule = result.schedule
    write(0.97, _("Saving the draft"))
    with transaction.atomic():
        ScheduleEntry.objects.filter(run=run).delete()
        ScheduleEntry.objects.bulk_create(entries_from_schedule(run, problem, index, schedule), batch_size=ENTRY_BATCH)
        blocks = RotationBlock.objects.filter(resident_id__in=index.residents)
        previous = schedule_from_blocks(index, blocks, problem)
        had_blocks = set(blocks.values_list("resident_id", flat=True))
        balance = metrics.balance(problem, schedule)
        violations = metrics.validate(problem, schedule)
        first, groups, preference_warnings = _preferences(problem, index, schedule)
        changed = [
            sum(1 for a, b in zip(row, prev, strict=True) if a != b)
            for pk, row, prev in zip(index.residents, schedule, previous, strict=True)
            if pk in had_blocks
        ]
        stats.update(balance_figures(balance, violations))
        stats.update(
            {
                "electives": groups,
                "first_choice": first,
                "first_choice_rate": round(first / groups, 3) if groups else None,
                "changed_residents": sum(1 for c in changed if c),
                "changed_months": sum(changed),
                "elapsed": round(time.monotonic() - started, 1),
                "solver": _plain(result.stats),
            }
        )
        warnings = list(index.warnings)
        warnings += _below_minimum(problem, index, schedule)
        warnings += preference_warnings
        warnings += [explain.violation_dict(v, problem, index) for v in violations]
        if result.stats.get("replan_fell_back"):
            warnings.insert(0, {"kind": "replan_fresh"})
        if balance.overflow:
            warnings.append({"kind": "overflow", "count": balance.overflow})
        _finish(
            run,
            status=RunStatus.DRAFT,
            message=_("Draft ready for review"),
            stats=stats,
            warnings=warnings,
        )


def _plain(value):
    """Solver stats as JSON-safe values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _finish(run: ScheduleRun, *, status: str, message: str, stats=None, warnings=None, explanation=None) -> None:
    run.status = status
    run.message = message[:300]
    run.progress = 1.0
    run.stats = stats or {}
    run.warnings = warnings or []
    run.explanation = explanation or []
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "progress", "stats", "warnings", "explanation", "finished_at"])
    audit_record(
        action="rotation.run.finish",
        target=run,
        acting_user=None,
        changes={"status": [RunStatus.RUNNING, status]},
    )


def _preferences(problem: Problem, index, schedule: Schedule) -> tuple[int, int, list[dict]]:
    """(groups where the first choices were met, groups, a warning per group where they were not)."""
    first = groups = 0
    warnings = []
    for resident_id, resident, row in zip(index.residents, problem.residents, schedule, strict=True):
        used = set(row)
        for g, group in enumerate(resident.electives):
            groups += 1
            ranked = resident.preferences[g] if g < len(resident.preferences) else group.options
            wanted = list(ranked[: group.choose])
            got = [d for d in group.options if d in used]
            if set(wanted) == set(got):
                first += 1
            else:
                warnings.append(
                    {
                        "kind": "preference",
                        "resident": resident_id,
                        "name": resident.name,
                        "wanted": [problem.departments[d].name for d in wanted],
                        "got": [problem.departments[d].name for d in got],
                    }
                )
    return first, groups, warnings


def _below_minimum(problem: Problem, index, schedule: Schedule) -> list[dict]:
    """Department-months with fewer residents than their minimum, over the months someone could come."""
    from ..scheduling import metrics

    if not problem.minimum:
        return []
    load = metrics.loads(problem, schedule)
    active = [False] * problem.horizon
    this_month = month_index(timezone.localdate()) - problem.first_month  # the past cannot be helped
    for resident in problem.residents:
        for t in range(max(this_month, resident.start - problem.first_month), resident.end - problem.first_month):
            active[t] = True
    warnings = []
    for d, row in enumerate(problem.minimum):
        for t, low in enumerate(row):
            if low and active[t] and load[d][t] < low:
                warnings.append(
                    {
                        "kind": "below_minimum",
                        "department": index.departments[d],
                        "department_name": problem.departments[d].name,
                        "month": month_label(problem.first_month + t),
                        "load": load[d][t],
                        "minimum": low,
                    }
                )
    return warnings


# --- publishing -----------------------------------------------------------------------------------


def _segments(entries: list[tuple[date, int | None]], skip: set[int]) -> list[tuple[int, date, date]]:
    """Consecutive months of one department -> (department id, first day, last day), skipping months in `skip`."""
    segments: list[tuple[int, date, date]] = []
    current: list | None = None
    for month, department_id in sorted(entries):
        index = month_index(month)
        if department_id is None or index in skip:
            current = None
            continue
        if current and current[0] == department_id and current[3] == index - 1:
            current[2] = month_start(index + 1) - timedelta(days=1)
            current[3] = index
            segments[-1] = (current[0], current[1], current[2])
            continue
        current = [department_id, month, month_start(index + 1) - timedelta(days=1), index]
        segments.append((department_id, month, current[2]))
    return segments


@transaction.atomic
def publish_run(run: ScheduleRun, *, acting_user: User) -> ScheduleRun:
    """Make a draft the hospital's next version: rewrite its residents' blocks that have not started."""
    run = ScheduleRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.DRAFT:
        raise RunError(
            _("Only a draft can be published; this run is “%(status)s”.") % {"status": run.get_status_display()}
        )
    today = timezone.localdate()
    version = (ScheduleRun.objects.filter(hospital_id=run.hospital_id).aggregate(v=Max("version"))["v"] or 0) + 1

    by_resident: dict[int, list[tuple[date, int | None]]] = defaultdict(list)
    for resident_id, month, kind, department_id in run.entries.values_list(
        "resident_id", "month", "kind", "department_id"
    ):
        by_resident[resident_id].append((month, department_id if kind == EntryKind.ROTATION else None))
    existing: dict[int, list[RotationBlock]] = defaultdict(list)
    for block in RotationBlock.objects.select_for_update().filter(resident_id__in=list(by_resident)):
        existing[block.resident_id].append(block)

    to_create: list[RotationBlock] = []
    to_delete: list[int] = []
    kept_ids: list[int] = []
    changed_residents: set[int] = set()
    changed_departments: set[int] = set()
    for resident_id, months in by_resident.items():
        started = [b for b in existing[resident_id] if b.start_date <= today]
        future = {(b.department_id, b.start_date, b.end_date): b for b in existing[resident_id] if b.start_date > today}
        covered = {m for b in started for m in range(month_index(b.start_date), month_index(b.end_date) + 1)}
        for department_id, start, end in _segments(months, covered):
            same = future.pop((department_id, start, end), None)
            if same is not None:
                kept_ids.append(same.pk)
                continue
            to_create.append(
                RotationBlock(
                    resident_id=resident_id, department_id=department_id, start_date=start, end_date=end, run=run
                )
            )
            changed_residents.add(resident_id)
            changed_departments.add(department_id)
        for block in future.values():
            to_delete.append(block.pk)
            changed_residents.add(resident_id)
            changed_departments.add(block.department_id)
    RotationBlock.objects.filter(pk__in=to_delete).delete()
    RotationBlock.objects.filter(pk__in=kept_ids).update(run=run)
    RotationBlock.objects.bulk_create(to_create, batch_size=ENTRY_BATCH)

    resident_ids = list(by_resident)
    superseded = list(
        ScheduleRun.objects.filter(hospital_id=run.hospital_id, status=RunStatus.PUBLISHED)
        .exclude(pk=run.pk)
        .annotate(
            outside=Count(
                "entries",
                filter=~Q(entries__resident_id__in=Subquery(run.entries.values("resident_id"))),
            )
        )
        .filter(outside=0)
        .values_list("pk", flat=True)
    )
    ScheduleRun.objects.filter(pk__in=superseded).update(status=RunStatus.SUPERSEDED)
    run.status = RunStatus.PUBLISHED
    run.version = version
    run.published_by = acting_user
    run.published_at = timezone.now()
    run.save(update_fields=["status", "version", "published_by", "published_at"])
    audit_record(
        action="rotation.run.publish",
        target=run,
        acting_user=acting_user,
        changes={
            "status": [RunStatus.DRAFT, RunStatus.PUBLISHED],
            "version": [None, version],
            "blocks_created": [0, len(to_create)],
            "blocks_removed": [0, len(to_delete)],
            "superseded": [None, ",".join(str(pk) for pk in superseded)],
        },
    )
    _notify_published(run, changed_residents, changed_departments)
    logger.info("published run %s as v%s for %s residents", run.pk, version, len(resident_ids))
    return run


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _notify_published(run: ScheduleRun, residents: set[int], departments: set[int]) -> None:
    from notices.notify import notify

    if residents:
        users = User.objects.filter(resident_profile__in=residents)
        notify(
            users,
            title=_("Your rotation schedule has changed"),
            body=_("Version %(version)s of the rotation schedule changes your rotations; please check them.")
            % {"version": run.version},
            url=_url("rotation:mine"),
            kind="rotation.published",
        )
    if departments:
        holders = (
            RoleAssignment.objects.active_on()
            .filter(role__in=[Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD], department_id__in=departments)
            .values_list("user_id", flat=True)
        )
        notify(
            User.objects.filter(pk__in=holders),
            title=_("The rotation schedule has changed"),
            body=_("Version %(version)s of the rotation schedule changes the residents rotating in your department.")
            % {"version": run.version},
            url=_url("rotation:departments"),
            kind="rotation.published",
        )


@transaction.atomic
def discard_run(run: ScheduleRun, *, acting_user: User) -> ScheduleRun:
    """Set aside a draft (or a failed / infeasible run); its entries stay for reference."""
    run = ScheduleRun.objects.select_for_update().get(pk=run.pk)
    if run.status not in REVIEWABLE:
        raise RunError(
            _("Only a draft or a run that found no schedule can be discarded; this run is “%(status)s”.")
            % {"status": run.get_status_display()}
        )
    old = run.status
    run.status = RunStatus.DISCARDED
    run.save(update_fields=["status"])
    audit_record(
        action="rotation.run.discard", target=run, acting_user=acting_user, changes={"status": [old, run.status]}
    )
    return run


# --- comparing ------------------------------------------------------------------------------------


@dataclass
class MonthChange:
    month: date
    old: Department | None
    new: Department | None


@dataclass
class ResidentChange:
    resident: ResidentProfile
    months: list[MonthChange]

    @property
    def first_month(self) -> date:
        return self.months[0].month


@dataclass
class DepartmentDifference:
    department: Department
    cells: list[tuple[date, int, int]]  # (month, old load, new load) for every compared month

    @property
    def changed(self) -> list[tuple[date, int, int, int]]:
        return [(m, old, new, new - old) for m, old, new in self.cells if old != new]


@dataclass
class Comparison:
    """Run `run` against `other` (a run, or the live blocks when None), over `run`'s residents."""

    run: ScheduleRun
    other: ScheduleRun | None
    residents: list[ResidentChange] = field(default_factory=list)
    resident_months: int = 0
    compared_residents: int = 0
    departments: list[DepartmentDifference] = field(default_factory=list)
    months: list[date] = field(default_factory=list)


def _run_months(run: ScheduleRun) -> dict[int, dict[date, int | None]]:
    result: dict[int, dict[date, int | None]] = defaultdict(dict)
    for resident_id, month, kind, department_id in run.entries.values_list(
        "resident_id", "month", "kind", "department_id"
    ):
        result[resident_id][month] = department_id if kind == EntryKind.ROTATION else None
    return result


def compare(run: ScheduleRun, other: ScheduleRun | None) -> Comparison:
    """What changes from `other` to `run` for the residents `run` schedules: who moves, and the loads."""
    new = _run_months(run)
    if other is not None:
        old_all = _run_months(other)
        old = {pk: old_all.get(pk, {}) for pk in new}
    else:
        old = {pk: {} for pk in new}
        for block in RotationBlock.objects.filter(resident_id__in=list(new)).order_by("start_date"):
            for index in range(month_index(block.start_date), month_index(block.end_date) + 1):
                old[block.resident_id][month_start(index)] = block.department_id
    months = sorted({m for rows in (new, old) for row in rows.values() for m in row})
    changes: dict[int, list[tuple[date, int | None, int | None]]] = {}
    new_load: Counter = Counter()
    old_load: Counter = Counter()
    for resident_id, row in new.items():
        before = old.get(resident_id, {})
        for month, department_id in row.items():
            if department_id:
                new_load[(department_id, month)] += 1
        for month, department_id in before.items():
            if department_id:
                old_load[(department_id, month)] += 1
        diff = [
            (month, before.get(month), row.get(month))
            for month in sorted(set(row) | set(before))
            if before.get(month) != row.get(month)
        ]
        if diff:
            changes[resident_id] = diff
    department_ids = {d for d, _m in new_load} | {d for d, _m in old_load}
    departments = {d.pk: d for d in Department.objects.filter(pk__in=department_ids)}
    profiles = {p.pk: p for p in ResidentProfile.objects.filter(pk__in=list(changes)).select_related("user", "base")}
    comparison = Comparison(run=run, other=other, months=months, compared_residents=len(new))
    for resident_id, diff in sorted(
        changes.items(), key=lambda item: (profiles[item[0]].base.code, str(profiles[item[0]].user.real_name))
    ):
        comparison.residents.append(
            ResidentChange(
                resident=profiles[resident_id],
                months=[MonthChange(m, departments.get(a), departments.get(b)) for m, a, b in diff],
            )
        )
        comparison.resident_months += len(diff)
    for department_id in sorted(department_ids, key=lambda pk: (departments[pk].code, pk)):
        cells = [(m, old_load[(department_id, m)], new_load[(department_id, m)]) for m in months]
        if any(a != b for _m, a, b in cells):
            comparison.departments.append(DepartmentDifference(departments[department_id], cells))
    return comparison


def comparable_runs(run: ScheduleRun):
    """Published and superseded versions of the run's hospital to compare with (newest first)."""
    return (
        ScheduleRun.objects.filter(hospital_id=run.hospital_id, status__in=[RunStatus.PUBLISHED, RunStatus.SUPERSEDED])
        .exclude(pk=run.pk)
        .order_by("-version")
    )


__all__ = [
    "Comparison",
    "RunError",
    "compare",
    "comparable_runs",
    "current_version",
    "discard_run",
    "execute_run",
    "publish_run",
    "start_run",
]
