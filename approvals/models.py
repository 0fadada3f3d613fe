import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role

from .choices import ActionKind, Operator, RequestStatus


class ApprovalChain(models.Model):
    """The ordered steps one workflow's requests go through. Data, edited by the office."""

    workflow = models.CharField(_("workflow"), max_length=64, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("approval chain")
        verbose_name_plural = _("approval chains")
        ordering = ["workflow", "-is_active", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow"], condition=Q(is_active=True), name="one_active_chain_per_workflow"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ApprovalStep(models.Model):
    """One step: who decides (a role in the request's scope, or a named relation) and when it applies."""

    chain = models.ForeignKey(ApprovalChain, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("approver role"), max_length=32, choices=Role.choices)
    relation = models.CharField(
        _("relation"),
        max_length=64,
        blank=True,
        help_text=_(
            "Optional: a named relation such as the resident's supervisor, instead of everyone holding the role."
        ),
    )
    condition_field = models.CharField(_("only when field"), max_length=64, blank=True)
    condition_operator = models.CharField(_("operator"), max_length=3, choices=Operator.choices, blank=True)
    condition_value = models.CharField(_("value"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        ordering = ["chain", "order"]
        constraints = [models.UniqueConstraint(fields=["chain", "order"], name="step_order_unique_in_chain")]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    def applies_to(self, context: dict) -> bool:
        """Conditions compare numbers when both sides are numbers, text otherwise."""
        if not self.condition_field:
            return True
        if self.condition_field not in context:
            return False
        left, right = context[self.condition_field], self.condition_value
        try:
            left, right = Decimal(str(left)), Decimal(right)
        except (InvalidOperation, ValueError):
            left, right = str(left), str(right)
        return {
            Operator.GT: lambda: left > right,
            Operator.GTE: lambda: left >= right,
            Operator.LT: lambda: left < right,
            Operator.LTE: lambda: left <= right,
            Operator.EQ: lambda: left == right,
            Operator.NE: lambda: left != right,
        }.get(self.condition_operator, lambda: True)()


class ApprovalRequest(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workflow = models.CharField(_("workflow"), max_length=64, db_index=True)
    chain = models.ForeignKey(ApprovalChain, on_delete=models.PROTECT, related_name="requests")
    title = models.CharField(_("title"), max_length=200)
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    target_id = models.CharField(max_length=64)
    target = GenericForeignKey("target_type", "target_id")
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitter"), on_delete=models.PROTECT, related_name="+"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("about"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    hospital = models.ForeignKey("accounts.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    base = models.ForeignKey(
        "accounts.SpecialtyBase", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    context = models.JSONField(_("facts the conditions read"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING, db_index=True
    )
    current_step = models.ForeignKey(
        ApprovalStep,
        verbose_name=_("current step"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    #: Bumped by every action; a decision names the version it was made on (compare-and-swap).
    version = models.PositiveIntegerField(default=0)
    #: Who may act on the current step, kept for the inbox; re-resolved when roles change.
    current_approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="approval_inbox")
    #: Everyone ever asked to decide: they keep seeing how it ended, even when a colleague decided.
    invited = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="approval_invitations")
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return self.title

    @property
    def workflow_label(self) -> str:
        from .registry import workflows

        workflow = workflows().get(self.workflow)
        return workflow.label if workflow else self.workflow

    @property
    def is_open(self) -> bool:
        return self.status in (RequestStatus.PENDING, RequestStatus.RETURNED)


class ApprovalAction(models.Model):
    """The history: every submission and decision, with who, when and why."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="actions")
    step = models.ForeignKey(ApprovalStep, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="approval_actions"
    )
    kind = models.CharField(_("action"), max_length=16, choices=ActionKind.choices)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("approval action")
        verbose_name_plural = _("approval actions")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.actor}"
