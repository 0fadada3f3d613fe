"""Per-user notifications (消息): the one function every app calls when something happened to someone.

    from notices.notify import notify
    notify([block.resident.user, supervisor], title=_("Supervisor assigned"), body=..., url=block_url,
           kind="rotation.supervisor_assigned")

Title and body are stored as given and shown escaped. Pass plain strings already written in the
recipient's language; lazy strings (gettext_lazy) are rendered in the hospital language
(settings.LANGUAGE_CODE), never in the language of whoever triggered the event. Call it inside the
service's transaction: the rows roll back with the change they announce.
"""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone, translation
from django.utils.functional import Promise

from accounts.models import User

from .models import Notification, validate_relative_url

TITLE_MAX = Notification._meta.get_field("title").max_length


def _text(value) -> str:
    if isinstance(value, Promise):
        with translation.override(settings.LANGUAGE_CODE):
            return str(value)
    return str(value or "")


def notify(users: Iterable[User] | QuerySet[User], *, title: str, body: str = "", url: str = "", kind: str = "") -> int:
    """Create one unread notification per active recipient (duplicates and inactive users skipped); return how many.

    Raises ValidationError for an empty title or a link that leaves the site.
    """
    title, body = _text(title).strip(), _text(body).strip()
    if not title:
        raise ValidationError("A notification needs a title.")
    url = (url or "").strip()
    validate_relative_url(url)
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1] + "…"
    seen: set[int] = set()
    rows = []
    for user in users:
        if user is None or user.pk is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        rows.append(Notification(user=user, title=title, body=body, url=url, kind=kind[:64]))
    Notification.objects.bulk_create(rows)
    return len(rows)


def unread_count(user) -> int:
    """The nav badge: one COUNT on the (user, read_at) index."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notifications_for(user) -> QuerySet[Notification]:
    """A user's own notifications, unread first, newest first."""
    unread_first = Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    return Notification.objects.filter(user_id=user.pk).order_by(unread_first, "-created_at", "-pk")


def mark_read(notification: Notification) -> bool:
    """Mark one notification read (idempotent); True if it was unread."""
    if notification.read_at is not None:
        return False
    notification.read_at = timezone.now()
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return True


def mark_all_read(user) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())
