"""Demo attendance, records and ratings for the demo's past approved activities (after the plans, order 40).

For each past approved activity: check-in and check-out for most of the residents expected there (those
rotating in the department that day), a few check-ins without check-out, one or two marks by hand with a
reason; a record (summary, a small generated PNG and PDF) for most, some accepted, one sent back; ratings
from residents who checked out. Deterministic (derived from primary keys) and idempotent: an activity
that already has attendance, a record or ratings keeps them.
"""

import struct
import zlib
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from core.demo import register
from rotation.models import RotationBlock

from .choices import Audience, FileKind, Method, Purpose, RecordStatus
from .models import Activity, ActivityRecord, Attendance, Rating, RecordFile
from .services.records import indicators_for, rating_hospital
from .services.stats import held

SUMMARY = "本次{type}围绕“{title}”展开，带教老师讲解要点并结合病例讨论，住院医师积极提问，课后布置复习任务。"


def _png() -> bytes:
    """A 16×16 light-blue PNG (a stand-in for a live photo)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x9e\xc5\xfe" * 16 for _ in range(16))
    header = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _expected(activity: Activity, blocks: list) -> list[int]:
    day = timezone.localtime(activity.starts_at).date()
    if activity.audience != Audience.DEPARTMENT:
        return []
    return sorted({user_id for dep, s, e, user_id in blocks if dep == activity.department_id and s <= day <= e})


def _attendance(activity: Activity, user_ids: list[int], marker) -> list[Attendance]:
    rows = []
    for index, user_id in enumerate(user_ids):
        seed = activity.pk * 31 + user_id * 7
        if seed % 10 == 0:
            continue  # absent
        manual = activity.pk % 5 == 0 and index == 0
        common = {"activity": activity, "user_id": user_id}
        if manual:
            reason = "手机没电，带教老师现场确认到场"
            extra = {"method": Method.MANUAL, "reason": reason, "marked_by": marker}
        else:
            extra = {"method": Method.SCAN, "device": f"demo{user_id:06d}"}
        rows.append(
            Attendance(purpose=Purpose.CHECK_IN, at=activity.starts_at - timedelta(minutes=3), **common, **extra)
        )
        if seed % 10 == 1:
            continue  # checked in, left without checking out
        rows.append(
            Attendance(purpose=Purpose.CHECK_OUT, at=activity.ends_at + timedelta(minutes=2), **common, **extra)
        )
    return rows


@register("teaching_records", order=42)
def seed_records(stdout=None) -> str:
    now = timezone.now()
    activities = list(
        held()
        .filter(ends_at__lt=now, starts_at__gte=now - timedelta(days=70))
        .select_related("department__hospital", "activity_type", "teacher")
        .order_by("starts_at", "pk")
    )
    if not activities:
        return "no past activities"
    office = User.objects.filter(username="office").first()
    first_day = timezone.localtime(activities[0].starts_at).date()
    blocks = list(
        RotationBlock.objects.filter(end_date__gte=first_day, start_date__lte=timezone.localdate()).values_list(
            "department_id", "start_date", "end_date", "resident__user_id"
        )
    )
    with_rows = set(Attendance.objects.filter(activity__in=activities).values_list("activity_id", flat=True))
    attendance = []
    for activity in activities:
        if activity.pk not in with_rows:
            attendance += _attendance(activity, _expected(activity, blocks), activity.teacher)
    Attendance.objects.bulk_create(attendance, ignore_conflicts=True)

    with_record = set(ActivityRecord.objects.filter(activity__in=activities).values_list("activity_id", flat=True))
    sent_back = ActivityRecord.objects.filter(activity__in=activities, status=RecordStatus.REJECTED).exists()
    new_records = []
    for index, activity in enumerate(activities):
        if activity.pk in with_record or activity.pk % 6 == 0:
            continue  # some activities still wait for their record
        record = ActivityRecord(
            activity=activity,
            summary=SUMMARY.format(type=activity.activity_type.name, title=activity.title),
            submitted_by=activity.teacher,
        )
        if office is not None and index % 3 != 2:
            if not sent_back and index % 3 == 1:
                record.status = RecordStatus.REJECTED
                record.review_reason = "现场照片不清晰，请补充一张能看到参会人员的照片。"
                sent_back = True
            else:
                record.status = RecordStatus.APPROVED
            record.reviewed_by, record.reviewed_at = office, activity.ends_at + timedelta(days=2)
        new_records.append(record)
    if new_records:
        ActivityRecord.objects.bulk_create(new_records)
        # Every demo record shows the same two small files: stored once, referenced by each row.
        stored = {}
        for kind, name, content, content_type in (
            (FileKind.PHOTO, "现场照片.png", _png(), "image/png"),
            (FileKind.SLIDES, "课件.pdf", _pdf(), "application/pdf"),
        ):
            probe = RecordFile(kind=kind, original_name=name, size=len(content), content_type=content_type)
            probe.file.save(f"demo-{kind}.{name.rsplit('.', 1)[1]}", ContentFile(content), save=False)
            stored[kind] = probe
        saved = ActivityRecord.objects.filter(activity__in=[r.activity for r in new_records])
        RecordFile.objects.bulk_create(
            [
                RecordFile(
                    record=record,
                    kind=probe.kind,
                    file=probe.file.name,
                    original_name=probe.original_name,
                    size=probe.size,
                    content_type=probe.content_type,
                )
                for record in saved
                for probe in stored.values()
            ]
        )
    records = len(new_records)

    rated = set(Rating.objects.filter(activity__in=activities).values_list("activity_id", flat=True))
    outs = Attendance.objects.filter(activity__in=activities, purpose=Purpose.CHECK_OUT).values_list(
        "activity_id", "user_id"
    )
    by_activity = {a.pk: a for a in activities}
    indicators: dict = {}
    ratings = []
    for activity_id, user_id in outs:
        seed = activity_id * 13 + user_id
        if activity_id in rated or seed % 4 == 0:
            continue
        hospital = rating_hospital(by_activity[activity_id])
        if hospital.pk not in indicators:
            indicators[hospital.pk] = indicators_for(hospital)
        scores = {str(i.pk): 3 + (seed + i.pk) % 3 for i in indicators[hospital.pk]}
        comment = "讲解清楚，病例很有代表性。" if seed % 5 == 0 else ""
        ratings.append(Rating(activity_id=activity_id, user_id=user_id, scores=scores, comment=comment))
    Rating.objects.bulk_create(ratings, ignore_conflicts=True)
    return f"{len(attendance)} attendance rows, {records} records, {len(ratings)} ratings"
