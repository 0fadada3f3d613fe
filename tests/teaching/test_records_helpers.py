"""Shared builders for the records and statistics tests: activities and attendance made with the models."""

import datetime
from decimal import Decimal

from django.utils import timezone

from teaching.choices import ActivityStatus, Audience, Method, Purpose
from teaching.models import Activity, ActivityType, Attendance


def activity_type(hospital, code="LEC", name="小讲课", hours="1.0"):
    return ActivityType.objects.get_or_create(
        hospital=hospital, code=code, defaults={"name": name, "default_hours": Decimal(hours)}
    )[0]


def make_activity(
    department,
    teacher,
    *,
    kind=None,
    starts_at=None,
    hours="1.0",
    audience=Audience.DEPARTMENT,
    status=ActivityStatus.APPROVED,
    title="心衰的规范化治疗",
):
    starts_at = starts_at or timezone.now() - datetime.timedelta(hours=3)
    return Activity.objects.create(
        department=department,
        activity_type=kind or activity_type(department.hospital),
        title=title,
        teacher=teacher,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(hours=1),
        place="示教室",
        audience=audience,
        hours=Decimal(hours),
        status=status,
        created_by=teacher,
    )


def attend(activity, user, *purposes, manual=False):
    for purpose in purposes or (Purpose.CHECK_IN, Purpose.CHECK_OUT):
        Attendance.objects.create(
            activity=activity,
            user=user,
            purpose=purpose,
            at=activity.starts_at,
            method=Method.MANUAL if manual else Method.SCAN,
            reason="忘带手机" if manual else "",
        )
