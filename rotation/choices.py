from django.db import models
from django.utils.translation import gettext_lazy as _


class RequirementKind(models.TextChoices):
    MANDATORY = "mandatory", _("Mandatory department")
    ELECTIVE = "elective", _("Elective group")


class RunScope(models.TextChoices):
    HOSPITAL = "hospital", _("Whole hospital")
    BASE = "base", _("Specialty base")
    COHORT = "cohort", _("Cohort")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DRAFT = "draft", _("Draft ready for review")
    INFEASIBLE = "infeasible", _("No schedule possible")
    FAILED = "failed", _("Failed")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")
    DISCARDED = "discarded", _("Discarded")


class EntryKind(models.TextChoices):
    ROTATION = "rotation", _("Rotation")
    FREE = "free", _("Unassigned month")
    LEAVE = "leave", _("Leave")
