from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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


class CaseloadKind(models.TextChoices):
    DISEASE = "disease", _("Disease (病种)")
    CASE = "case", _("Case (病例)")
    PROCEDURE = "procedure", _("Procedure (技能操作)")
    OPERATION = "operation", _("Operation (手术)")
    WRITEUP = "writeup", _("Full case write-up (大病历)")
    RESCUE = "rescue", _("Rescue (抢救)")
    LEARNING = "learning", _("Learning record (业务学习)")


class CaseSource(models.TextChoices):
    OUTPATIENT = "outpatient", _("Outpatient")
    EMERGENCY = "emergency", _("Emergency")
    WARD = "ward", _("Ward")


class ProcedureRole(models.TextChoices):
    OPERATOR = "operator", _("Performed it")
    ASSISTANT = "assistant", _("Assisted")
    SURGEON = "surgeon", _("Surgeon (术者)")
    FIRST_ASSISTANT = "first_assistant", _("First assistant (一助)")
    SECOND_ASSISTANT = "second_assistant", _("Second assistant (二助)")


class EntryStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned")
    SUPERSEDED = "superseded", _("Corrected")


class LeaveKind(models.TextChoices):
    SICK = "sick", _("Sick leave (病假)")
    PERSONAL = "personal", _("Personal leave (事假)")
    ANNUAL = "annual", _("Annual leave (年假)")
    MARRIAGE = "marriage", _("Marriage leave (婚假)")
    MATERNITY = "maternity", _("Maternity leave (产假)")
    DUTY = "duty", _("Official duty or study (公差/进修)")
    OTHER = "other", _("Other")


class LeaveStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for changes")
    WITHDRAWN = "withdrawn", pgettext_lazy("request", "Withdrawn")


class ReportStatus(models.TextChoices):
    OPEN = "open", _("Being filled in")
    PENDING = "pending", _("Waiting for approval")
    RETURNED = "returned", _("Returned for changes")
    APPROVED = "approved", _("Approved and locked")


class ExitStage(models.TextChoices):
    SUMMARY = "summary", _("Self-summary")
    ASSESSMENT = "assessment", _("Supervisor's assessment")
    HEAD = "head", _("Department head")
    BASE = "base", _("Base review")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class MakeupKind(models.TextChoices):
    OWED = "owed", _("Owed")
    MADE_UP = "made_up", _("Made up")
