"""iCalendar (RFC 5545) feeds of the schedule, and the secret tokens in their addresses.

Written by hand: no maintained iCalendar library is installed and the feed needs only all-day
VEVENTs. The parts that matter are the escaping of TEXT values (backslash, semicolon, comma,
newline) and folding lines at 75 octets without splitting a UTF-8 character.

A feed is read without a session (calendar apps cannot sign in), so the token is the only key:
32 random bytes, one per user, replaced on reset, which makes every old address a 404.
"""

import datetime
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record

from .models import FeedToken, RotationBlock

PRODID = "-//Zhupei//Rotation schedule//ZH"
UID_DOMAIN = "zhupei"
LINE_LIMIT = 75  # octets, CRLF not counted


# --- tokens -----------------------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def feed_token_get_or_create(*, user) -> FeedToken:
    """The user's feed token, made on the first visit of the subscribe page."""
    token = FeedToken.objects.select_for_update().filter(user=user).first()
    if token is None:
        token = FeedToken.objects.create(user=user, token=new_token())
        audit_record(action="rotation.feed_create", target=token, acting_user=user)
    return token


@transaction.atomic
def feed_token_reset(*, user) -> FeedToken:
    """A new secret: every calendar subscribed with the old address stops receiving updates."""
    token = FeedToken.objects.select_for_update().filter(user=user).first()
    if token is None:
        token = FeedToken.objects.create(user=user, token=new_token())
    else:
        token.token = new_token()
        token.save(update_fields=["token", "created_at"])
    audit_record(action="rotation.feed_reset", target=token, acting_user=user)
    return token


def feed_user(token: str):
    """The active user a token belongs to, or None (unknown, revoked, inactive account)."""
    if not token or len(token) > 64:
        return None
    row = FeedToken.objects.select_related("user").filter(token=token).first()
    if row is None or not row.user.is_active:
        return None
    return row.user


# --- RFC 5545 ---------------------------------------------------------------------------------


def escape_text(value: str) -> str:
    """TEXT escaping (RFC 5545 §3.3.11)."""
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line to at most 75 octets per physical line (RFC 5545 §3.1).

    Continuation lines start with one space, which counts toward their 75; a multi-byte UTF-8
    character is never split.
    """
    if len(line.encode("utf-8")) <= LINE_LIMIT:
        return line
    parts: list[str] = []
    current, size, limit = [], 0, LINE_LIMIT
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, LINE_LIMIT - 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _date(value: datetime.date) -> str:
    return value.strftime("%Y%m%d")


def _utc(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def event_lines(
    *,
    uid: str,
    summary: str,
    start: datetime.date,
    end: datetime.date,
    stamp: datetime.datetime,
    description: str = "",
    location: str = "",
    modified: datetime.datetime | None = None,
) -> list[str]:
    """One all-day VEVENT from `start` to `end` inclusive (DTEND is exclusive: the day after)."""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART;VALUE=DATE:{_date(start)}",
        f"DTEND;VALUE=DATE:{_date(end + datetime.timedelta(days=1))}",
        f"SUMMARY:{escape_text(summary)}",
    ]
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if modified:
        lines.append(f"LAST-MODIFIED:{_utc(modified)}")
    lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
    return lines


def calendar(name: str, events: Iterable[list[str]]) -> str:
    """The VCALENDAR text, CRLF line ends, every line folded."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for event in events:
        lines.extend(event)
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"


# --- the schedule as events -------------------------------------------------------------------


def _modified(block: RotationBlock) -> datetime.datetime | None:
    """When the block last changed as far as we know: its publication or its supervisor assignment."""
    candidates = [block.supervisor_assigned_at, block.run.published_at if block.run_id else None]
    known = [c for c in candidates if c]
    return max(known) if known else None


def own_blocks(user) -> QuerySet[RotationBlock]:
    return (
        RotationBlock.objects.filter(resident__user=user)
        .select_related("department__hospital", "supervisor", "run")
        .order_by("start_date", "pk")
    )


def supervised_blocks(user) -> QuerySet[RotationBlock]:
    return (
        RotationBlock.objects.filter(supervisor=user)
        .select_related("department__hospital", "resident__user", "run")
        .order_by("start_date", "pk")
    )


def feed_for(user, *, stamp: datetime.datetime | None = None) -> str:
    """The user's calendar: their own rotations, and the rotations they supervise.

    Only names go out (supervisor, resident): the feed is read by third-party calendar servers,
    so no phone or ID number ever appears in it.
    """
    stamp = stamp or timezone.now()
    events = []
    for block in own_blocks(user):
        description = (
            _("Supervising doctor: %(name)s") % {"name": block.supervisor.display_name}
            if block.supervisor_id
            else _("Supervising doctor not assigned yet")
        )
        events.append(
            event_lines(
                uid=f"{block.uuid}@{UID_DOMAIN}",
                summary=_("Rotation: %(department)s") % {"department": block.department.name},
                start=block.start_date,
                end=block.end_date,
                stamp=stamp,
                description=description,
                location=block.department.hospital.name,
                modified=_modified(block),
            )
        )
    for block in supervised_blocks(user):
        events.append(
            event_lines(
                uid=f"{block.uuid}-supervision@{UID_DOMAIN}",
                summary=_("Supervising: %(resident)s (%(department)s)")
                % {"resident": block.resident.user.display_name, "department": block.department.name},
                start=block.start_date,
                end=block.end_date,
                stamp=stamp,
                location=block.department.hospital.name,
                modified=_modified(block),
            )
        )
    return calendar(_("Rotation schedule"), events)
