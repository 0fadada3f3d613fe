"""The faculty archive (带教师资): titles, 指导医师准入, faculty development, posts, yearly assessment."""

import uuid
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, SpecialtyBase
from core.pinyin import initials

from .choices import AchievementKind, AssessmentResult, TeachingPostKind, Title, TrainingLevel


class QualificationRule(models.Model):
    """The 指导医师准入 rule, as data the office edits (it differs between provinces)."""

    min_title = models.CharField(_("minimum title"), max_length=20, choices=Title.choices, default=Title.ATTENDING)
    min_teaching_years = models.PositiveSmallIntegerField(_("minimum years of teaching"), default=2)
    validity_years = models.PositiveSmallIntegerField(
        _("years a qualification stays valid"), default=3, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("supervisor qualification rule")
        verbose_name_plural = _("supervisor qualification rule")

    def __str__(self) -> str:
        return str(_("Supervisor qualification rule"))

    @classmethod
    def current(cls) -> "QualificationRule":
        rule = cls.objects.order_by("pk").first()
        return rule if rule is not None else cls.objects.create()


class FacultyProfile(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.PROTECT, related_name="faculty_profile"
    )
    name_initials = models.CharField(max_length=50, blank=True, db_index=True, editable=False)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="faculty"
    )
    title = models.CharField(_("professional title"), max_length=20, choices=Title.choices)
    title_since = models.DateField(_("title held since"), null=True, blank=True)
    teaching_since = models.DateField(_("teaching since"), null=True, blank=True)
    specialty = models.CharField(_("specialty"), max_length=100, blank=True)
    education = models.CharField(_("highest education"), max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("faculty archive")
        verbose_name_plural = _("faculty archives")
        ordering = ["department__code", "user__real_name"]

    def __str__(self) -> str:
        return self.user.display_name

    def save(self, *args, **kwargs) -> None:
        self.name_initials = initials(self.user.real_name)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_initials"}
        super().save(*args, **kwargs)

    def teaching_years(self, on: date | None = None) -> int:
        if not self.teaching_since:
            return 0
        on = on or timezone.localdate()
        years = on.year - self.teaching_since.year
        if (on.month, on.day) < (self.teaching_since.month, self.teaching_since.day):
            years -= 1
        return max(years, 0)


class QualificationQuerySet(models.QuerySet):
    def valid_on(self, day: date | None = None):
        day = day or timezone.localdate()
        return self.filter(
            Q(granted_on__lte=day), Q(expires_on__isnull=True) | Q(expires_on__gte=day), revoked_on__isnull=True
        )


class SupervisorQualification(models.Model):
    """指导医师准入: granted by the office when the rule is met; lapses at expiry or when revoked."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    faculty = models.ForeignKey(FacultyProfile, on_delete=models.CASCADE, related_name="qualifications")
    granted_on = models.DateField(_("granted on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_on = models.DateField(_("revoked on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = QualificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("supervisor qualification")
        verbose_name_plural = _("supervisor qualifications")
        ordering = ["faculty", "-granted_on"]
        constraints = [
            models.CheckConstraint(
                name="qualification_period_ordered",
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=models.F("granted_on")),
            )
        ]

    def __str__(self) -> str:
        return f"{self.faculty} · {self.granted_on}"

    def is_valid(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        return (
            self.revoked_on is None and self.granted_on <= day and (self.expires_on is None or self.expires_on >= day)
        )


class FacultyTraining(models.Model):
    """师资培训: faculty-development courses attended, with their certificates."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    faculty = models.ForeignKey(FacultyProfile, on_delete=models.CASCADE, related_name="trainings")
    name = models.CharField(_("course"), max_length=150)
    organiser = models.CharField(_("organiser"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=TrainingLevel.choices)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1, null=True, blank=True)
    certificate_number = models.CharField(_("certificate number"), max_length=60, blank=True)
    certificate = models.FileField(_("certificate"), upload_to="faculty/certificates/%Y/", max_length=255, blank=True)
    certificate_name = models.CharField(max_length=200, blank=True, editable=False)
    certificate_type = models.CharField(max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("faculty development training")
        verbose_name_plural = _("faculty development trainings")
        ordering = ["faculty", "-start_date"]

    def __str__(self) -> str:
        return self.name


class TeachingPost(models.Model):
    """Teaching posts held (教学主任 and others that are not sign-in roles), with their periods."""

    faculty = models.ForeignKey(FacultyProfile, on_delete=models.CASCADE, related_name="teaching_posts")
    kind = models.CharField(_("post"), max_length=20, choices=TeachingPostKind.choices)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    base = models.ForeignKey(
        SpecialtyBase,
        verbose_name=_("specialty base"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("teaching post")
        verbose_name_plural = _("teaching posts")
        ordering = ["faculty", "-start_date"]

    def __str__(self) -> str:
        return self.get_kind_display()


class AnnualAssessment(models.Model):
    """年度考核 of a teacher's teaching work."""

    faculty = models.ForeignKey(FacultyProfile, on_delete=models.CASCADE, related_name="assessments")
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    result = models.CharField(_("result"), max_length=16, choices=AssessmentResult.choices)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("annual teaching assessment")
        verbose_name_plural = _("annual teaching assessments")
        ordering = ["faculty", "-year"]
        constraints = [models.UniqueConstraint(fields=["faculty", "year"], name="one_assessment_per_year")]

    def __str__(self) -> str:
        return f"{self.faculty} · {self.year}"


class Achievement(models.Model):
    faculty = models.ForeignKey(FacultyProfile, on_delete=models.CASCADE, related_name="achievements")
    kind = models.CharField(_("kind"), max_length=16, choices=AchievementKind.choices)
    title = models.CharField(_("title"), max_length=200)
    date = models.DateField(_("date"))
    level = models.CharField(_("level"), max_length=50, blank=True)
    detail = models.CharField(_("details"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("teaching achievement")
        verbose_name_plural = _("teaching achievements")
        ordering = ["faculty", "-date"]

    def __str__(self) -> str:
        return self.title
