"""How the resident list (and its Excel export) behaves with 5,000 residents in 8 specialty bases.

    python bench/resident_list.py                   # SQLite in a temporary folder
    createdb -h 127.0.0.1 -U postgres zhupei_bench_list
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zhupei_bench_list python bench/resident_list.py

Creates (or reuses, when they are already there) 5,000 residents with ~6 rotation blocks each,
bulk-inserted, then prints for the training office (sees all 5,000) and a base director (sees
one base, ~625): p50 and p95 of GET /residents/ over N runs for page 1, a middle page, a filtered
and sorted page and a pinyin-initials search, with the number of SQL queries each runs; and the
time to export everything the office sees to .xlsx (password confirmed, audited).
"""

import argparse
import datetime
import os
import random
import re
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
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

settings.ALLOWED_HOSTS = ["*"]
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
settings.AUDIT_SINKS = []  # measure the pages, not the log file

from accounts.choices import Role  # noqa: E402
from accounts.models import Department, Hospital, RoleAssignment, SpecialtyBase, User  # noqa: E402
from core import crypto  # noqa: E402
from core.pinyin import initials  # noqa: E402
from residents.choices import TrainingCategory, TrainingStatus  # noqa: E402
from residents.models import ResidentProfile  # noqa: E402
from rotation.models import RotationBlock  # noqa: E402

RESIDENTS = 5000
BASES = [
    ("0100", "内科"),
    ("0200", "儿科"),
    ("0300", "急诊科"),
    ("0700", "全科"),
    ("0900", "外科"),
    ("1700", "妇产科"),
    ("2100", "麻醉科"),
    ("2400", "医学影像科"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬鹏辉宇浩凯欣怡婷雪琳晨阳"
PASSWORD = "Bench#2025"


def _id_number(n: int) -> str:
    from accounts.validators import id_number_check_digit

    first17 = f"110105{1990 + n % 10}0{1 + n % 9}{10 + n % 18}{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


@transaction.atomic
def populate() -> None:
    """Bulk insert: users, profiles (initials computed here: bulk_create skips save()), blocks."""
    rng = random.Random(2025)
    hospital, _ = Hospital.objects.get_or_create(code="bench_list", defaults={"name": "基准住培医院"})
    bases = [
        SpecialtyBase.objects.get_or_create(hospital=hospital, code=code, defaults={"name": name})[0]
        for code, name in BASES
    ]
    departments = {
        base.pk: [
            Department.objects.get_or_create(
                hospital=hospital, code=f"{base.code}-{k}", defaults={"name": f"{base.name}{k}病区", "base": base}
            )[0]
            for k in range(1, 4)
        ]
        for base in bases
    }
    all_departments = [d for ds in departments.values() for d in ds]
    office, _ = User.objects.get_or_create(username="bench_office", defaults={"real_name": "孙培训"})
    director, _ = User.objects.get_or_create(username="bench_director", defaults={"real_name": "周基地"})
    for user in (office, director):
        user.set_password(PASSWORD)
        user.save()
    RoleAssignment.objects.get_or_create(user=office, role=Role.TRAINING_OFFICE, hospital=hospital)
    RoleAssignment.objects.get_or_create(user=director, role=Role.BASE_DIRECTOR, base=bases[0])

    mentors = User.objects.bulk_create(
        [User(username=f"bench_mentor{i}", real_name=f"导师{i}", is_active=True) for i in range(40)]
    )
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user=m, role=Role.MENTOR, base=bases[i % len(bases)]) for i, m in enumerate(mentors)]
    )

    users = []
    for n in range(RESIDENTS):
        user = User(
            username=f"bench_r{n:05d}",
            real_name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
            staff_number=f"R{2021 + n % 5}{n:05d}",
            phone=f"139{n:08d}",
            is_active=True,
        )
        number = _id_number(n)
        user.id_number_encrypted = crypto.encrypt(number)
        user.id_number_digest = crypto.digest(number)
        users.append(user)
    users = User.objects.bulk_create(users, batch_size=1000)

    statuses = [TrainingStatus.IN_TRAINING] * 16 + [
        TrainingStatus.EXTENDED,
        TrainingStatus.SUSPENDED,
        TrainingStatus.WITHDRAWN,
        TrainingStatus.COMPLETED,
    ]
    profiles = []
    for n, user in enumerate(users):
        base = bases[n % len(bases)]
        cohort = 2021 + n % 5
        start = datetime.date(cohort, 9, 1)
        profiles.append(
            ResidentProfile(
                user=user,
                name_initials=initials(user.real_name),
                gender="M" if n % 2 else "F",
                base=base,
                cohort=cohort,
                training_years=3 if n % 7 else 2,
                category=rng.choice(TrainingCategory.values),
                start_date=start,
                planned_end_date=start.replace(year=cohort + 3) - datetime.timedelta(days=1),
                status=rng.choice(statuses),
                mentor=mentors[(n % len(bases)) + len(bases) * rng.randrange(5)],
                school="医科大学",
            )
        )
    profiles = ResidentProfile.objects.bulk_create(profiles, batch_size=1000)

    blocks = []
    for n, profile in enumerate(profiles):
        start = profile.start_date
        home = departments[profile.base_id]
        for k in range(6):
            end = start + datetime.timedelta(days=rng.choice((60, 90, 120)))
            department = home[k % 3] if k % 2 == 0 else all_departments[(n + k) % len(all_departments)]
            blocks.append(RotationBlock(resident=profile, department=department, start_date=start, end_date=end))
            start = end + datetime.timedelta(days=1)
    RotationBlock.objects.bulk_create(blocks, batch_size=2000)


def timed(client: Client, url: str, repeat: int) -> tuple[float, float, float, int, int]:
    """Wall-clock p50/p95 and the median CPU time of this process (the app, plus SQLite's work in-process)."""
    client.get(url)  # warm caches (templates, scope)
    samples, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    samples.sort()
    p95 = samples[max(0, int(round(len(samples) * 0.95)) - 1)]
    return statistics.median(samples), p95, statistics.median(cpu), len(queries), _total(response)


def _total(response) -> int:
    """The count the page shows (the test client records no context outside a test run)."""
    found = re.search(rb'data-testid="resident-total">(\d+)<', response.content)
    assert found, "no total on the page"
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30, help="requests per page")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    if ResidentProfile.objects.filter(user__username__startswith="bench_r").count() < RESIDENTS:
        populate()
        print(f"created {RESIDENTS} residents and their rotation blocks in {time.perf_counter() - started:.1f} s")
        if connection.vendor == "postgresql":  # what autovacuum would soon do in production
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    else:
        print(f"reusing the {RESIDENTS} residents already in the database")
    base = SpecialtyBase.objects.get(hospital__code="bench_list", code="0100")
    department = Department.objects.filter(base=base).order_by("code").first()

    vendor = connection.vendor
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            vendor = "PostgreSQL " + cursor.fetchone()[0].split()[1]
    else:
        import sqlite3

        vendor = "SQLite " + sqlite3.sqlite_version
    print(f"database: {vendor}; {args.repeat} requests per page; times in ms")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'who':<10} {'page':<34} {'rows':>6} {'p50':>8} {'p95':>8} {'cpu p50':>8} {'queries':>8}")
    for username in ("bench_office", "bench_director"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        total = _total(client.get("/residents/"))
        middle = max(1, (total // 30) // 2)
        pages = [
            ("page 1", "/residents/"),
            (f"page {middle} (middle)", f"/residents/?page={middle}"),
            (
                "filtered + sorted",
                f"/residents/?base={base.pk}&status=in_training&department={department.pk}&sort=name",
            ),
            ("cohort 2024, newest start first", "/residents/?cohort=2024&sort=-start"),
            ("pinyin search q=wy", "/residents/?q=wy"),
        ]
        for label, url in pages:
            p50, p95, cpu, queries, rows = timed(client, url, args.repeat)
            print(f"{username[6:]:<10} {label:<34} {rows:>6} {p50:>8.1f} {p95:>8.1f} {cpu:>8.1f} {queries:>8}")

    client = Client()
    client.force_login(User.objects.get(username="bench_office"))
    samples, cpu = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.post("/residents/export/", {"password": PASSWORD})
        size = len(b"".join(response.streaming_content))
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert response.status_code == 200
    print(
        f"export of all {RESIDENTS} rows (office, .xlsx {size / 1024:.0f} KiB): "
        f"best of 3 {min(samples):.2f} s, CPU {min(cpu):.2f} s"
    )


if __name__ == "__main__":
    main()
