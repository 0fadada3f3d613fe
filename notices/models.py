import re
import uuid

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import linebreaks
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role

from .choices import EDITABLE_STATUSES, NoticeStatus

#: The markup a notice may keep. No scripts, styles, images, event handlers or classes.
BODY_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "u", "ul", "ol", "li", "h3", "h4", "blockquote", "a",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
BODY_ATTRIBUTES = {"a": {"href"}, "th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}}
BODY_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LOOKS_LIKE_MARKUP = re.compile(r"<[a-zA-Z!/]")


def clean_body(raw: str) -> str:
    """Sanitise a notice body with nh3. Plain text (no tags at all) becomes paragraphs first."""
    raw = (raw or "").strip()
    if raw and not _LOOKS_LIKE_MARKUP.search(raw):
        raw = linebreaks(raw, autoescape=True)
    return nh3.clean(
        raw,
        tags=set(BODY_TAGS),
        attributes={tag: set(attrs) for tag, attrs in BODY_ATTRIBUTES.items()},
        url_schemes=set(BODY_URL_SCHEMES),
        url_relative="deny",
        link_rel="noopener noreferrer",
        clean_content_tags={"script", "style"},
        strip_comments=True,
    ).strip()


class Notice(models.Model):
    """公共信息: a notice the training office publishes to some roles and bases of its hospital."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hospital = models.ForeignKey(
        "accounts.Hospital", verbose_name=_("hospital"), on_delete=models.PROTECT, related_name="notices"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    audience_roles = models.JSONField(
        _("for roles"), default=list, blank=True, help_text=_("Role codes; empty means everyone.")
    )
    audience_bases = models.ManyToManyField(
        "accounts.SpecialtyBase", verbose_name=_("for specialty bases"), blank=True, related_name="notices"
    )
    is_pinned = models.BooleanField(_("pinned"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-is_pinned", "-published_at", "-created_at"]
        indexes = [models.Index(fields=["hospital", "status", "-published_at"])]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # The body is rendered with |safe, so it is sanitised on every save, whoever saves it.
        self.body = clean_body(self.body)
        valid = set(Role.values)
        self.audience_roles = sorted({r for r in self.audience_roles or [] if r in valid})
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == NoticeStatus.PUBLISHED

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    def get_audience_roles_display(self) -> list[str]:
        labels = dict(Role.choices)
        return [str(labels[r]) for r in self.audience_roles if r in labels]


class NoticeAttachment(models.Model):
    """A file attached to a notice. Stored under a random name; served only through the download view."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    notice = models.ForeignKey(Notice, verbose_name=_("notice"), on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="notices/%Y/%m/", max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=128)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notice attachment")
        verbose_name_plural = _("notice attachments")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name


class NoticeRead(models.Model):
    """已读: the first time a user opened a notice."""

    notice = models.ForeignKey(Notice, verbose_name=_("notice"), on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notice_reads"
    )
    read_at = models.DateTimeField(_("read at"))

    class Meta:
        verbose_name = _("notice read")
        verbose_name_plural = _("notice reads")
        ordering = ["-read_at"]
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="notice_read_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user} · {self.notice}"


def validate_relative_url(value: str) -> None:
    """A notification links inside the app only: an absolute path, never another host (`//evil`)."""
    if not value:
        return
    if not value.startswith("/") or value.startswith("//") or "\\" in value or any(c in value for c in "\r\n\t"):
        raise ValidationError(_("Enter a path inside this site, starting with a single “/”."), code="invalid_url")


class Notification(models.Model):
    """消息: something that happened to one user (a schedule published, a supervisor assigned).

    Title and body are plain text, stored in the language they were written in and rendered escaped.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True, validators=[validate_relative_url])
    kind = models.CharField(_("kind"), max_length=64, blank=True, help_text=_("e.g. rotation.published"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
