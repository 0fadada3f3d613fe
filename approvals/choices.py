from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("In review")
    RETURNED = "returned", _("Returned for changes")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ActionKind(models.TextChoices):
    SUBMIT = "submit", _("Submitted")
    APPROVE = "approve", _("Approved")
    REJECT = "reject", _("Rejected")
    RETURN = "return", _("Returned for changes")
    WITHDRAW = "withdraw", _("Withdrawn")
    RESUBMIT = "resubmit", _("Resubmitted")
    SKIP = "skip", _("Skipped (condition not met)")


class Operator(models.TextChoices):
    GT = "gt", ">"
    GTE = "gte", "≥"
    LT = "lt", "<"
    LTE = "lte", "≤"
    EQ = "eq", "="
    NE = "ne", "≠"


#: Decisions an approver can take on a step.
DECISIONS = (ActionKind.APPROVE, ActionKind.REJECT, ActionKind.RETURN)
OPEN_STATUSES = (RequestStatus.PENDING, RequestStatus.RETURNED)
