"""Rotation blocks: a resident in a department for a period, with their one-to-one supervisor.

Programmes say what residents must rotate through; department settings say how many each
department takes; the scheduler turns both into ScheduleRuns, and publishing a run writes the
residents' RotationBlocks (the schedule everyone else reads: access, timelines, supervision).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Hospital, SpecialtyBase
from residents.models import ResidentProfile

from ..choices import EntryKind, RequirementKind, RunScope, RunStatus


class RotationBlock(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(
        ResidentProfile, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="rotation_blocks"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="rotation_blocks"
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"))
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("supervising doctor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_blocks",
    )
    run = models.ForeignKey(
        "ScheduleRun",
        verbose_name=_("published in"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="blocks",
    )
    supervisor_assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supervisor_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rotation block")
        verbose_name_plural = _("rotation blocks")
        ordering = ["resident", "start_date"]
        indexes = [models.Index(fields=["department", "end_date"]), models.Index(fields=["supervisor"])]
        constraints = [
            models.CheckConstraint(name="rotation_block_ordered", condition=Q(end_date__gte=models.F("start_date")))
        ]

    def __str__(self) -> str:
        return f"{self.resident} · {self.department} · {self.start_date:%Y-%m}"


class Programme(models.Model):
    """轮转方案 of a specialty base: what its residents must rotate through, as data the office edits."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    base = models.OneToOneField(
        SpecialtyBase, verbose_name=_("specialty base"), on_delete=models.CASCADE, related_name="programme"
    )
    code = models.CharField(_("specialty code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)
    total_months = models.PositiveSmallIntegerField(_("rotation months"), validators=[MaxValueValidator(72)])
    source = models.TextField(_("source"), blank=True)
    confirmed = models.BooleanField(_("confirmed national table"), default=False)
    max_sites = models.PositiveSmallIntegerField(_("max collaborating sites"), null=True, blank=True)
    max_site_departments = models.PositiveSmallIntegerField(
        _("max departments at collaborating sites"), null=True, blank=True
    )
    max_site_months = models.PositiveSmallIntegerField(_("max months at collaborating sites"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rotation programme")
        verbose_name_plural = _("rotation programmes")
        ordering = ["base__code"]

    def __str__(self) -> str:
        return f"{self.base} · {self.name}"


class ProgrammeRequirement(models.Model):
    """A mandatory department (months, runs) or an elective group (choose K of the options, M months each)."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="requirements"
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    kind = models.CharField(
        _("kind"), max_length=16, choices=RequirementKind.choices, default=RequirementKind.MANDATORY
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    options = models.ManyToManyField(Department, verbose_name=_("options"), blank=True, related_name="+")
    months = models.PositiveSmallIntegerField(
        _("months"), validators=[MinValueValidator(1), MaxValueValidator(36)], help_text=_("for a group: months each")
    )
    choose = models.PositiveSmallIntegerField(_("choose"), default=1, validators=[MinValueValidator(1)])
    max_runs = models.PositiveSmallIntegerField(
        _("at most this many separate periods"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(6)],
        help_text=_("1 = the months form one continuous block"),
    )
    year_minimum = models.JSONField(
        _("months required per training year"),
        default=dict,
        blank=True,
        help_text=_('e.g. {"1": 2}: at least 2 of the months in the first training year'),
    )

    class Meta:
        verbose_name = _("programme requirement")
        verbose_name_plural = _("programme requirements")
        ordering = ["programme", "position", "pk"]

    def __str__(self) -> str:
        if self.kind == RequirementKind.MANDATORY:
            return f"{self.department} · {self.months}"
        return f"{self.choose} × {self.months}"


class DepartmentSetting(models.Model):
    """A department's defaults for rotation: how many residents at once, and per supervisor."""

    department = models.OneToOneField(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="rotation_setting"
    )
    capacity = models.PositiveSmallIntegerField(_("maximum residents per month"), default=10)
    minimum = models.PositiveSmallIntegerField(_("minimum residents per month"), default=0)
    residents_per_supervisor = models.PositiveSmallIntegerField(
        _("residents per supervising doctor at a time"), default=3, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("department rotation setting")
        verbose_name_plural = _("department rotation settings")

    def __str__(self) -> str:
        return str(self.department)


class DepartmentMonth(models.Model):
    """An exception to a department's defaults for one month: another capacity, or closed to rotation."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="rotation_months"
    )
    month = models.DateField(_("month"), help_text=_("the first day of the month"))
    capacity = models.PositiveSmallIntegerField(_("maximum residents"), null=True, blank=True)
    minimum = models.PositiveSmallIntegerField(_("minimum residents"), null=True, blank=True)
    closed = models.BooleanField(_("closed to rotation"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("department month")
        verbose_name_plural = _("department months")
        ordering = ["department", "month"]
        constraints = [
            models.UniqueConstraint(fields=["department", "month"], name="department_month_unique"),
            models.CheckConstraint(name="department_month_first_day", condition=Q(month__day=1)),
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.month:%Y-%m}"


class DepartmentSupervisor(models.Model):
    """指导医师分配: a supervising doctor the department makes available for one-to-one supervision."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="rotation_supervisors"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("supervising doctor"),
        on_delete=models.CASCADE,
        related_name="rotation_departments",
    )
    max_residents = models.PositiveSmallIntegerField(
        _("residents at a time"), null=True, blank=True, help_text=_("empty: the department's setting")
    )
    is_active = models.BooleanField(_("available"), default=True)

    class Meta:
        verbose_name = _("department supervisor")
        verbose_name_plural = _("department supervisors")
        constraints = [models.UniqueConstraint(fields=["department", "user"], name="department_supervisor_once")]

    def __str__(self) -> str:
        return f"{self.department} · {self.user}"


class PreferenceWindow(models.Model):
    """A period the office opens for residents to rank their electives."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.CASCADE, related_name="+")
    base = models.ForeignKey(
        SpecialtyBase, verbose_name=_("specialty base"), null=True, blank=True, on_delete=models.CASCADE
    )
    cohort = models.PositiveSmallIntegerField(_("cohort"), null=True, blank=True)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("elective preference window")
        verbose_name_plural = _("elective preference windows")
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(name="preference_window_ordered", condition=Q(closes_at__gt=models.F("opens_at")))
        ]

    def __str__(self) -> str:
        return f"{self.opens_at:%Y-%m-%d} – {self.closes_at:%Y-%m-%d}"


class ElectivePreference(models.Model):
    """A resident's ranking of one option of an elective group (rank 1 = most wanted)."""

    resident = models.ForeignKey(
        ResidentProfile, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="elective_preferences"
    )
    requirement = models.ForeignKey(
        ProgrammeRequirement, verbose_name=_("elective group"), on_delete=models.CASCADE, related_name="preferences"
    )
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField(_("rank"), validators=[MinValueValidator(1)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("elective preference")
        verbose_name_plural = _("elective preferences")
        ordering = ["resident", "requirement", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "requirement", "rank"], name="elective_rank_once"),
            models.UniqueConstraint(fields=["resident", "requirement", "department"], name="elective_option_once"),
        ]

    def __str__(self) -> str:
        return f"{self.resident} · {self.rank}. {self.department}"


class ScheduleRun(models.Model):
    """One run of the scheduler: a draft to review, then (maybe) a published version of the schedule."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(_("scope"), max_length=16, choices=RunScope.choices, default=RunScope.HOSPITAL)
    base = models.ForeignKey(
        SpecialtyBase, verbose_name=_("specialty base"), null=True, blank=True, on_delete=models.PROTECT
    )
    cohort = models.PositiveSmallIntegerField(_("cohort"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.FloatField(_("progress"), default=0)
    message = models.CharField(_("message"), max_length=300, blank=True)
    time_limit = models.PositiveSmallIntegerField(_("time limit (seconds)"), default=60)
    seed = models.PositiveIntegerField(default=0)
    # figures: imbalance sum/max, lower bound, capacity overflow, preferences met, changes, residents
    stats = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    explanation = models.JSONField(default=list, blank=True)  # why no schedule exists (office's terms)
    previous = models.ForeignKey(
        "self", verbose_name=_("compared with"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("schedule run")
        verbose_name_plural = _("schedule runs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["hospital", "status", "-created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "version"], name="schedule_version_once_per_hospital")
        ]

    def __str__(self) -> str:
        if self.version:
            return _("Schedule v%(version)s") % {"version": self.version}
        return _("Schedule draft of %(date)s") % {"date": self.created_at.date() if self.created_at else ""}


class ScheduleEntry(models.Model):
    """One resident-month of a run. A published run's entries become the residents' RotationBlocks."""

    run = models.ForeignKey(ScheduleRun, on_delete=models.CASCADE, related_name="entries")
    resident = models.ForeignKey(ResidentProfile, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices, default=EntryKind.ROTATION)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pinned = models.BooleanField(_("kept"), default=False)

    class Meta:
        verbose_name = _("schedule entry")
        verbose_name_plural = _("schedule entries")
        ordering = ["run", "resident", "month"]
        constraints = [models.UniqueConstraint(fields=["run", "resident", "month"], name="schedule_entry_once")]
        indexes = [models.Index(fields=["run", "department", "month"])]

    def __str__(self) -> str:
        return f"{self.resident} · {self.month:%Y-%m} · {self.department or self.get_kind_display()}"


class FeedToken(models.Model):
    """The secret in a user's iCal feed address; resetting it revokes every old subscription."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rotation_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(self.user)


class ScheduleChange(models.Model):
    """A manual change to a published schedule (move or swap months), applied once the base approves."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(ScheduleRun, verbose_name=_("schedule"), on_delete=models.CASCADE, related_name="changes")
    residents = models.ManyToManyField(ResidentProfile, verbose_name=_("residents"), related_name="+")
    # [{"resident": id, "month": "2026-03-01", "from": department id or None, "to": department id or None}]
    moves = models.JSONField(_("moves"), default=list)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, default="pending")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("schedule change")
        verbose_name_plural = _("schedule changes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.run} · {self.created_at:%Y-%m-%d}"
