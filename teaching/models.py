"""Teaching activities: types and frequency rules, monthly plans approved before anyone teaches,
the activities on the calendar, QR check-in/out (server-signed rotating tokens), records with
photos and slides the office reviews, and residents' ratings.

An attendance row is unique per (activity, user, purpose): a second scan changes nothing. Credit
(学时) needs both a check-in and a check-out.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Hospital, SpecialtyBase

from .choices import ActivityStatus, Audience, FileKind, Method, PlanStatus, Purpose, RecordStatus


class ActivityType(models.Model):
    """教学查房, 小讲课, 教学病例讨论...: with the credit hours (学时) one session gives."""

    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=60)
    default_hours = models.DecimalField(_("credit hours"), max_digits=4, decimal_places=1, default=1)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("activity type")
        verbose_name_plural = _("activity types")
        ordering = ["hospital", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["hospital", "code"], name="activity_type_code_once")]

    def __str__(self) -> str:
        return self.name


class FrequencyRule(models.Model):
    """At least `count` activities of a type every `per_days` days, for every department (or one base's)."""

    activity_type = models.ForeignKey(
        ActivityType, verbose_name=_("activity type"), on_delete=models.CASCADE, related_name="rules"
    )
    base = models.ForeignKey(
        SpecialtyBase, verbose_name=_("specialty base"), null=True, blank=True, on_delete=models.CASCADE
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    count = models.PositiveSmallIntegerField(_("at least"), default=1, validators=[MinValueValidator(1)])
    per_days = models.PositiveSmallIntegerField(_("every (days)"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("frequency rule")
        verbose_name_plural = _("frequency rules")

    def __str__(self) -> str:
        return f"{self.activity_type} ≥ {self.count}/{self.per_days}d"


class TeachingPlan(models.Model):
    """A department's month of teaching, built by the teaching secretary and approved before it happens."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="teaching_plans"
    )
    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("teaching plan")
        verbose_name_plural = _("teaching plans")
        ordering = ["-month", "department"]
        constraints = [
            models.UniqueConstraint(fields=["department", "month"], name="teaching_plan_once_per_month"),
            models.CheckConstraint(name="teaching_plan_first_day", condition=Q(month__day=1)),
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.month:%Y-%m}"


class Activity(models.Model):
    """One teaching session on the calendar."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(
        TeachingPlan, verbose_name=_("plan"), null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="teaching_activities"
    )
    activity_type = models.ForeignKey(
        ActivityType, verbose_name=_("type"), on_delete=models.PROTECT, related_name="activities"
    )
    title = models.CharField(_("title"), max_length=200)
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("teacher"), on_delete=models.PROTECT, related_name="taught_activities"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place"), max_length=100)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices, default=Audience.DEPARTMENT)
    audience_base = models.ForeignKey(
        SpecialtyBase, verbose_name=_("base"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    capacity = models.PositiveSmallIntegerField(_("capacity"), null=True, blank=True)
    hours = models.DecimalField(_("credit hours"), max_digits=4, decimal_places=1, default=1)
    status = models.CharField(
        _("status"), max_length=16, choices=ActivityStatus.choices, default=ActivityStatus.PLANNED
    )
    random_checks = models.PositiveSmallIntegerField(_("random checks"), default=0, validators=[MaxValueValidator(3)])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("teaching activity")
        verbose_name_plural = _("teaching activities")
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["department", "starts_at"]),
            models.Index(fields=["teacher", "starts_at"]),
            models.Index(fields=["status", "starts_at"]),
        ]
        constraints = [models.CheckConstraint(name="activity_ordered", condition=Q(ends_at__gt=F("starts_at")))]

    def __str__(self) -> str:
        return f"{self.title} · {self.starts_at:%Y-%m-%d %H:%M}"


class Attendance(models.Model):
    """A check-in, check-out or random check of one user at one activity (one of each, by the database)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teaching_attendance")
    purpose = models.CharField(_("purpose"), max_length=8, choices=Purpose.choices)
    at = models.DateTimeField(_("at"))
    method = models.CharField(_("method"), max_length=8, choices=Method.choices, default=Method.SCAN)
    reason = models.CharField(_("reason"), max_length=300, blank=True)  # marked by hand: mandatory
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    device = models.CharField(max_length=64, blank=True)  # digest of the signed long-lived device cookie
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["activity", "at"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "user", "purpose"], name="attendance_once_per_purpose")
        ]
        indexes = [models.Index(fields=["user", "purpose"]), models.Index(fields=["activity", "device"])]

    def __str__(self) -> str:
        return f"{self.activity} · {self.user} · {self.purpose}"


class ScanFailure(models.Model):
    """A refused scan (forged, expired, another activity, outside the window): kept for the anomaly report."""

    activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=32)
    ip = models.GenericIPAddressField(null=True, blank=True)
    device = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("refused scan")
        verbose_name_plural = _("refused scans")
        ordering = ["-at"]
        indexes = [models.Index(fields=["at"]), models.Index(fields=["ip", "at"])]

    def __str__(self) -> str:
        return f"{self.reason} · {self.at:%Y-%m-%d %H:%M}"


class ActivityRecord(models.Model):
    """What happened: summary, live photos and slides, reviewed by the training office."""

    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="record")
    summary = models.TextField(_("summary"))
    status = models.CharField(_("status"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.SUBMITTED)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("activity record")
        verbose_name_plural = _("activity records")

    def __str__(self) -> str:
        return str(self.activity)


class RecordFile(models.Model):
    record = models.ForeignKey(ActivityRecord, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(_("kind"), max_length=8, choices=FileKind.choices)
    file = models.FileField(_("file"), upload_to="teaching/records/%Y/%m/", max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=128)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("record file")
        verbose_name_plural = _("record files")

    def __str__(self) -> str:
        return self.original_name


class RatingIndicator(models.Model):
    """One question residents rate an activity on (1–5 stars)."""

    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("indicator"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("rating indicator")
        verbose_name_plural = _("rating indicators")
        ordering = ["hospital", "position", "pk"]

    def __str__(self) -> str:
        return self.name


class Rating(models.Model):
    """A resident's rating of an activity they checked out of; teachers see aggregates of 3 or more only."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scores = models.JSONField(_("scores"), default=dict)  # indicator id -> 1..5
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [models.UniqueConstraint(fields=["activity", "user"], name="rating_once_per_activity")]

    def __str__(self) -> str:
        return f"{self.activity} · {self.user}"
