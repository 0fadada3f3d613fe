from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Audience(models.TextChoices):
    DEPARTMENT = "department", _("The department's current residents")
    BASE = "base", _("A specialty base")
    OPEN = "open", _("Open to all")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for approval")
    RETURNED = "returned", _("Returned for changes")
    APPROVED = "approved", _("Approved")


class ActivityStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    APPROVED = "approved", _("Approved")
    CANCELLED = "cancelled", pgettext_lazy("activity", "Cancelled")


class Purpose(models.TextChoices):
    CHECK_IN = "in", _("Check-in")
    CHECK_OUT = "out", _("Check-out")
    RANDOM = "random", _("Random check")


class Method(models.TextChoices):
    SCAN = "scan", _("QR scan")
    MANUAL = "manual", _("Marked by hand")


class RecordStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for review")
    APPROVED = "approved", _("Accepted")
    REJECTED = "rejected", _("Sent back")


class FileKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    SLIDES = "slides", _("Slides")
    OTHER = "other", _("Other")
