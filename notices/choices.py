from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


#: Statuses in which the office may still change a notice's text and audience.
EDITABLE_STATUSES = frozenset({NoticeStatus.DRAFT, NoticeStatus.WITHDRAWN})
