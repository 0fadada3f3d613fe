"""The demo hospital's 登记手册: quotas loaded, and every resident in training has logged their rotations.

After rotation's seeder (order 25) has published the schedule:
1. load the shipped caseload standards (心血管内科's 病种, 管床病例 and 技能 minimums);
2. for every started block of a resident in training, approved entries from its first day up to
   yesterday: in a department with standards, each item at about its pro-rated share so far (some
   residents ahead, some behind: below 80 % shows on the pages); elsewhere a few patients a week,
   a procedure and a learning record;
3. the persona `resident` has the last days waiting for `supervisor`'s approval and one entry
   returned with a comment, so the inbox and the correction path have something to show.

Idempotent: once the hospital has caseload entries nothing is done. Fast: bulk_create, no audit per row.
"""

import datetime
import random
import uuid
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.demo import HOSPITAL
from accounts.models import Hospital, User
from core.demo import register
from residents.choices import TrainingStatus

from .choices import CaseloadKind, CaseSource, EntryStatus, ProcedureRole
from .models import CaseloadEntry, CaseloadStandard, RotationBlock
from .services.caseload_progress import block_months, load_caseload_standards, required_for

PERSONA_RESIDENT = "resident"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
LETTERS = "ABCDFGHJKLMNPQRSTWXYZ"
PROCEDURES = ["体格检查", "胸腔穿刺术", "腹腔穿刺术", "腰椎穿刺术", "导尿术", "心肺复苏", "动脉血气采集", "清创缝合术"]
LEARNING = ["科室业务学习", "疑难病例讨论", "死亡病例讨论", "教学查房", "小讲课", "文献汇报"]
DIAGNOSES = [
    "社区获得性肺炎",
    "2型糖尿病",
    "慢性阻塞性肺疾病急性加重",
    "上消化道出血",
    "急性胰腺炎",
    "脑梗死",
    "慢性肾脏病",
]
RETURN_COMMENT = "病历号与病房记录不符，请核对后重新提交。"


def _patient(rng: random.Random) -> tuple[str, str]:
    return rng.choice(SURNAMES) + rng.choice(LETTERS) + rng.choice(LETTERS), f"{rng.randint(10_000_000, 99_999_999)}"


def _decided_at(day: datetime.date) -> datetime.datetime:
    """The supervisor signs the day's entries the next evening."""
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(17)))


def _workdays(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days or [first]


def _entries_with_standards(block, standards, days, share, rng) -> list[dict]:
    """Each item at about its pro-rated requirement × the share of the block gone, ± a resident's pace."""
    pace = rng.choice([0.7, 0.85, 0.95, 1.0, 1.05, 1.15])
    months = block_months(block)
    rows = []
    for standard in standards:
        target = round(required_for(standard, months) * share * pace)
        while target > 0:
            count = 1 if standard.kind in (CaseloadKind.DISEASE, CaseloadKind.CASE) else min(target, rng.randint(1, 4))
            row = {"kind": standard.kind, "standard": standard, "name": standard.name, "count": count}
            row["day"] = rng.choice(days)
            if standard.kind == CaseloadKind.CASE:
                row["patient_initials"], row["record_number"] = _patient(rng)
                row["source"] = rng.choice([CaseSource.WARD] * 4 + [CaseSource.EMERGENCY, CaseSource.OUTPATIENT])
                row["is_main"] = rng.random() < 0.6
                row["is_rescue"] = rng.random() < 0.05
            elif standard.kind == CaseloadKind.PROCEDURE:
                row["role"] = ProcedureRole.OPERATOR if rng.random() < 0.7 else ProcedureRole.ASSISTANT
                row["succeeded"] = True
            rows.append(row)
            target -= count
    for week in range(0, len(days), 5):  # one learning record a week
        rows.append({"kind": CaseloadKind.LEARNING, "name": rng.choice(LEARNING), "day": days[week], "count": 1})
    return rows


def _entries_without_standards(days, rng) -> list[dict]:
    """Two patients a week, a procedure every other week, a learning record a week, a write-up a month."""
    rows = []
    for index, day in enumerate(days):
        weekday = index % 5
        if weekday in (0, 3):
            initials, number = _patient(rng)
            rows.append(
                {
                    "kind": CaseloadKind.CASE,
                    "day": day,
                    "patient_initials": initials,
                    "record_number": number,
                    "source": CaseSource.WARD,
                    "is_main": True,
                    "name": rng.choice(DIAGNOSES),
                }
            )
        if weekday == 2 and index % 10 < 5:
            succeeded = rng.random() > 0.1
            rows.append(
                {
                    "kind": CaseloadKind.PROCEDURE,
                    "day": day,
                    "name": rng.choice(PROCEDURES),
                    "role": ProcedureRole.OPERATOR,
                    "succeeded": succeeded,
                    "failure_reason": "" if succeeded else "患者不能配合，改由上级医师完成",
                }
            )
        if weekday == 4:
            rows.append({"kind": CaseloadKind.LEARNING, "day": day, "name": rng.choice(LEARNING)})
        if index % 20 == 10:
            initials, number = _patient(rng)
            rows.append(
                {
                    "kind": CaseloadKind.WRITEUP,
                    "day": day,
                    "name": rng.choice(DIAGNOSES),
                    "patient_initials": initials,
                    "record_number": number,
                }
            )
    return rows


DEFAULTS = {
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
    "corrects_id": None,
    "correction_reason": "",
    "decided_by_id": None,
    "decided_at": None,
    "comment": "",
    "version": 1,
}


def _insert(rows: list[dict]) -> None:
    """Tens of thousands of rows: one executemany (bulk_create spends seconds preparing each field's value)."""
    ops = connection.ops
    uuid_field = CaseloadEntry._meta.get_field("uuid")
    columns = ["uuid", "block_id", "resident_id", "kind", "day", "standard_id", "status", "created_at", "updated_at"]
    columns += [name for name in DEFAULTS if name != "standard"]
    table = CaseloadEntry._meta.db_table
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    values = []
    for row in rows:
        row = {**DEFAULTS, **row}
        stamp = ops.adapt_datetimefield_value(row["decided_at"] or _decided_at(row["day"]))
        standard = row["standard"]
        values.append(
            (
                uuid_field.get_db_prep_value(uuid.uuid4(), connection),
                row["block_id"],
                row["resident_id"],
                row["kind"],
                ops.adapt_datefield_value(row["day"]),
                standard.pk if standard is not None else None,
                row["status"],
                stamp,
                stamp,
                *[
                    ops.adapt_datetimefield_value(row[name]) if name == "decided_at" else row[name]
                    for name in DEFAULTS
                    if name != "standard"
                ],
            )
        )
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(values), 5000):
            cursor.executemany(sql, values[start : start + 5000])


@register("rotation_caseload", order=26)
def seed_caseload(stdout=None) -> str:
    hospital = Hospital.objects.get(code=HOSPITAL["code"])
    residents_q = Q(resident__base__hospital=hospital) & Q(
        resident__status__in=[TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED]
    )
    if CaseloadEntry.objects.filter(residents_q).exists():
        return "up to date"
    office = User.objects.filter(username="office").first()
    report = load_caseload_standards(hospital, acting_user=office)
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    standards = defaultdict(list)
    for standard in CaseloadStandard.objects.filter(is_active=True).order_by("kind", "position", "pk"):
        standards[standard.department_id].append(standard)
    blocks = (
        RotationBlock.objects.filter(residents_q, start_date__lte=yesterday)
        .select_related("resident__user")
        .order_by("resident_id", "start_date", "pk")
    )
    persona_block = None
    rows: list[dict] = []
    for block in blocks:
        last = min(block.end_date, yesterday)
        days = _workdays(block.start_date, last)
        share = ((last - block.start_date).days + 1) / ((block.end_date - block.start_date).days + 1)
        rng = random.Random(f"{block.resident.user.username}:{block.start_date}:{block.department_id}")
        own = standards.get(block.department_id)
        specs = _entries_with_standards(block, own, days, share, rng) if own else _entries_without_standards(days, rng)
        is_persona = block.resident.user.username == PERSONA_RESIDENT and block.end_date >= today
        if is_persona:
            persona_block = block
        decider_id = block.supervisor_id or (office.pk if office else None)
        for spec in specs:
            day = spec["day"]
            status = EntryStatus.APPROVED
            if is_persona and (today - day).days <= 5:
                status = EntryStatus.SUBMITTED
            decided = status == EntryStatus.APPROVED and decider_id is not None
            rows.append(
                {
                    **spec,
                    "block_id": block.pk,
                    "resident_id": block.resident_id,
                    "status": status,
                    "decided_by_id": decider_id if decided else None,
                    "decided_at": _decided_at(day) if decided else None,
                }
            )
    if persona_block is not None:
        rng = random.Random("returned")
        initials, number = _patient(rng)
        day = max(persona_block.start_date, today - datetime.timedelta(days=8))
        case = next((s for s in standards.get(persona_block.department_id, []) if s.kind == CaseloadKind.CASE), None)
        rows.append(
            {
                "block_id": persona_block.pk,
                "resident_id": persona_block.resident_id,
                "kind": CaseloadKind.CASE,
                "day": day,
                "standard": case,
                "name": case.name if case else "",
                "patient_initials": initials,
                "record_number": number[:5],
                "source": CaseSource.EMERGENCY,
                "status": EntryStatus.RETURNED,
                "decided_by_id": persona_block.supervisor_id,
                "decided_at": timezone.now() - datetime.timedelta(days=6),
                "comment": RETURN_COMMENT,
                "version": 2,
            }
        )
    _insert(rows)
    waiting = sum(1 for r in rows if r["status"] == EntryStatus.SUBMITTED)
    return f"{len(report.created)} caseload standards, {len(rows)} caseload entries ({waiting} waiting for approval)"
