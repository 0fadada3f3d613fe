"""How the approval inbox and the home page behave as the number of waiting requests grows.

    python bench/approvals_inbox.py                 # SQLite in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zhupei_bench python bench/approvals_inbox.py

Prints, for each inbox size, the median and p95 time of GET /approvals/ and GET / (home) for
the approver, and the number of SQL queries each page runs (it must not grow with the size).
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ZHUPEI_VAR_DIR", tempfile.mkdtemp(prefix="zhupei-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DJANGO_DEBUG"] = "false"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

settings.ALLOWED_HOSTS = ["*"]
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
settings.AUDIT_SINKS = []  # measure the pages, not the log file

from accounts.choices import Role  # noqa: E402
from accounts.models import Department, Hospital, RoleAssignment, SpecialtyBase, User  # noqa: E402
from approvals.registry import StepSpec, Workflow, register_workflow  # noqa: E402
from approvals.services import approval_submit  # noqa: E402

SIZES = (10, 100, 1000)
REPEAT = 30


def timed(client: Client, url: str) -> tuple[float, float, int]:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], len(queries)


def main() -> None:
    call_command("migrate", verbosity=0)
    register_workflow(
        Workflow(code="bench.leave", label="bench", default_steps=(StepSpec(name="科主任", role=Role.DEPARTMENT_HEAD),))
    )
    hospital, _ = Hospital.objects.get_or_create(code="bench", defaults={"name": "基准医院"})
    base, _ = SpecialtyBase.objects.get_or_create(hospital=hospital, code="0100", defaults={"name": "内科"})
    dept, _ = Department.objects.get_or_create(
        hospital=hospital, code="CARD", defaults={"name": "心内科", "base": base}
    )
    head, _ = User.objects.get_or_create(username="bench_head", defaults={"real_name": "主任"})
    RoleAssignment.objects.get_or_create(user=head, role=Role.DEPARTMENT_HEAD, department=dept)
    residents = []
    for i in range(50):
        user, _ = User.objects.get_or_create(username=f"bench_r{i}", defaults={"real_name": f"住院{i}"})
        residents.append(user)
    client = Client()
    client.force_login(head)

    print(f"database: {connection.vendor}; {REPEAT} requests per page; times in ms")
    header = ("waiting", "inbox p50", "inbox p95", "queries", "home p50", "home p95", "queries")
    print(" ".join(f"{h:>10}" for h in header))
    made = 0
    for size in SIZES:
        while made < size:
            r = residents[made % len(residents)]
            approval_submit(
                workflow="bench.leave",
                target=r,
                title=f"{r.real_name} 请假",
                acting_user=r,
                subject=r,
                department=dept,
                base=base,
                context={"days": 1},
            )
            made += 1
        inbox = timed(client, "/approvals/")
        home = timed(client, "/")
        print(
            f"{size:>8} {inbox[0]:>10.1f} {inbox[1]:>10.1f} {inbox[2]:>8} {home[0]:>9.1f} {home[1]:>9.1f} {home[2]:>8}"
        )


if __name__ == "__main__":
    main()
