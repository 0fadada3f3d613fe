"""The resident e-archive (电子档案) and enrollment.

One `ResidentProfile` per resident account; the account (accounts.User) keeps what every
person has (name, phone, encrypted ID number), the profile what only residents have.
Training fields (base, cohort, status, planned end) change only through an approved
`TrainingChange`; every other edit leaves an `ArchiveRevision`.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Hospital, SpecialtyBase
from core.pinyin import initials

from .choices import (
    BatchStatus,
    CertificateKind,
    ChangeKind,
    ChangeState,
    ConductKind,
    Degree,
    DegreeType,
    EducationLevel,
    Gender,
    PoliticalStatus,
    RevisionSource,
    TrainingCategory,
    TrainingStatus,
)


class EnrollmentBatch(models.Model):
    """录取批次: one admission round of a year, with a quota per specialty base."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(_("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    start_date = models.DateField(_("training starts on"))
    note = models.TextField(_("note"), blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)

    class Meta:
        verbose_name = _("enrollment batch")
        verbose_name_plural = _("enrollment batches")
        ordering = ["-year", "name"]
        constraints = [models.UniqueConstraint(fields=["hospital", "year", "name"], name="batch_name_unique_per_year")]

    def __str__(self) -> str:
        return f"{self.year} · {self.name}"

    @property
    def is_open(self) -> bool:
        return self.status == BatchStatus.OPEN


class EnrollmentQuota(models.Model):
    batch = models.ForeignKey(EnrollmentBatch, on_delete=models.CASCADE, related_name="quotas")
    base = models.ForeignKey(
        SpecialtyBase, verbose_name=_("specialty base"), on_delete=models.PROTECT, related_name="+"
    )
    quota = models.PositiveIntegerField(_("quota"))

    class Meta:
        verbose_name = _("enrollment quota")
        verbose_name_plural = _("enrollment quotas")
        ordering = ["batch", "base__code"]
        constraints = [models.UniqueConstraint(fields=["batch", "base"], name="quota_unique_per_batch_base")]

    def __str__(self) -> str:
        return f"{self.base} · {self.quota}"


class ResidentProfile(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.PROTECT, related_name="resident_profile"
    )
    #: pinyin initials of the real name, so "lzy" finds 李住院 (kept by save())
    name_initials = models.CharField(max_length=50, blank=True, db_index=True, editable=False)

    # Personal
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    political_status = models.CharField(
        _("political status"), max_length=20, choices=PoliticalStatus.choices, blank=True
    )
    photo = models.FileField(_("photo"), upload_to="residents/photos/%Y/", max_length=255, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)

    # Education
    school = models.CharField(_("school"), max_length=100, blank=True)
    major = models.CharField(_("major"), max_length=100, blank=True)
    education_level = models.CharField(_("education level"), max_length=20, choices=EducationLevel.choices, blank=True)
    degree = models.CharField(_("degree"), max_length=20, choices=Degree.choices, blank=True)
    degree_type = models.CharField(_("degree type"), max_length=20, choices=DegreeType.choices, blank=True)
    graduation_date = models.DateField(_("graduation date"), null=True, blank=True)
    fresh_graduate = models.BooleanField(_("fresh graduate"), default=False)

    # Licence
    has_qualification = models.BooleanField(_("holds the physician qualification certificate"), default=False)
    qualification_number = models.CharField(_("qualification certificate number"), max_length=40, blank=True)
    qualification_date = models.DateField(_("qualification date"), null=True, blank=True)
    practising_number = models.CharField(_("practising certificate number"), max_length=40, blank=True)
    practising_registration = models.CharField(_("practising registration"), max_length=200, blank=True)

    # Training
    category = models.CharField(
        _("training category"), max_length=16, choices=TrainingCategory.choices, default=TrainingCategory.SOCIAL
    )
    sending_unit = models.CharField(_("sending unit"), max_length=100, blank=True)
    base = models.ForeignKey(
        SpecialtyBase, verbose_name=_("specialty base"), on_delete=models.PROTECT, related_name="residents"
    )
    cohort = models.PositiveSmallIntegerField(
        _("cohort"), validators=[MinValueValidator(2000), MaxValueValidator(2100)], db_index=True
    )
    training_years = models.PositiveSmallIntegerField(
        _("training years"), choices=[(1, "1"), (2, "2"), (3, "3")], default=3
    )
    start_date = models.DateField(_("training start date"))
    planned_end_date = models.DateField(_("planned end date"))
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible mentor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mentored_residents",
    )
    status = models.CharField(
        _("training status"), max_length=16, choices=TrainingStatus.choices, default=TrainingStatus.IN_TRAINING
    )
    status_since = models.DateField(_("status since"), null=True, blank=True)
    batch = models.ForeignKey(
        EnrollmentBatch,
        verbose_name=_("enrollment batch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="residents",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("resident archive")
        verbose_name_plural = _("resident archives")
        ordering = ["-cohort", "base__code", "user__real_name"]
        indexes = [models.Index(fields=["base", "cohort", "status"])]

    def __str__(self) -> str:
        return self.user.display_name

    def save(self, *args, **kwargs) -> None:
        self.name_initials = initials(self.user.real_name)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_initials"}
        super().save(*args, **kwargs)


class EmergencyContact(models.Model):
    resident = models.ForeignKey(ResidentProfile, on_delete=models.CASCADE, related_name="emergency_contacts")
    name = models.CharField(_("name"), max_length=50)
    relation = models.CharField(_("relation"), max_length=20)
    phone = models.CharField(_("phone"), max_length=20)

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering = ["resident", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.relation})"


class Post(models.Model):
    """职务 held during training, e.g. 总住院医师, 班长."""

    resident = models.ForeignKey(ResidentProfile, on_delete=models.CASCADE, related_name="posts")
    title = models.CharField(_("post"), max_length=50)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("post held")
        verbose_name_plural = _("posts held")
        ordering = ["resident", "-start_date"]

    def __str__(self) -> str:
        return self.title


class ConductRecord(models.Model):
    """Awards, commendations and disciplinary records; an open disciplinary case blocks completion."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(ResidentProfile, on_delete=models.CASCADE, related_name="conduct_records")
    kind = models.CharField(_("kind"), max_length=16, choices=ConductKind.choices)
    title = models.CharField(_("title"), max_length=100)
    date = models.DateField(_("date"))
    issuer = models.CharField(_("issued by"), max_length=100, blank=True)
    detail = models.TextField(_("details"), blank=True)
    is_closed = models.BooleanField(_("closed"), default=True, help_text=_("Disciplinary cases: closed or open."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("award or disciplinary record")
        verbose_name_plural = _("awards and disciplinary records")
        ordering = ["resident", "-date"]

    def __str__(self) -> str:
        return self.title


class Certificate(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(ResidentProfile, on_delete=models.CASCADE, related_name="certificates")
    kind = models.CharField(_("kind"), max_length=16, choices=CertificateKind.choices)
    title = models.CharField(_("title"), max_length=100)
    number = models.CharField(_("certificate number"), max_length=60, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="residents/certificates/%Y/%m/", max_length=255)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["resident", "-issued_on", "-uploaded_at"]

    def __str__(self) -> str:
        return self.title


class TrainingChange(models.Model):
    """A requested change of training status, base or cohort; applied to the archive only when approved.

    The approved rows, in order, are the dated status history with reasons.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resident = models.ForeignKey(ResidentProfile, on_delete=models.CASCADE, related_name="training_changes")
    kind = models.CharField(_("change"), max_length=16, choices=ChangeKind.choices)
    effective_date = models.DateField(_("effective date"))
    reason = models.TextField(_("reason"))
    new_base = models.ForeignKey(
        SpecialtyBase,
        verbose_name=_("new specialty base"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    new_cohort = models.PositiveSmallIntegerField(
        _("new cohort"), null=True, blank=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    new_planned_end_date = models.DateField(_("new planned end date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=ChangeState.choices, default=ChangeState.PENDING)
    #: {field: [before, after]} written when applied
    applied_changes = models.JSONField(default=dict, blank=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("training change")
        verbose_name_plural = _("training changes")
        ordering = ["resident", "-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"], condition=models.Q(state="pending"), name="one_pending_change_per_resident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resident} · {self.get_kind_display()}"


class ArchiveRevision(models.Model):
    """Who changed what in an archive, and how (self-edit, office, approval, enrollment)."""

    resident = models.ForeignKey(ResidentProfile, on_delete=models.CASCADE, related_name="revisions")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(_("source"), max_length=16, choices=RevisionSource.choices)
    #: {field label: [before, after]}, identifiers already masked
    changes = models.JSONField(default=dict)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("archive revision")
        verbose_name_plural = _("archive revisions")
        ordering = ["resident", "-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.resident} · {self.changed_at:%Y-%m-%d %H:%M}"
