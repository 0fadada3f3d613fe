"""Rotation blocks: a resident in a department for a period, with their one-to-one supervisor.

This is the part of rotation the people records need (who may see a resident, what the
archive timeline shows). The scheduler, programmes and capacities build on it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from residents.models import ResidentProfile


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
