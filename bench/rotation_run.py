"""The Django side of a rotation schedule run, end to end: build, solve, store, publish, re-plan, compare.

    .venv/bin/python bench/rotation_run.py --residents 100 --seconds 5            # SQLite in a temporary folder
    createdb -h 127.0.0.1 -U postgres zhupei_bench_run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zhupei_bench_run .venv/bin/python bench/rotation_run.py
    ... bench/rotation_run.py --residents 5000 --seconds 60 --json > run.json

Creates (or reuses, when a hospital of that size is already there) a hospital with 5 specialty bases
(内科, 外科, 儿科, 急诊科, 全科), their shipped programmes (`load_programmes`), capacities a little above
the peak fair demand (ceil(1.15 × peak) + 1, as rotation/demo.py computes demand), a teaching
secretary per department, and N residents bulk-inserted in the next three September intakes (one in
ten starting 1–6 months late; 36-month windows, so nothing has started: the first run pins nothing),
seven in ten with ranked electives. A reused hospital is reset first (runs, blocks, closures,
notifications), so every invocation measures the same thing.

Then, synchronously (the Celery enqueue is switched off; `execute_run` is called directly, as the
demo does): run 1 over the whole hospital, timing its phases (reading and building the problem,
the capacity diagnosis, the solver, storing the ScheduleEntry rows, stats and warnings); publishing
it (RotationBlocks for every resident, notifications); closing the busiest department for two
months and generating again (a re-plan against the published version); `compare(run 2, run 1)`;
publishing run 2 (only the changed blocks are rewritten). Prints SQL queries per phase (counted
with `connection.execute_wrapper`, which counts what CaptureQueriesContext would without logging
the SQL), rows written, the peak memory of the process, and a Markdown table; `--json` prints
the figures as JSON instead. Nothing here asserts a time.
"""

import argparse
import datetime
import json
import math
import os
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "ZHUPEI_VAR_DIR" not in os.environ:  # SQLite in a fresh folder (kept: reuse it by setting the variable)
    os.environ["ZHUPEI_VAR_DIR"] = tempfile.mkdtemp(prefix="zhupei-bench-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DJANGO_DEBUG"] = "false"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.utils import timezone  # noqa: E402

settings.AUDIT_SINKS = []  # measure the runs, not the log file

from accounts.choices import Role  # noqa: E402
from accounts.models import Department, Hospital, RoleAssignment, SpecialtyBase, User  # noqa: E402
from core.pinyin import initials  # noqa: E402
from notices.models import Notification  # noqa: E402
from residents.choices import TrainingStatus  # noqa: E402
from residents.models import ResidentProfile  # noqa: E402
from rotation.choices import RequirementKind, RunScope, RunStatus  # noqa: E402
from rotation.models import (  # noqa: E402
    DepartmentMonth,
    DepartmentSetting,
    ElectivePreference,
    Programme,
    RotationBlock,
    ScheduleEntry,
    ScheduleRun,
)
from rotation.scheduling import diagnose, generate, solver  # noqa: E402
from rotation.scheduling.problem import month_index, month_start  # noqa: E402
from rotation.services import programmes, runs  # noqa: E402

BASES = [("0100", "内科"), ("0900", "外科"), ("0200", "儿科"), ("0300", "急诊科"), ("0700", "全科")]
WINDOW = 36
HEADROOM = 1.15
LATE_SHARE = 0.1
PREFERENCE_SHARE = 0.7
CLOSED_MONTHS = 2
SURNAMES = generate.SURNAMES
GIVEN = generate.GIVEN


# --- the hospital ---------------------------------------------------------------------------------


def _split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of `total` in proportion to `weights` (as generate.py splits bases)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _requirements(hospital: Hospital) -> dict[int, list[tuple[list[int], int]]]:
    """Base id -> (department ids, months) per requirement; an elective group spreads over its options."""
    result = defaultdict(list)
    for programme in Programme.objects.filter(base__hospital=hospital).prefetch_related("requirements__options"):
        for requirement in programme.requirements.all():
            if requirement.kind == RequirementKind.MANDATORY:
                result[programme.base_id].append(([requirement.department_id], requirement.months))
            else:
                options = [o.pk for o in requirement.options.all()]
                if options:
                    result[programme.base_id].append((options, requirement.months * requirement.choose))
    return result


def _windows(profile: ResidentProfile) -> range:
    return range(month_index(profile.start_date), month_index(profile.planned_end_date) + 1)


@transaction.atomic
def populate(code: str, residents: int, first_year: int) -> Hospital:
    """Hospital, bases, programmes, capacities, secretaries, office; residents and preferences bulk-inserted."""
    rng = random.Random(2025)
    hospital = Hospital.objects.create(code=code, name=f"基准轮转医院（{residents}）")
    bases = [SpecialtyBase.objects.create(hospital=hospital, code=c, name=name) for c, name in BASES]
    office = User.objects.create(username=f"{code}_office", real_name="孙培训", is_active=True)
    RoleAssignment.objects.create(user=office, role=Role.TRAINING_OFFICE, hospital=hospital)
    programmes.load_programmes(hospital, acting_user=office)

    users, profiles = [], []
    n = 0
    counts = _split(residents, [generate.BASE_WEIGHT[name] for _code, name in BASES])
    for base, count in zip(bases, counts, strict=True):
        for cohort, size in enumerate(_split(count, [1 + 0.05 * c for c in range(3)])):
            for _ in range(size):
                delay = rng.randint(1, 6) if rng.random() < LATE_SHARE else 0
                start = month_start(month_index(datetime.date(first_year + cohort, 9, 1)) + delay)
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                users.append(User(username=f"{code}_r{n:05d}", real_name=name, is_active=True))
                profiles.append(
                    ResidentProfile(
                        name_initials=initials(name),
                        gender="M" if n % 2 else "F",
                        base=base,
                        cohort=first_year + cohort,
                        training_years=3,
                        start_date=start,
                        planned_end_date=month_start(month_index(start) + WINDOW) - datetime.timedelta(days=1),
                        status=TrainingStatus.IN_TRAINING,
                        school="医科大学",
                    )
                )
                n += 1
    users = User.objects.bulk_create(users, batch_size=1000)
    for user, profile in zip(users, profiles, strict=True):
        profile.user = user
    profiles = ResidentProfile.objects.bulk_create(profiles, batch_size=1000)

    # capacities: ceil(1.15 × the peak of an even spread of each requirement over the window) + 1
    requirements = _requirements(hospital)
    demand: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for profile in profiles:
        months = _windows(profile)
        for department_ids, length in requirements[profile.base_id]:
            share = length / len(department_ids) / len(months)
            for department_id in department_ids:
                for month in months:
                    demand[department_id][month] += share
    settings_rows = list(DepartmentSetting.objects.filter(department_id__in=demand))
    for setting in settings_rows:
        peak = max(demand[setting.department_id].values())
        setting.capacity = max(2, math.ceil(HEADROOM * peak) + 1)
        setting.minimum = 1 if peak >= 2 else 0
    DepartmentSetting.objects.bulk_update(settings_rows, ["capacity", "minimum"])

    # a teaching secretary per department: publishing notifies them
    departments = list(Department.objects.filter(pk__in=demand).order_by("code"))
    secretaries = User.objects.bulk_create(
        [User(username=f"{code}_sec_{d.code}", real_name=f"{d.name}秘书", is_active=True) for d in departments]
    )
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(user=u, role=Role.TEACHING_SECRETARY, department=d)
            for u, d in zip(secretaries, departments, strict=True)
        ]
    )

    # seven in ten residents ranked the options of every elective group (rotated, as the demo does)
    groups = defaultdict(list)
    for programme in Programme.objects.filter(base__hospital=hospital).prefetch_related("requirements__options"):
        for requirement in programme.requirements.all():
            if requirement.kind == RequirementKind.ELECTIVE:
                groups[programme.base_id].append((requirement, sorted(o.pk for o in requirement.options.all())))
    rows = []
    for n, profile in enumerate(profiles):
        if rng.random() >= PREFERENCE_SHARE:
            continue
        for requirement, options in groups[profile.base_id]:
            shift = n % len(options)
            ranked = options[shift:] + options[:shift]
            rows += [
                ElectivePreference(resident=profile, requirement=requirement, department_id=d, rank=rank)
                for rank, d in enumerate(ranked, start=1)
            ]
    ElectivePreference.objects.bulk_create(rows, batch_size=2000)
    return hospital


def reset(hospital: Hospital) -> None:
    """What a previous invocation left: runs, published blocks, closures, notifications."""
    residents = ResidentProfile.objects.filter(base__hospital=hospital)
    RotationBlock.objects.filter(resident__in=residents).delete()
    ScheduleRun.objects.filter(hospital=hospital).delete()
    DepartmentMonth.objects.filter(department__hospital=hospital).delete()
    Notification.objects.filter(user__username__startswith=f"{hospital.code}_").delete()


# --- measuring ------------------------------------------------------------------------------------


class Meter:
    """Wall clock, process CPU (all threads: CP-SAT's workers, SQLite in-process) and SQL queries at marks."""

    def __init__(self) -> None:
        self.queries = 0
        self.marks: dict[str, tuple[float, float, int]] = {}
        self.solver_stats: dict = {}

    def __call__(self, execute, sql, params, many, context):  # connection.execute_wrapper
        self.queries += 1
        return execute(sql, params, many, context)

    def mark(self, name: str) -> None:
        self.marks[name] = (time.perf_counter(), time.process_time(), self.queries)

    def span(self, start: str, end: str) -> dict:
        a, b = self.marks[start], self.marks[end]
        return {"wall": round(b[0] - a[0], 3), "cpu": round(b[1] - a[1], 3), "queries": b[2] - a[2]}


@contextmanager
def instrumented(meter: Meter):
    """Marks around the phases of `runs._execute`, by wrapping what it calls; undone afterwards."""
    saved = []

    def wrap(owner, name, before=None, after=None, keep=None):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            if before:
                meter.mark(before)
            result = original(*args, **kwargs)
            if after:
                meter.mark(after)
            if keep:
                keep(result)
            return result

        saved.append((owner, name, original))
        setattr(owner, name, wrapper)

    def solver_stats(result) -> None:
        meter.solver_stats = dict(result.stats or {})

    wrap(runs, "build_problem", "build", "built")
    wrap(diagnose, "diagnose", "diagnose", "diagnosed")
    wrap(solver, "solve", "solve", "solved", keep=solver_stats)
    entries = ScheduleEntry.objects  # the manager instance `runs` uses: shadow its bulk_create
    wrap(entries, "bulk_create", None, "stored")
    wrap(runs, "_finish", None, "finished")
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            if owner is entries:
                del entries.bulk_create
            else:
                setattr(owner, name, original)


def generate_run(hospital: Hospital, office: User, seconds: int, meter: Meter, label: str) -> tuple[ScheduleRun, dict]:
    """start_run (its on-commit enqueue switched off) then execute_run in this process, phase by phase."""
    enqueue, runs._enqueue = runs._enqueue, lambda run: None
    try:
        run = runs.start_run(hospital=hospital, scope=RunScope.HOSPITAL, time_limit=10, acting_user=office)
    finally:
        runs._enqueue = enqueue
    run.time_limit = seconds  # the form's bounds are for people; the bench may go below 10 s
    run.save(update_fields=["time_limit"])
    for name in ("built", "diagnosed", "solved", "stored", "finished"):
        meter.marks.pop(name, None)
    meter.solver_stats = {}
    with instrumented(meter):
        meter.mark(f"{label}:start")
        run = runs.execute_run(run.pk)
        meter.mark(f"{label}:end")
    steps = [
        ("read + build problem", f"{label}:start", "built"),
        ("diagnose capacities", "built", "diagnosed"),
        ("solve", "diagnosed", "solved"),
        ("store entries", "solved", "stored"),
        ("stats + warnings", "stored", "finished"),
        ("commit + reload the run", "finished", f"{label}:end"),
        ("whole execute_run", f"{label}:start", f"{label}:end"),
    ]
    phases = {name: meter.span(a, b) for name, a, b in steps if a in meter.marks and b in meter.marks}
    figures = {
        "run": run.pk,
        "status": run.status,
        "phases": phases,
        "solver_elapsed": round(meter.solver_stats.get("elapsed", 0.0), 2),
        "entries": ScheduleEntry.objects.filter(run=run).count(),
        "warnings": len(run.warnings),
        "warning_kinds": dict(sorted(_kinds(run.warnings).items())),
        "stats": {
            k: run.stats.get(k)
            for k in (
                "residents",
                "excluded",
                "replan",
                "imbalance_sum",
                "lower_bound_sum",
                "ratio",
                "violations",
                "overflow",
                "first_choice_rate",
                "changed_residents",
                "changed_months",
                "elapsed",
            )
        },
        "peak_mib": peak_mib(),
    }
    if run.status != RunStatus.DRAFT:  # what the office would read, and where the solver stopped
        solver_stats = meter.solver_stats
        figures["message"] = run.message
        figures["solver"] = {k: solver_stats.get(k) for k in ("overflow", "changes", "changed_residents", "iterations")}
        keys = ("department", "months", "over")
        figures["explanation"] = [
            {"kind": r.get("kind"), **{k: (r.get("message_params") or {}).get(k) for k in keys}}
            for r in run.explanation
        ]
    return run, figures


def _kinds(warnings: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for warning in warnings:
        counts[warning.get("kind", "?")] += 1
    return counts


def publish(run: ScheduleRun, office: User, meter: Meter, label: str) -> tuple[ScheduleRun, dict]:
    before_blocks = RotationBlock.objects.count()
    last_block = RotationBlock.objects.aggregate(m=Max("pk"))["m"] or 0
    last_notice = Notification.objects.aggregate(m=Max("pk"))["m"] or 0
    meter.mark(f"{label}:start")
    run = runs.publish_run(run, acting_user=office)
    meter.mark(f"{label}:end")
    created = RotationBlock.objects.filter(pk__gt=last_block).count()
    after_blocks = RotationBlock.objects.count()
    return run, {
        **meter.span(f"{label}:start", f"{label}:end"),
        "version": run.version,
        "blocks_created": created,
        "blocks_removed": before_blocks + created - after_blocks,
        "blocks_live": after_blocks,
        "notifications": Notification.objects.filter(pk__gt=last_notice).count(),
        "peak_mib": peak_mib(),
    }


def to_close(hospital: Hospital, code: str | None) -> Department:
    """The department named by --close, else the one with the largest capacity (a closure moves many)."""
    if code:
        return Department.objects.get(hospital=hospital, code=code)
    setting = (
        DepartmentSetting.objects.filter(department__hospital=hospital)
        .select_related("department")
        .order_by("-capacity", "department__code")
        .first()
    )
    return setting.department


def peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def database() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            return "PostgreSQL " + cursor.fetchone()[0].split()[1]
    import sqlite3

    return "SQLite " + sqlite3.sqlite_version


# --- reporting ------------------------------------------------------------------------------------


def table(result: dict) -> str:
    lines = [
        "| step | wall s | CPU s | SQL queries | rows written | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]

    def row(step, span, rows="", notes=""):
        rows = f"{rows:,}" if isinstance(rows, int) else rows
        lines.append(f"| {step} | {span['wall']:.2f} | {span['cpu']:.2f} | {span['queries']:,} | {rows} | {notes} |")

    if result.get("setup"):
        setup = result["setup"]
        row("create the hospital (bulk)", setup, setup["rows"], f"{setup['residents']:,} residents")
    for key, title in (("run1", "run 1"), ("run2", "run 2 (re-plan)")):
        run = result[key]
        stats = run["stats"]
        for phase, span in run["phases"].items():
            notes, rows = "", ""
            if phase == "solve":
                notes = f"solver's own elapsed {run['solver_elapsed']:.1f} s"
            elif phase == "store entries":
                rows = run["entries"]
            elif phase == "stats + warnings":
                notes = f"{run['warnings']:,} warnings"
            elif phase == "whole execute_run" and run["status"] != RunStatus.DRAFT:
                notes = f"no schedule: {run['status']}"
            elif phase == "whole execute_run":
                notes = (
                    f"{stats['residents']:,} residents, imbalance {stats['imbalance_sum']} "
                    f"({stats['ratio']}× LB), {stats['violations']} violations"
                )
                if key == "run2":
                    notes += f"; changed {stats['changed_residents']:,} residents / {stats['changed_months']:,} months"
            row(f"{title}: {phase}", span, rows, notes)
        if key == "run1":
            p = result["publish1"]
            row(
                "publish run 1 (v1)",
                p,
                p["blocks_created"] + p["notifications"],
                f"{p['blocks_created']:,} blocks, {p['notifications']:,} notifications",
            )
    if "compare" not in result:
        run = result["run2"]
        lines.append(
            f"| run 2 found no schedule | | | | | {run['status']}: {run['message']} "
            f"{json.dumps(run['explanation'], ensure_ascii=False)}; solver {json.dumps(run['solver'])} |"
        )
        return "\n".join(lines)
    c = result["compare"]
    row("compare(run 2, run 1)", c, "", f"{c['residents']:,} residents / {c['months']:,} months differ")
    p = result["publish2"]
    row(
        "publish run 2 (v2)",
        p,
        p["blocks_created"] + p["notifications"],
        f"{p['blocks_created']:,} blocks created, {p['blocks_removed']:,} removed, "
        f"{p['notifications']:,} notifications",
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30, help="the solver's time limit for each run")
    parser.add_argument("--close", metavar="CODE", help="department to close before run 2 (default: the largest)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print

    call_command("migrate", verbosity=0)
    meter = Meter()
    result: dict = {
        "database": database(),
        "residents": args.residents,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "today": timezone.localdate().isoformat(),
        "load_start": round(os.getloadavg()[0], 2),
    }
    code = f"bench_run_{args.residents}"
    first_year = timezone.localdate().year + 1  # the next September intake and the two after it
    with connection.execute_wrapper(meter):
        hospital = Hospital.objects.filter(code=code).first()
        if hospital is None:
            meter.mark("setup:start")
            hospital = populate(code, args.residents, first_year)
            meter.mark("setup:end")
            rows = (
                2 * ResidentProfile.objects.filter(base__hospital=hospital).count()
                + ElectivePreference.objects.filter(resident__base__hospital=hospital).count()
            )
            result["setup"] = {**meter.span("setup:start", "setup:end"), "rows": rows, "residents": args.residents}
            say(f"created the hospital with {args.residents} residents in {result['setup']['wall']:.1f} s")
            if connection.vendor == "postgresql":  # what autovacuum would soon do in production
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
        else:
            reset(hospital)
            say(f"reusing hospital {code} (runs, blocks, closures and notifications cleared)")
        office = User.objects.get(username=f"{code}_office")
        result["departments"] = DepartmentSetting.objects.filter(department__hospital=hospital).count()
        result["peak_mib_setup"] = peak_mib()
        say(f"database: {result['database']}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

        run1, result["run1"] = generate_run(hospital, office, args.seconds, meter, "run1")
        say(f"run 1: {json.dumps(result['run1'], ensure_ascii=False)}")
        if run1.status != RunStatus.DRAFT:
            sys.exit(f"run 1 found no schedule: {run1.message} {json.dumps(run1.explanation, ensure_ascii=False)}")
        run1, result["publish1"] = publish(run1, office, meter, "publish1")
        say(f"publish 1: {json.dumps(result['publish1'])}")

        department = to_close(hospital, args.close)
        first = month_index(datetime.date(first_year + 2, 3, 1))  # the first two intakes are rotating then
        closed = [month_start(first + k) for k in range(CLOSED_MONTHS)]
        DepartmentMonth.objects.bulk_create(
            [DepartmentMonth(department=department, month=m, closed=True, note="bench: 病区改造") for m in closed]
        )
        result["closed"] = {
            "department": department.name,
            "code": department.code,
            "capacity": department.rotation_setting.capacity,
            "months": [f"{m:%Y-%m}" for m in closed],
        }
        say(f"closed {department.name} for {', '.join(result['closed']['months'])}")
        run2, result["run2"] = generate_run(hospital, office, args.seconds, meter, "run2")
        say(f"run 2: {json.dumps(result['run2'], ensure_ascii=False)}")

        if run2.status == RunStatus.DRAFT:
            meter.mark("compare:start")
            comparison = runs.compare(run2, run1)
            meter.mark("compare:end")
            result["compare"] = {
                **meter.span("compare:start", "compare:end"),
                "residents": len(comparison.residents),
                "months": comparison.resident_months,
                "departments": len(comparison.departments),
            }
            run2, result["publish2"] = publish(run2, office, meter, "publish2")
    result["peak_mib"] = peak_mib()
    result["load_end"] = round(os.getloadavg()[0], 2)

    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    print(
        f"\n{args.residents:,} residents in 5 bases, {result['departments']} departments, "
        f"{args.seconds} s solver limit per run, {result['database']}, {os.cpu_count()} CPUs; "
        f"closed {department.name} {' and '.join(result['closed']['months'])} before run 2; "
        f"peak memory {result['peak_mib']:.0f} MiB (after setup {result['peak_mib_setup']:.0f}); "
        f"load average {result['load_start']} at the start, {result['load_end']} at the end\n"
    )
    print(table(result))


if __name__ == "__main__":
    main()
