"""Every change to a notice goes through here, and every change is audited."""

import os
import uuid
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Hospital, SpecialtyBase, User
from core.audit import audit_record
from core.uploads import DOCUMENT_EXTENSIONS, clean_filename, validate_upload

from .choices import NoticeStatus
from .models import Notice, NoticeAttachment, NoticeRead

#: What a notice may carry: documents, spreadsheets, slides, PDFs and pictures.
ATTACHMENT_EXTENSIONS = DOCUMENT_EXTENSIONS


def _check_bases(hospital: Hospital, bases: Iterable[SpecialtyBase]) -> list[SpecialtyBase]:
    bases = list(bases)
    if any(b.hospital_id != hospital.pk for b in bases):
        raise ValidationError(_("A notice can only be addressed to bases of its own hospital."))
    return bases


def _lock(notice: Notice) -> Notice:
    return Notice.objects.select_for_update().get(pk=notice.pk)


@transaction.atomic
def notice_create(
    *,
    hospital: Hospital,
    title: str,
    body: str,
    audience_roles: Sequence[str] = (),
    audience_bases: Iterable[SpecialtyBase] = (),
    is_pinned: bool = False,
    attachments: Iterable = (),
    acting_user: User,
) -> Notice:
    """Write a draft. Nobody but the office sees it until it is published."""
    bases = _check_bases(hospital, audience_bases)
    attachments = list(attachments)
    for upload in attachments:  # refuse a bad file before anything is written
        validate_upload(upload, allowed_extensions=ATTACHMENT_EXTENSIONS)
    notice = Notice.objects.create(
        hospital=hospital, title=title, body=body, audience_roles=list(audience_roles),
        is_pinned=is_pinned, status=NoticeStatus.DRAFT, author=acting_user,
    )  # fmt: skip
    notice.audience_bases.set(bases)
    audit_record(
        action="notice.create", target=notice, acting_user=acting_user,
        changes={"title": [None, notice.title], "audience_roles": [None, notice.audience_roles],
                 "audience_bases": [None, sorted(b.code for b in bases)], "is_pinned": [None, is_pinned]},
    )  # fmt: skip
    for upload in attachments:
        attachment_add(notice=notice, file=upload, acting_user=acting_user)
    return notice


@transaction.atomic
def notice_update(
    *,
    notice: Notice,
    title: str,
    body: str,
    audience_roles: Sequence[str] = (),
    audience_bases: Iterable[SpecialtyBase] = (),
    is_pinned: bool = False,
    attachments: Iterable = (),
    acting_user: User,
) -> Notice:
    """Change a draft or a withdrawn notice. A published one must be withdrawn first, so that
    what readers confirmed having read is what the notice said."""
    notice = _lock(notice)
    if not notice.is_editable:
        raise ValidationError(_("A published notice cannot be changed. Withdraw it first."))
    bases = _check_bases(notice.hospital, audience_bases)
    attachments = list(attachments)
    for upload in attachments:
        validate_upload(upload, allowed_extensions=ATTACHMENT_EXTENSIONS)
    before = {
        "title": notice.title, "body": notice.body, "audience_roles": notice.audience_roles,
        "audience_bases": sorted(notice.audience_bases.values_list("code", flat=True)), "is_pinned": notice.is_pinned,
    }  # fmt: skip
    notice.title, notice.body, notice.is_pinned = title, body, is_pinned
    notice.audience_roles = list(audience_roles)
    notice.save()
    notice.audience_bases.set(bases)
    after = {
        "title": notice.title, "body": notice.body, "audience_roles": notice.audience_roles,
        "audience_bases": sorted(b.code for b in bases), "is_pinned": notice.is_pinned,
    }  # fmt: skip
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if "body" in changes:
        changes["body"] = ["…", "…"]  # the text itself is long; the event says it changed
    audit_record(action="notice.update", target=notice, acting_user=acting_user, changes=changes)
    for upload in attachments:
        attachment_add(notice=notice, file=upload, acting_user=acting_user)
    return notice


@transaction.atomic
def notice_publish(*, notice: Notice, acting_user: User) -> Notice:
    """Publish a draft (or re-publish a withdrawn notice): its audience sees it from now on."""
    notice = _lock(notice)
    if notice.status == NoticeStatus.PUBLISHED:
        raise ValidationError(_("This notice is already published."))
    if not notice.title.strip() or not notice.body.strip():
        raise ValidationError(_("A notice needs a title and a body before it can be published."))
    old = notice.status
    notice.status = NoticeStatus.PUBLISHED
    notice.published_at = timezone.now()
    notice.save(update_fields=["status", "published_at", "updated_at"])
    audit_record(
        action="notice.publish", target=notice, acting_user=acting_user,
        changes={"status": [old, notice.status]},
    )  # fmt: skip
    return notice


@transaction.atomic
def notice_withdraw(*, notice: Notice, acting_user: User) -> Notice:
    """Take a published notice down. Read receipts are kept."""
    notice = _lock(notice)
    if notice.status != NoticeStatus.PUBLISHED:
        raise ValidationError(_("Only a published notice can be withdrawn."))
    notice.status = NoticeStatus.WITHDRAWN
    notice.save(update_fields=["status", "updated_at"])
    audit_record(
        action="notice.withdraw", target=notice, acting_user=acting_user,
        changes={"status": [NoticeStatus.PUBLISHED, notice.status]},
    )  # fmt: skip
    return notice


@transaction.atomic
def attachment_add(*, notice: Notice, file, acting_user: User) -> NoticeAttachment:
    """Check the file (size, type, real content) and store it under a random name."""
    content_type = validate_upload(file, allowed_extensions=ATTACHMENT_EXTENSIONS)
    original_name = clean_filename(file.name)
    extension = os.path.splitext(original_name)[1].lower()
    attachment = NoticeAttachment(
        notice=notice, original_name=original_name, size=file.size, content_type=content_type,
        uploaded_by=acting_user,
    )  # fmt: skip
    attachment.file.save(f"{uuid.uuid4().hex}{extension}", file, save=False)
    attachment.save()
    audit_record(
        action="notice.attachment_add", target=notice, acting_user=acting_user,
        file=original_name, size=attachment.size, attachment=attachment.uuid,
    )  # fmt: skip
    return attachment


@transaction.atomic
def attachment_remove(*, attachment: NoticeAttachment, acting_user: User) -> None:
    """Remove an attachment from a notice that is not published; the file is deleted after commit."""
    notice = _lock(attachment.notice)
    if not notice.is_editable:
        raise ValidationError(_("A published notice cannot be changed. Withdraw it first."))
    name, storage, original = attachment.file.name, attachment.file.storage, attachment.original_name
    attachment.delete()
    transaction.on_commit(lambda: storage.delete(name))
    audit_record(action="notice.attachment_remove", target=notice, acting_user=acting_user, file=original)


@transaction.atomic
def notice_mark_read(*, notice: Notice, user: User) -> NoticeRead:
    """Record that `user` opened a published notice. Idempotent: only the first read counts and is audited."""
    read, created = NoticeRead.objects.get_or_create(notice=notice, user=user, defaults={"read_at": timezone.now()})
    if created:
        audit_record(action="notice.read", target=notice, acting_user=user)
    return read
