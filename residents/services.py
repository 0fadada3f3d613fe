"""Writes to the resident archive. Every change leaves an ArchiveRevision and an audit event.

The revision is what the archive page shows ("who changed what, when, how"); the audit event
is the security trail. Both carry masked phones only, never an ID number: the ID number is
not editable here at all.
"""

import functools
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import RoleAssignment, User
from core.audit import audit_record
from core.masking import mask_phone
from core.uploads import IMAGE_EXTENSIONS, clean_filename, extension_of, validate_upload

from .choices import RevisionSource
from .models import ArchiveRevision, Certificate, ConductRecord, EmergencyContact, Post, ResidentProfile
from .permissions import BASE_MANAGERS

#: Photos: what a phone camera or a scanner produces, and small enough for the archive page.
PHOTO_EXTENSIONS = frozenset({"png", "jpg", "jpeg"})
PHOTO_MAX_BYTES = 5 * 1024 * 1024
#: Certificates are scans or PDFs; office formats are not evidence.
CERTIFICATE_EXTENSIONS = frozenset({"pdf"}) | IMAGE_EXTENSIONS
CERTIFICATE_MAX_BYTES = 10 * 1024 * 1024

#: Account fields edited together with the archive.
USER_FIELDS = ("real_name", "phone", "email")
PERSONAL_FIELDS = ("gender", "birth_date", "ethnicity", "political_status", "address")
EDUCATION_FIELDS = (
    "school",
    "major",
    "education_level",
    "degree",
    "degree_type",
    "graduation_date",
    "fresh_graduate",
)
LICENCE_FIELDS = (
    "has_qualification",
    "qualification_number",
    "qualification_date",
    "practising_number",
    "practising_registration",
)
#: Training fields the office edits directly; base, cohort, status and planned end go through approval.
TRAINING_FIELDS = ("category", "sending_unit", "training_years", "start_date", "mentor")
APPROVAL_ONLY_FIELDS = frozenset({"base", "cohort", "status", "status_since", "planned_end_date", "batch"})

PHOTO = "photo"
CONTACTS = "emergency_contacts"
MAX_CONTACTS = 3

#: What each kind of edit may touch.
EDITABLE: dict[str, frozenset[str]] = {
    RevisionSource.SELF: frozenset({"phone", "email", "address", "political_status", PHOTO, CONTACTS}),
    RevisionSource.OFFICE: frozenset(
        {*USER_FIELDS, *PERSONAL_FIELDS, *EDUCATION_FIELDS, *LICENCE_FIELDS, *TRAINING_FIELDS, PHOTO, CONTACTS}
    ),
}

RECORD_MODELS: dict[str, type[models.Model]] = {"post": Post, "conduct": ConductRecord}


# --- reading helpers -------------------------------------------------------------------------


def mentor_choices(profile: ResidentProfile) -> models.QuerySet:
    """Mentors of the resident's base, or supervising doctors of the hospital (and its sites).

    The current mentor stays choosable even after losing the role, so an unrelated edit
    does not fail on a field nobody touched.
    """
    hospital_id = profile.base.hospital_id
    holders = RoleAssignment.objects.active_on().filter(
        Q(role=Role.MENTOR, base_id=profile.base_id)
        | Q(role=Role.SUPERVISOR, department__hospital_id=hospital_id)
        | Q(role=Role.SUPERVISOR, department__hospital__parent_id=hospital_id)
    )
    q = Q(pk__in=holders.values("user_id"), is_active=True)
    if profile.mentor_id:
        q |= Q(pk=profile.mentor_id)
    return User.objects.filter(q).order_by("real_name", "username")


def in_archive_language(func):
    """The history is part of the archive, a hospital record: its labels are written in the hospital's
    language (settings.LANGUAGE_CODE), not in whatever language the person editing has switched to."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with translation.override(settings.LANGUAGE_CODE):
            return func(*args, **kwargs)

    return wrapper


def source_for(profile: ResidentProfile, acting_user: User) -> str:
    """Records and certificates: the resident's own upload, the base's staff, or the training office."""
    if profile.user_id == acting_user.pk:
        return RevisionSource.SELF
    if not acting_user.scope.is_office and acting_user.scope.acts_for_base(profile.base_id, *BASE_MANAGERS):
        return RevisionSource.BASE
    return RevisionSource.OFFICE


def _label(model: type[models.Model], name: str) -> str:
    return str(model._meta.get_field(name).verbose_name)


def _shown(model: type[models.Model], name: str, value: Any) -> str:
    """A value as a person reads it in the history: choice labels, ISO dates, masked phones."""
    if value is None or value == "":
        return ""
    field = model._meta.get_field(name)
    if name == "phone":
        return mask_phone(str(value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _same(old: Any, new: Any) -> bool:
    old = old.pk if isinstance(old, models.Model) else old
    new = new.pk if isinstance(new, models.Model) else new
    return (old if old is not None else "") == (new if new is not None else "")


def _contact_text(name: str, relation: str, phone: str) -> str:
    return f"{name} ({relation}) {mask_phone(phone)}".strip()


def _jsonable(changes: Mapping[str, Any]) -> dict[str, list[str]]:
    return {str(k): ["" if v is None else str(v) for v in pair] for k, pair in changes.items()}


# --- the revision itself ---------------------------------------------------------------------


def revision_record(
    *,
    profile: ResidentProfile,
    acting_user: User | None,
    source: str,
    changes: Mapping[str, Any],
    note: str = "",
) -> ArchiveRevision:
    """One row of the archive's history. Callers pass labels and already masked values.

    Written by every archive write in this module and by the approval engine when a
    training change is applied, so the history has one shape whatever changed it.
    """
    return ArchiveRevision.objects.create(
        resident=profile,
        changed_by=acting_user if acting_user is not None and acting_user.pk else None,
        source=source,
        changes=_jsonable(changes),
        note=note[:200],
    )


# --- editing the archive ---------------------------------------------------------------------


@in_archive_language
@transaction.atomic
def archive_update(
    *, profile: ResidentProfile, acting_user: User, data: dict[str, Any], source: str
) -> dict[str, list[str]]:
    """Apply an edit (the resident's own or the office's) and record what actually changed.

    `data` maps field names to new values: ResidentProfile fields, the account's
    real_name/phone/email, "photo" (an uploaded file) and "emergency_contacts" (the full list
    wanted afterwards, each {"id": pk or None, "name", "relation", "phone"}). Returns
    {field label: [before, after]}; empty when nothing changed (then nothing is written).
    """
    allowed = EDITABLE.get(source)
    if allowed is None:
        raise ValueError(f"archive_update does not take edits from {source!r}")
    refused = set(data) - allowed
    if refused:
        if refused & APPROVAL_ONLY_FIELDS:
            raise ValidationError(_("Base, cohort, status and planned end change only through an approved request."))
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(refused))}
        )

    # Read the current state under a lock: the form may have touched the in-memory instance.
    locked = ResidentProfile.objects.select_for_update().get(pk=profile.pk)
    account = User.objects.select_for_update().get(pk=locked.user_id)
    locked.user = account

    by_label: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    profile_fields: list[str] = []
    user_fields: list[str] = []

    if data.get(PHOTO):
        validate_upload(data[PHOTO], allowed_extensions=PHOTO_EXTENSIONS, max_bytes=PHOTO_MAX_BYTES)
    if "mentor" in data and data["mentor"] is not None:
        if not mentor_choices(locked).filter(pk=data["mentor"].pk).exists():
            raise ValidationError(_("The mentor must be a mentor of this base or a supervising doctor."))

    for name, new in data.items():
        if name in (PHOTO, CONTACTS):
            continue
        target, model, changed = (
            (account, User, user_fields) if name in USER_FIELDS else (locked, ResidentProfile, profile_fields)
        )
        if isinstance(new, str):
            new = new.strip()
        old = getattr(target, name)
        if _same(old, new):
            continue
        setattr(target, name, new)
        changed.append(name)
        pair = [_shown(model, name, old), _shown(model, name, new)]
        by_label[_label(model, name)] = pair
        by_name[name] = pair

    if CONTACTS in data:
        pair = _contacts_sync(locked, data[CONTACTS])
        if pair is not None:
            by_label[str(EmergencyContact._meta.verbose_name_plural)] = pair
            by_name[CONTACTS] = pair

    # The file goes to GridFS last, after everything that can refuse the edit (GridFS has no rollback).
    old_photo = ""
    if data.get(PHOTO):
        upload = data[PHOTO]
        old_photo = locked.photo.name if locked.photo else ""
        locked.photo.save(f"{uuid.uuid4().hex}.{extension_of(upload.name)}", upload, save=False)
        profile_fields.append(PHOTO)
        pair = [_("a photo") if old_photo else "", _("a new photo")]
        by_label[_label(ResidentProfile, PHOTO)] = pair
        by_name[PHOTO] = pair

    if not by_label:
        return {}
    if user_fields:
        account.save(update_fields=user_fields)
    if profile_fields or "real_name" in user_fields:
        locked.save(update_fields=[*profile_fields, "updated_at"])
    if old_photo:
        storage = locked.photo.storage
        transaction.on_commit(lambda: storage.delete(old_photo))

    revision_record(profile=locked, acting_user=acting_user, source=source, changes=by_label)
    audit_record(action="resident.archive_edit", target=locked, acting_user=acting_user, changes=by_name, source=source)
    _refresh(profile, locked)
    return by_label


def _refresh(profile: ResidentProfile, saved: ResidentProfile) -> None:
    """The caller's instance shows what was saved (the view redirects, but services are reused)."""
    for field in ResidentProfile._meta.concrete_fields:
        setattr(profile, field.attname, getattr(saved, field.attname))
    profile.user = saved.user
    if hasattr(profile, "_prefetched_objects_cache"):
        profile._prefetched_objects_cache.pop(CONTACTS, None)


def _contacts_sync(profile: ResidentProfile, wanted: Iterable[Mapping[str, Any]]) -> list[str] | None:
    """Make the emergency contacts what `wanted` lists; return [before, after] texts if anything changed."""
    wanted = list(wanted)
    if len(wanted) > MAX_CONTACTS:
        raise ValidationError(
            _("At most %(n)d emergency contacts can be kept.") % {"n": MAX_CONTACTS}, code="too_many_contacts"
        )
    existing = {c.pk: c for c in EmergencyContact.objects.filter(resident=profile).order_by("pk")}
    before = [_contact_text(c.name, c.relation, c.phone) for c in existing.values()]
    keep: set[int] = set()
    changed = False
    for row in wanted:
        name, relation, phone = (str(row.get(k) or "").strip() for k in ("name", "relation", "phone"))
        if not (name and relation and phone):
            raise ValidationError(_("An emergency contact needs a name, a relation and a phone number."))
        pk = row.get("id")
        if pk:
            contact = existing.get(pk)
            if contact is None:
                raise ValidationError(_("That emergency contact does not belong to this archive."))
            keep.add(pk)
            if (contact.name, contact.relation, contact.phone) != (name, relation, phone):
                contact.name, contact.relation, contact.phone = name, relation, phone
                contact.save(update_fields=["name", "relation", "phone"])
                changed = True
        else:
            EmergencyContact.objects.create(resident=profile, name=name, relation=relation, phone=phone)
            changed = True
    removed = [pk for pk in existing if pk not in keep]
    if removed:
        EmergencyContact.objects.filter(pk__in=removed).delete()
        changed = True
    if not changed:
        return None
    after = [
        _contact_text(c.name, c.relation, c.phone)
        for c in EmergencyContact.objects.filter(resident=profile).order_by("pk")
    ]
    return ["; ".join(before), "; ".join(after)]


# --- posts, awards and disciplinary records -------------------------------------------------------


def _log_item_change(
    *,
    profile: ResidentProfile,
    acting_user: User,
    model: type[models.Model],
    summary: str,
    note: str,
    action: str,
    key: str,
    removed: bool = False,
    **extra: Any,
) -> None:
    """The history row and the audit event of one record or certificate added to or removed from the archive.

    The history shows `summary` under the model's name, with `note` ("Added: %(what)s") naming it;
    the audit event shows it under `key`, with `extra` as its ids.
    """
    label = str(model._meta.verbose_name)
    revision_record(
        profile=profile,
        acting_user=acting_user,
        source=source_for(profile, acting_user),
        changes={label: [summary, ""] if removed else ["", summary]},
        note=note % {"what": label},
    )
    audit_record(
        action=action,
        target=profile,
        acting_user=acting_user,
        changes={key: [summary, None] if removed else [None, summary]},
        **extra,
    )


def record_summary(record: models.Model) -> str:
    if isinstance(record, Post):
        until = record.end_date.isoformat() if record.end_date else "…"
        return f"{record.title} ({record.start_date.isoformat()} – {until})"
    if isinstance(record, ConductRecord):
        return f"{record.get_kind_display()}: {record.title} ({record.date.isoformat()})"
    return str(record)


@in_archive_language
@transaction.atomic
def record_add(*, profile: ResidentProfile, kind: str, data: dict[str, Any], acting_user: User) -> models.Model:
    """Add a post held or an award/disciplinary record; the archive's history says who added it."""
    model = RECORD_MODELS.get(kind)
    if model is None:
        raise ValueError(f"Unknown record kind {kind!r}")
    record = model(resident=profile, recorded_by=acting_user, **data)
    if isinstance(record, Post) and record.end_date and record.end_date < record.start_date:
        raise ValidationError({"end_date": _("A post cannot end before it starts.")})
    record.full_clean()
    record.save()
    _log_item_change(
        profile=profile,
        acting_user=acting_user,
        model=model,
        summary=record_summary(record),
        note=_("Added: %(what)s"),
        action="resident.record_add",
        key=kind,
        kind=kind,
        record=record.pk,
    )
    return record


@in_archive_language
@transaction.atomic
def record_delete(*, record: models.Model, acting_user: User) -> None:
    """Remove a post or conduct record; what it said stays in the history and the audit trail."""
    kind = next((k for k, m in RECORD_MODELS.items() if isinstance(record, m)), None)
    if kind is None:
        raise ValueError(f"Not an archive record: {record!r}")
    profile = record.resident
    summary = record_summary(record)
    pk = record.pk
    record.delete()
    _log_item_change(
        profile=profile,
        acting_user=acting_user,
        model=type(record),
        summary=summary,
        note=_("Removed: %(what)s"),
        action="resident.record_delete",
        key=kind,
        removed=True,
        kind=kind,
        record=pk,
    )


# --- certificates ----------------------------------------------------------------------------------


def _certificate_summary(certificate: Certificate) -> str:
    return f"{certificate.get_kind_display()}: {certificate.title} ({certificate.original_name})"


@in_archive_language
@transaction.atomic
def certificate_add(
    *,
    profile: ResidentProfile,
    file,
    kind: str,
    title: str,
    acting_user: User,
    number: str = "",
    issued_on: date | None = None,
) -> Certificate:
    """Check the file (type, real content, size), store it under a random name and list it in the archive."""
    content_type = validate_upload(file, allowed_extensions=CERTIFICATE_EXTENSIONS, max_bytes=CERTIFICATE_MAX_BYTES)
    original_name = clean_filename(file.name)
    certificate = Certificate(
        resident=profile,
        kind=kind,
        title=title.strip(),
        number=number.strip(),
        issued_on=issued_on,
        original_name=original_name,
        content_type=content_type,
        uploaded_by=acting_user,
    )
    certificate.full_clean(exclude=["file"])
    certificate.file.save(f"{uuid.uuid4().hex}{os.path.splitext(original_name)[1].lower()}", file, save=False)
    certificate.save()
    _log_item_change(
        profile=profile,
        acting_user=acting_user,
        model=Certificate,
        summary=_certificate_summary(certificate),
        note=_("Uploaded: %(what)s"),
        action="resident.certificate_add",
        key="certificate",
        certificate=certificate.uuid,
    )
    return certificate


def may_delete_certificate(user: User, certificate: Certificate) -> bool:
    """The uploader takes back their own file; the office may remove any."""
    return bool(user.is_authenticated) and (certificate.uploaded_by_id == user.pk or user.scope.is_office)


@in_archive_language
@transaction.atomic
def certificate_delete(*, certificate: Certificate, acting_user: User) -> None:
    """Remove the row now and the stored file once the transaction commits (GridFS is outside it)."""
    profile = certificate.resident
    summary = _certificate_summary(certificate)
    name, storage, ident = certificate.file.name, certificate.file.storage, certificate.uuid
    certificate.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))
    _log_item_change(
        profile=profile,
        acting_user=acting_user,
        model=Certificate,
        summary=summary,
        note=_("Removed: %(what)s"),
        action="resident.certificate_delete",
        key="certificate",
        removed=True,
        certificate=ident,
    )
