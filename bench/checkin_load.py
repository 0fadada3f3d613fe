"""300 residents checking in to one teaching activity against a running server, with /healthz as the yardstick.

    .venv/bin/python bench/checkin_load.py                     # SQLite in a temporary folder
    createdb -h 127.0.0.1 -U postgres zhupei_bench_checkin
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zhupei_bench_checkin .venv/bin/python bench/checkin_load.py
    dropdb -h 127.0.0.1 -U postgres zhupei_bench_checkin

Prepares the database (migrate; a hospital, a base, a department; 300 residents rotating in the department
today with active accounts; two approved activities of the department starting now, so check-in is open), an
authenticated session per resident written straight into the session store (as Client.force_login does: the
bench measures scans, not password hashing), starts nx-27017 (the embedded MongoDB) and gunicorn (the
Dockerfile's command: sync workers, 3 by default) on a free port with the same settings, then:

1. burst: the 300 scans of activity A as fast as a pool of --clients threads sends them;
2. spread: the 300 scans of activity B at random moments over --spread seconds (60);
3. 50 residents scan activity A again (duplicates: nothing may change);
4. the same schedules against GET /healthz (SELECT 1 and a JSON answer) in the same run.

Every scan carries a token issued just before it is sent (what the display shows at that moment) and the
resident's session cookie. The rate limits are raised (TEACHING_SCAN_RATE_IP / _USER) because every request
comes from 127.0.0.1. Prints a Markdown table: HTTP statuses, latency percentiles, throughput, and from the
database the Attendance rows, lost scans (300 - rows) and duplicates (users with more than one row).
"""

import argparse
import http.client
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.embedded_mongo import EmbeddedMongo, free_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
RESIDENTS = 300
DUPLICATES = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=30, help="client threads (default 30)")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the spread round lasts (default 60)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as the Dockerfile)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (>1: gthread)")
    return parser.parse_args()


def setup_environment(tmp: Path, mongo_uri: str) -> dict:
    env = {
        "ZHUPEI_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "MONGODB_URI": mongo_uri,
        "DJANGO_STATIC_ROOT": str(tmp),  # WhiteNoise warns about a missing folder otherwise
        "TEACHING_SCAN_RATE_IP": "100000",  # every request comes from 127.0.0.1
        "TEACHING_SCAN_RATE_USER": "1000",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    return {**os.environ}


def populate(tag: str):
    """Residents rotating in one department today, sessions for each, two approved activities starting now."""
    import datetime

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone
    from django.utils.module_loading import import_string

    from accounts.choices import Role, UserStatus
    from accounts.models import Department, Hospital, RoleAssignment, SpecialtyBase, User
    from residents.models import ResidentProfile
    from rotation.models import RotationBlock
    from teaching.choices import ActivityStatus, Audience
    from teaching.models import Activity, ActivityType

    today = timezone.localdate()
    with transaction.atomic():
        hospital = Hospital.objects.create(code=f"bc{tag}", name="基准医院")
        base = SpecialtyBase.objects.create(hospital=hospital, code="0100", name="内科")
        department = Department.objects.create(hospital=hospital, base=base, code="CARD", name="心血管内科")
        teacher = User.objects.create(username=f"bc{tag}_teacher", real_name="张带教", password=make_password(None))
        RoleAssignment.objects.create(user=teacher, role=Role.SUPERVISOR, department=department)
        unusable = make_password(None)
        users = User.objects.bulk_create(
            [
                User(
                    username=f"bc{tag}_r{n:03d}",
                    real_name=f"住院{n:03d}",
                    password=unusable,
                    status=UserStatus.ACTIVE,
                    is_active=True,
                )
                for n in range(RESIDENTS)
            ]
        )
        RoleAssignment.objects.bulk_create([RoleAssignment(user=u, role=Role.RESIDENT, base=base) for u in users])
        profiles = ResidentProfile.objects.bulk_create(
            [
                ResidentProfile(
                    user=u,
                    base=base,
                    cohort=2024,
                    start_date=datetime.date(2024, 9, 1),
                    planned_end_date=datetime.date(2027, 8, 31),
                )
                for u in users
            ]
        )
        RotationBlock.objects.bulk_create(
            [
                RotationBlock(
                    resident=p,
                    department=department,
                    start_date=today - datetime.timedelta(days=10),
                    end_date=today + datetime.timedelta(days=20),
                )
                for p in profiles
            ]
        )
        kind = ActivityType.objects.create(hospital=hospital, code="LECT", name="小讲课")
        now = timezone.now()
        activities = [
            Activity.objects.create(
                department=department,
                activity_type=kind,
                title=f"基准讲课 {label}",
                teacher=teacher,
                starts_at=now,
                ends_at=now + datetime.timedelta(hours=1),
                place="示教室",
                audience=Audience.DEPARTMENT,
                status=ActivityStatus.APPROVED,
                created_by=teacher,
            )
            for label in ("A", "B")
        ]

    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    backend = "accounts.backends.StatusAwareModelBackend"
    cookies = {}
    for user in users:
        session = store()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookies[user.pk] = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    return activities, users, cookies


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server on port {port} did not answer")


def get(port: int, path: str, cookie: str = "") -> tuple[int, float]:
    """(status, seconds) of one GET on a fresh connection (a phone opening the URL); redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def run_round(port: int, jobs: list, clients: int, offsets: list[float] | None) -> dict:
    """Send `jobs` (callables returning (path, cookie)), all at once or each at its offset (seconds from start)."""
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    start = time.monotonic()

    def one(index: int) -> None:
        if offsets is not None:
            delay = start + offsets[index] - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        path, cookie = jobs[index]()  # the token is issued now, just before the scan
        try:
            outcome = get(port, path, cookie)
        except OSError as error:
            outcome = (f"error: {type(error).__name__}", 0.0)
        with lock:
            results.append(outcome)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(len(jobs))))
    elapsed = time.monotonic() - start
    latencies = sorted(seconds * 1000 for status, seconds in results if isinstance(status, int))
    return {"statuses": Counter(status for status, _ in results), "latencies": latencies, "elapsed": elapsed}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def count_rows(activity) -> tuple[int, int]:
    from django.db.models import Count

    from teaching.models import Attendance

    rows = Attendance.objects.filter(activity=activity)
    duplicates = rows.values("user", "purpose").annotate(n=Count("pk")).filter(n__gt=1).count()
    return rows.count(), duplicates


def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zhupei-bench-checkin-"))
    mongo = EmbeddedMongo(db_path=tmp / "mongo.db", port=free_port()).start()
    env = setup_environment(tmp, mongo.uri)
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.urls import reverse
        from django.utils import timezone

        from teaching.choices import Purpose
        from teaching.services import tokens

        call_command("migrate", verbosity=0, interactive=False)
        with open(os.devnull, "w") as quiet:
            call_command("mongo_setup", stdout=quiet)
        tag = f"{int(time.time()) % 10**6:06d}"
        (activity_a, activity_b), users, cookies = populate(tag)
        database = f"{connection.vendor} {connection.settings_dict['NAME']}"
        connection.close()  # the server's workers write; the bench only reads at the end

        port = free_port()
        command = [str(VENV_BIN / "gunicorn"), "config.wsgi:application", "-b", f"127.0.0.1:{port}",
                   "-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning"]  # fmt: skip
        server = subprocess.Popen(command, cwd=ROOT, env=env)
        wait_for(port)
        kind = "gthread" if args.threads > 1 else "sync"
        print(f"{database}; gunicorn {args.workers} {kind} workers x {args.threads} thread(s); "
              f"{args.clients} client threads; {os.cpu_count()} CPUs")  # fmt: skip

        def scan(activity, user):
            def job():
                token = tokens.issue(activity, Purpose.CHECK_IN, timezone.now())
                return reverse("teaching:checkin_scan", args=[token]), cookies[user.pk]

            return job

        def health():
            return "/healthz", ""

        rng = random.Random(7)
        order = users[:]
        rng.shuffle(order)
        spread = sorted(rng.uniform(0, args.spread) for _ in range(RESIDENTS))
        rounds = [
            ("scan, burst", [scan(activity_a, u) for u in order], None),
            ("/healthz, burst", [health] * RESIDENTS, None),
            (f"scan, spread {args.spread:g} s", [scan(activity_b, u) for u in order], spread),
            (f"/healthz, spread {args.spread:g} s", [health] * RESIDENTS, spread),
        ]
        results = {}
        for label, jobs, offsets in rounds:
            results[label] = run_round(port, jobs, args.clients, offsets)
            print(f"  {label}: {dict(results[label]['statuses'])} in {results[label]['elapsed']:.1f} s", flush=True)
        rows_a_before, _ = count_rows(activity_a)
        connection.close()
        again = rng.sample(users, DUPLICATES)
        results[f"scan again ({DUPLICATES} residents, A)"] = run_round(
            port, [scan(activity_a, u) for u in again], args.clients, None
        )

        print()
        print("| round | requests | HTTP statuses | p50 ms | p90 ms | p99 ms | max ms | wall s | req/s |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for label, result in results.items():
            lat = result["latencies"]
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items(), key=str))
            total = sum(result["statuses"].values())
            print(
                f"| {label} | {total} | {statuses} | {percentile(lat, 50):.0f} | {percentile(lat, 90):.0f} | "
                f"{percentile(lat, 99):.0f} | {max(lat, default=float('nan')):.0f} | {result['elapsed']:.1f} | "
                f"{total / result['elapsed']:.1f} |"
            )
        print()
        print("| activity | scans sent | Attendance rows | lost | users with > 1 row |")
        print("|---|---:|---:|---:|---:|")
        rows_a, duplicates_a = count_rows(activity_a)
        rows_b, duplicates_b = count_rows(activity_b)
        print(f"| A (burst + {DUPLICATES} again) | {RESIDENTS + DUPLICATES} | {rows_a} | {RESIDENTS - rows_a} | "
              f"{duplicates_a} |")  # fmt: skip
        print(f"| B (spread) | {RESIDENTS} | {rows_b} | {RESIDENTS - rows_b} | {duplicates_b} |")
        print(f"Rows of A before the {DUPLICATES} repeated scans: {rows_a_before}, after: {rows_a} "
              f"({'unchanged' if rows_a == rows_a_before else 'CHANGED'}).")  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        mongo.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
