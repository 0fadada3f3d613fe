"""Rotation in practice: what happens while a resident is in a department.

入科教育 on arrival, the daily caseload (登记手册) the supervisor approves into the archive, leave
through approval with 销假 and a make-up ledger, the department's monthly attendance report, and
出科 (self-summary, the supervisor's assessment form, the head's agreement, the base's review).
Everything hangs off a RotationBlock, so access follows the schedule.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Hospital
from residents.models import ResidentProfile

from ..choices import (
    CaseloadKind,
    CaseSource,
    EntryStatus,
    ExitStage,
    LeaveKind,
    LeaveStatus,
    MakeupKind,
    ProcedureRole,
    ReportStatus,
)
from .schedule import RotationBlock

# --- 入科教育 ---------------------------------------------------------------------------------------


class EntryEducationTopic(models.Model):
    """One point of a department's entry-education checklist; department empty = the hospital's default list."""

    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="entry_topics",
    )
    title = models.CharField(_("topic"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("entry-education topic")
        verbose_name_plural = _("entry-education topics")
        ordering = ["department_id", "position", "pk"]

    def __str__(self) -> str:
        return self.title


class EntryEducation(models.Model):
    """入科教育 given for one block: who gave it, when, what it covered, and the resident's confirmation."""

    block = models.OneToOneField(
        RotationBlock, verbose_name=_("rotation block"), on_delete=models.CASCADE, related_name="entry_education"
    )
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("given by"), on_delete=models.PROTECT, related_name="+"
    )
    given_on = models.DateField(_("given on"))
    topics = models.ManyToManyField(EntryEducationTopic, verbose_name=_("topics covered"), related_name="+")
    note = models.TextField(_("note"), blank=True)
    confirmed_at = models.DateTimeField(_("confirmed by the resident at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("entry education")
        verbose_name_plural = _("entry educations")

    def __str__(self) -> str:
        return f"{self.block} · {self.given_on}"


# --- 登记手册: caseload --------------------------------------------------------------------------------


class CaseloadStandard(models.Model):
    """A quota of a department (e.g. 心血管内科: 心力衰竭 5 in a 4-month rotation), pro-rated by months."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="caseload_standards"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CaseloadKind.choices)
    name = models.CharField(_("name"), max_length=200)
    minimum = models.PositiveSmallIntegerField(_("required number"), default=0)
    standard_months = models.PositiveSmallIntegerField(
        _("for a rotation of (months)"), default=1, validators=[MinValueValidator(1)]
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("caseload standard")
        verbose_name_plural = _("caseload standards")
        ordering = ["department", "kind", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["department", "kind", "name"], name="caseload_standard_once")]

    def __str__(self) -> str:
        return f"{self.department} · {self.name} ≥ {self.minimum}"


class CaseloadEntry(models.Model):
    """One line of the 登记手册. Only approved entries count; an approved entry is corrected by a new one."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    block = models.ForeignKey(
        RotationBlock, verbose_name=_("rotation block"), on_delete=models.CASCADE, related_name="caseload"
    )
    resident = models.ForeignKey(
        ResidentProfile, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="caseload"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CaseloadKind.choices)
    day = models.DateField(_("date"))
    standard = models.ForeignKey(
        CaseloadStandard,
        verbose_name=_("standard item"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="entries",
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    patient_initials = models.CharField(_("patient initials"), max_length=16, blank=True)
    record_number = models.CharField(_("medical record number"), max_length=32, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=CaseSource.choices, blank=True)
    is_main = models.BooleanField(_("main diagnosis"), default=False)
    is_rescue = models.BooleanField(_("rescue"), default=False)
    role = models.CharField(_("role"), max_length=16, choices=ProcedureRole.choices, blank=True)
    succeeded = models.BooleanField(_("succeeded"), null=True, blank=True)
    failure_reason = models.CharField(_("reason for failure"), max_length=300, blank=True)
    content = models.TextField(_("content"), blank=True)
    count = models.PositiveSmallIntegerField(_("number"), default=1, validators=[MinValueValidator(1)])
    status = models.CharField(_("status"), max_length=16, choices=EntryStatus.choices, default=EntryStatus.SUBMITTED)
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    correction_reason = models.CharField(_("reason for the correction"), max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.CharField(_("supervisor's comment"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)  # compare-and-swap between editing and approving
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("caseload entry")
        verbose_name_plural = _("caseload entries")
        ordering = ["-day", "-pk"]
        indexes = [
            models.Index(fields=["block", "status", "day"]),
            models.Index(fields=["resident", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.resident} · {self.day} · {self.name or self.get_kind_display()}"


class Attachment(models.Model):
    """A stored upload (GridFS), served only through a permission-checked view."""

    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=128)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.original_name


class CaseloadAttachment(Attachment):
    entry = models.ForeignKey(CaseloadEntry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="rotation/caseload/%Y/%m/", max_length=255)

    class Meta:
        verbose_name = _("caseload attachment")
        verbose_name_plural = _("caseload attachments")


# --- leave ------------------------------------------------------------------------------------------


class LeaveSettings(models.Model):
    """The hospital's leave rules (national rules leave them to each hospital; these are the shipped examples)."""

    hospital = models.OneToOneField(Hospital, on_delete=models.CASCADE, related_name="leave_settings")
    block_fail_ratio = models.DecimalField(
        _("leave above this share of a block fails its 出科"), max_digits=4, decimal_places=3, default=0.333
    )
    # [{"over_days": 90, "extend_months": 6}, {"over_days": 180, "extend_months": 12}]
    extension_rules = models.JSONField(_("training extension by cumulative leave"), default=list, blank=True)
    makeup_over_days = models.PositiveSmallIntegerField(
        _("leave beyond this many days in one request is made up"), default=30
    )
    annual_leave_days = models.PositiveSmallIntegerField(_("annual leave days per year"), default=5)

    class Meta:
        verbose_name = _("leave settings")
        verbose_name_plural = _("leave settings")

    def __str__(self) -> str:
        return str(self.hospital)


class LeaveRequest(models.Model):
    """A leave request, decided through the approval engine (workflow rotation.leave, chain by length)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(
        ResidentProfile, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="leave_requests"
    )
    block = models.ForeignKey(
        RotationBlock,
        verbose_name=_("rotation block"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leave_requests",
    )
    kind = models.CharField(_("type"), max_length=16, choices=LeaveKind.choices)
    start_date = models.DateField(_("from"))
    start_afternoon = models.BooleanField(_("from the afternoon"), default=False)
    end_date = models.DateField(_("until"))
    end_morning = models.BooleanField(_("until noon"), default=False)
    days = models.DecimalField(_("days"), max_digits=5, decimal_places=1)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, choices=LeaveStatus.choices, default=LeaveStatus.PENDING)
    returned_on = models.DateField(_("back at work on"), null=True, blank=True)  # 销假
    returned_confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("leave request")
        verbose_name_plural = _("leave requests")
        ordering = ["-start_date", "-pk"]
        indexes = [models.Index(fields=["resident", "status", "start_date"])]
        constraints = [
            models.CheckConstraint(name="leave_ordered", condition=Q(end_date__gte=F("start_date"))),
        ]

    def __str__(self) -> str:
        return f"{self.resident} · {self.get_kind_display()} · {self.start_date}"


class LeaveAttachment(Attachment):
    request = models.ForeignKey(LeaveRequest, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="rotation/leave/%Y/%m/", max_length=255)

    class Meta:
        verbose_name = _("leave attachment")
        verbose_name_plural = _("leave attachments")


class MakeupEntry(models.Model):
    """The make-up ledger: days owed (from leave) and days made up; the balance must be 0 for 结业."""

    resident = models.ForeignKey(
        ResidentProfile, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="makeup_entries"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MakeupKind.choices)
    days = models.DecimalField(_("days"), max_digits=5, decimal_places=1, validators=[MinValueValidator(0)])
    day = models.DateField(_("date"))
    leave = models.ForeignKey(
        LeaveRequest, verbose_name=_("leave"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("make-up entry")
        verbose_name_plural = _("make-up entries")
        ordering = ["resident", "day", "pk"]

    def __str__(self) -> str:
        return f"{self.resident} · {self.get_kind_display()} {self.days}"


# --- monthly attendance -------------------------------------------------------------------------


class AttendanceReport(models.Model):
    """A department's month of attendance: the clerk fills it, the head and the office approve, then it locks."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="attendance_reports"
    )
    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.TextField(_("reason for reopening"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attendance report")
        verbose_name_plural = _("attendance reports")
        ordering = ["-month", "department"]
        constraints = [
            models.UniqueConstraint(fields=["department", "month"], name="attendance_once_per_month"),
            models.CheckConstraint(name="attendance_month_first_day", condition=Q(month__day=1)),
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.month:%Y-%m}"


class AttendanceLine(models.Model):
    """One resident in the report: days present by the schedule, leave (from approved requests), duty, absences."""

    report = models.ForeignKey(AttendanceReport, on_delete=models.CASCADE, related_name="lines")
    resident = models.ForeignKey(
        ResidentProfile, verbose_name=_("resident"), on_delete=models.PROTECT, related_name="+"
    )
    block = models.ForeignKey(RotationBlock, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scheduled_days = models.PositiveSmallIntegerField(_("working days in the department"), default=0)
    leave_days = models.DecimalField(_("leave days"), max_digits=4, decimal_places=1, default=0)
    duty_days = models.PositiveSmallIntegerField(_("duty days (值班)"), default=0, validators=[MaxValueValidator(31)])
    absence_days = models.DecimalField(_("absence days"), max_digits=4, decimal_places=1, default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("attendance line")
        verbose_name_plural = _("attendance lines")
        ordering = ["report", "resident__user__real_name"]
        constraints = [models.UniqueConstraint(fields=["report", "resident"], name="attendance_line_once")]

    def __str__(self) -> str:
        return f"{self.report} · {self.resident}"


# --- 出科 -------------------------------------------------------------------------------------------


class ExitForm(models.Model):
    """The 出科考核表: items and points (daily performance and the exit exam) and the pass rules, as data.

    department empty = the hospital's default form. items: [{"key", "label", "section": "daily"|"exam",
    "points"}]; the shipped default follows standards.md (daily performance 50 %, theory and skills 50 %).
    """

    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="exit_forms",
    )
    name = models.CharField(_("name"), max_length=100)
    items = models.JSONField(_("items"), default=list)
    pass_mark = models.PositiveSmallIntegerField(_("pass mark"), default=60)
    quota_gate = models.DecimalField(_("caseload completion needed"), max_digits=3, decimal_places=2, default=0.8)
    require_evaluation = models.BooleanField(
        _("evaluate the teacher and department before the self-summary"), default=False
    )

    class Meta:
        verbose_name = _("exit assessment form")
        verbose_name_plural = _("exit assessment forms")
        constraints = [models.UniqueConstraint(fields=["hospital", "department"], name="exit_form_once_per_department")]

    def __str__(self) -> str:
        return self.name


class ExitReview(models.Model):
    """出科 of one block, from the resident's self-summary to the base's review; the result goes to the archive."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    block = models.OneToOneField(
        RotationBlock, verbose_name=_("rotation block"), on_delete=models.CASCADE, related_name="exit_review"
    )
    stage = models.CharField(_("stage"), max_length=16, choices=ExitStage.choices, default=ExitStage.SUMMARY)
    summary = models.TextField(_("self-summary (出科小结)"), blank=True)
    summary_at = models.DateTimeField(null=True, blank=True)
    form = models.ForeignKey(ExitForm, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scores = models.JSONField(_("scores"), default=dict, blank=True)  # item key -> points given
    theory_score = models.DecimalField(_("theory exam score"), max_digits=5, decimal_places=1, null=True, blank=True)
    total = models.DecimalField(_("total"), max_digits=5, decimal_places=1, null=True, blank=True)
    auto_fail = models.JSONField(_("automatic fail reasons"), default=list, blank=True)
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessor_comment = models.TextField(_("supervisor's comment"), blank=True)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    head_agreed = models.BooleanField(_("department head agrees (同意出科)"), null=True, blank=True)
    head_comment = models.TextField(_("department head's comment"), blank=True)
    head_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(_("base's comment"), blank=True)
    passed = models.BooleanField(_("passed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exit review")
        verbose_name_plural = _("exit reviews")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.block} · {self.get_stage_display()}"


class MakeupTask(models.Model):
    """What a failed 出科 leaves: a make-up rotation or exam, open until the office marks it done."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(
        ResidentProfile, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="makeup_tasks"
    )
    review = models.OneToOneField(ExitReview, on_delete=models.CASCADE, related_name="makeup_task")
    reason = models.TextField(_("reason"))
    due_date = models.DateField(_("due by"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("make-up task")
        verbose_name_plural = _("make-up tasks")
        ordering = ["done_at", "due_date"]

    def __str__(self) -> str:
        return f"{self.resident} · {self.review.block}"
