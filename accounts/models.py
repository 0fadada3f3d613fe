import uuid
from datetime import date

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core import crypto
from core.masking import mask_id_number, mask_phone

from .choices import ROLE_SCOPE, Role, ScopeKind, SiteKind, UserStatus
from .validators import normalize_id_number


class Hospital(models.Model):
    """The training hospital or one of its collaborating sites (协同单位)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=SiteKind.choices, default=SiteKind.MAIN)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("training hospital"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sites",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("hospital or site")
        verbose_name_plural = _("hospitals and sites")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name


class SpecialtyBase(models.Model):
    """专业基地: owns a training programme and the residents enrolled in it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.PROTECT, related_name="bases")
    code = models.CharField(_("specialty code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("specialty base")
        verbose_name_plural = _("specialty bases")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["hospital", "code"], name="base_code_unique_per_hospital")]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """轮转科室: where residents rotate. `base` is the base that administers it, if any."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hospital = models.ForeignKey(
        Hospital, verbose_name=_("hospital or site"), on_delete=models.PROTECT, related_name="departments"
    )
    base = models.ForeignKey(
        SpecialtyBase,
        verbose_name=_("specialty base"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="departments",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
    )
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["hospital", "code"], name="department_code_unique_per_site")]

    def __str__(self) -> str:
        return self.name


class ZhupeiUserManager(UserManager):
    def get_by_id_number(self, value: str):
        return self.get(id_number_digest=crypto.digest(normalize_id_number(value)))


class User(AbstractUser):
    """Everyone who logs in. `status` drives `is_active`; ID numbers are encrypted at rest."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    real_name = models.CharField(_("real name"), max_length=50)
    staff_number = models.CharField(_("staff or student number"), max_length=32, unique=True, null=True, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    id_number_encrypted = models.TextField(_("ID number (encrypted)"), blank=True, editable=False)
    id_number_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    must_change_password = models.BooleanField(_("must set a password at next login"), default=False)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    applied_base = models.ForeignKey(
        SpecialtyBase,
        verbose_name=_("applied specialty base"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applicants",
    )

    objects = ZhupeiUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        self.is_active = self.status == UserStatus.ACTIVE
        super().save(*args, **kwargs)

    def set_password(self, raw_password) -> None:
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    @property
    def display_name(self) -> str:
        return self.real_name or self.username

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_number_encrypted)

    @id_number.setter
    def id_number(self, value: str) -> None:
        value = normalize_id_number(value)
        self.id_number_encrypted = crypto.encrypt(value)
        self.id_number_digest = crypto.digest(value) if value else None

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @cached_property
    def scope(self):
        from .scope import Scope

        return Scope.for_user(self)


class RoleAssignmentQuerySet(models.QuerySet):
    def active_on(self, day: date | None = None):
        day = day or timezone.localdate()
        return self.filter(Q(valid_from__lte=day), Q(valid_until__isnull=True) | Q(valid_until__gte=day))

    def holders(self):
        """The active accounts holding these assignments (notify them, offer them as choices)."""
        return User.objects.filter(pk__in=self.values("user_id"), is_active=True)


class RoleAssignment(models.Model):
    """A role held within one org unit for a period: 'teaching secretary of cardiology from 2025-09'."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    hospital = models.ForeignKey(
        Hospital, verbose_name=_("hospital"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    base = models.ForeignKey(
        SpecialtyBase,
        verbose_name=_("specialty base"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    granted_by = models.ForeignKey(
        User, verbose_name=_("granted by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["user", "role"]
        indexes = [models.Index(fields=["role", "department"]), models.Index(fields=["role", "base"])]
        constraints = [
            models.CheckConstraint(
                name="role_assignment_one_scope",
                condition=(
                    Q(hospital__isnull=False, base__isnull=True, department__isnull=True)
                    | Q(hospital__isnull=True, base__isnull=False, department__isnull=True)
                    | Q(hospital__isnull=True, base__isnull=True, department__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="role_assignment_period_ordered",
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.scope_object}"

    @property
    def scope_kind(self) -> str:
        return ROLE_SCOPE[self.role]

    @property
    def scope_object(self):
        return {
            ScopeKind.HOSPITAL: self.hospital,
            ScopeKind.BASE: self.base,
            ScopeKind.DEPARTMENT: self.department,
        }[self.scope_kind]
