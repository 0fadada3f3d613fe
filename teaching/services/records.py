"""After the activity: the record (summary, live photos, slides) the office reviews, and residents' ratings.

Records: the teacher or the department's secretary (ActivityPolicy "record") submits once the activity
has ended; the training office accepts it or sends it back with a reason, the uploader is notified and
may resubmit. Every file is checked by content before anything is stored (core.uploads).

Ratings: a resident who checked out rates the activity once (1–5 per active indicator). Teachers and
department staff see only aggregates, and only once at least MIN_RATINGS residents rated; the office
sees every rating; a resident sees their own.
"""

import uuid
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import Hospital, User
from core.audit import audit_record
from core.permissions import can
from core.uploads import clean_filename, extension_of, validate_upload
from notices.notify import notify

from ..choices import ActivityStatus, FileKind, Purpose, RecordStatus
from ..models import Activity, ActivityRecord, Attendance, Rating, RatingIndicator, RecordFile
from ..permissions import office_hospitals

PHOTO_EXTENSIONS = ("jpg", "jpeg", "png")
SLIDE_EXTENSIONS = ("pdf", "pptx", "ppt")
MAX_BYTES = 20 * 1024 * 1024
MAX_FILES = 20
MIN_RATINGS = 3
#: Shipped indicators (data, in the hospital's language), created the first time a hospital's residents rate.
DEFAULT_INDICATOR_NAMES = ("内容实用", "讲解清晰", "互动充分")


# ---------------------------------------------------------------- who may


def is_reviewer(user, activity: Activity) -> bool:
    """The training office of the activity's hospital (or of its parent, for a collaborating site)."""
    if not getattr(user, "is_authenticated", False):
        return False
    department = activity.department
    return bool(office_hospitals(user) & {department.hospital_id, department.hospital.parent_id})


def may_see_record(user, activity: Activity) -> bool:
    return can(user, "record", activity) or can(user, "attendance", activity) or is_reviewer(user, activity)


def has_ended(activity: Activity) -> bool:
    return activity.ends_at <= timezone.now()


def may_submit(user, activity: Activity) -> bool:
    record = getattr(activity, "record", None) if _has_record(activity) else None
    return (
        can(user, "record", activity)
        and has_ended(activity)
        and (record is None or record.status != RecordStatus.APPROVED)
    )


def _has_record(activity: Activity) -> bool:
    try:
        activity.record  # noqa: B018
    except ActivityRecord.DoesNotExist:
        return False
    return True


def record_of(activity: Activity) -> ActivityRecord | None:
    return activity.record if _has_record(activity) else None


# ---------------------------------------------------------------- records


def validate_record_files(photos: Iterable, slides: Iterable) -> list[tuple[object, str, str]]:
    """Every file checked (size, extension, content) before anything is stored: (file, kind, content type)."""
    checked, errors = [], []
    for files, kind, extensions in (
        (photos, FileKind.PHOTO, PHOTO_EXTENSIONS),
        (slides, FileKind.SLIDES, SLIDE_EXTENSIONS),
    ):
        for file in files or ():
            try:
                checked.append((file, kind, validate_upload(file, allowed_extensions=extensions, max_bytes=MAX_BYTES)))
            except ValidationError as exc:
                errors += exc.messages
    if errors:
        raise ValidationError(errors)
    return checked


def _office_users(activity: Activity):
    hospital = activity.department.hospital
    hospital_ids = [hospital.pk] + ([hospital.parent_id] if hospital.parent_id else [])
    return User.objects.filter(
        is_active=True,
        role_assignments__role=Role.TRAINING_OFFICE,
        role_assignments__hospital_id__in=hospital_ids,
    ).distinct()


@transaction.atomic
def record_submit(
    *, activity: Activity, summary: str, acting_user: User, photos: Iterable = (), slides: Iterable = ()
) -> ActivityRecord:
    """Submit (or resubmit after it was sent back) the record of an activity that has ended.

    Nothing is stored unless every check passes, files included. A record waiting for review may be
    completed (summary replaced, files added); an accepted record is final.
    """
    if not can(acting_user, "record", activity):
        raise PermissionDenied
    activity = Activity.objects.select_for_update().select_related("department__hospital").get(pk=activity.pk)
    summary = (summary or "").strip()
    errors = []
    if not has_ended(activity):
        errors.append(_("The record can be uploaded once the activity has ended."))
    record = ActivityRecord.objects.filter(activity=activity).first()
    if record is not None and record.status == RecordStatus.APPROVED:
        errors.append(_("This record has been accepted and can no longer be changed."))
    if not summary:
        errors.append(_("Write a short summary of the activity."))
    photos, slides = list(photos or ()), list(slides or ())
    try:
        checked = validate_record_files(photos, slides)
    except ValidationError as exc:
        checked = []
        errors += exc.messages
    existing = record.files.count() if record is not None else 0
    if not errors and existing + len(checked) == 0:
        errors.append(_("Add at least one live photo or the slides."))
    if existing + len(checked) > MAX_FILES:
        errors.append(_("A record holds at most %(max)s files.") % {"max": MAX_FILES})
    if errors:
        raise ValidationError(errors)

    old_status = record.status if record is not None else None
    if record is None:
        record = ActivityRecord.objects.create(activity=activity, summary=summary, submitted_by=acting_user)
    else:
        record.summary = summary
        record.status = RecordStatus.SUBMITTED
        record.submitted_by = acting_user
        record.submitted_at = timezone.now()
        record.reviewed_by = None
        record.reviewed_at = None
        record.save()
    for file, kind, content_type in checked:
        original = clean_filename(file.name)
        stored = RecordFile(record=record, kind=kind, original_name=original, size=file.size, content_type=content_type)
        stored.file.save(f"{uuid.uuid4().hex}.{extension_of(original)}", file, save=False)
        stored.save()
    audit_record(
        action="teaching.record.submit" if old_status is None else "teaching.record.resubmit",
        target=record,
        acting_user=acting_user,
        changes={"status": [old_status, RecordStatus.SUBMITTED]},
        activity=activity.uuid,
        files=len(checked),
    )
    url = reverse("teaching:records_detail", args=[activity.uuid])
    title = _("Teaching record to review: %(title)s") % {"title": activity.title}
    notify(_office_users(activity), title=title, url=url, kind="teaching.record")  # same database, same transaction
    return record


@transaction.atomic
def record_review(*, record: ActivityRecord, accept: bool, reason: str, acting_user: User) -> ActivityRecord:
    """The office accepts the record, or sends it back with a reason (the uploader is notified)."""
    record = (
        ActivityRecord.objects.select_for_update().select_related("activity__department__hospital").get(pk=record.pk)
    )
    if not is_reviewer(acting_user, record.activity):
        raise PermissionDenied
    reason = (reason or "").strip()
    if record.status != RecordStatus.SUBMITTED:
        raise ValidationError(_("This record is not waiting for review."))
    if not accept and not reason:
        raise ValidationError(_("Give the reason for sending the record back: the uploader reads it."))
    new_status = RecordStatus.APPROVED if accept else RecordStatus.REJECTED
    old_status = record.status
    record.status = new_status
    record.review_reason = reason
    record.reviewed_by = acting_user
    record.reviewed_at = timezone.now()
    record.save(update_fields=["status", "review_reason", "reviewed_by", "reviewed_at"])
    audit_record(
        action="teaching.record.accept" if accept else "teaching.record.send_back",
        target=record,
        acting_user=acting_user,
        changes={"status": [old_status, new_status]},
        reason=reason,
    )
    activity = record.activity
    if accept:
        title = _("Teaching record accepted: %(title)s") % {"title": activity.title}
    else:
        title = _("Teaching record sent back: %(title)s") % {"title": activity.title}
    url = reverse("teaching:records_detail", args=[activity.uuid])
    recipients = [record.submitted_by]
    notify(recipients, title=title, body=reason, url=url, kind="teaching.record")
    return record


# ---------------------------------------------------------------- ratings


def indicators_for(hospital: Hospital) -> list[RatingIndicator]:
    """The hospital's active indicators; the shipped three are created the first time none exist."""
    indicators = list(RatingIndicator.objects.filter(hospital=hospital, is_active=True))
    if not indicators and not RatingIndicator.objects.filter(hospital=hospital).exists():
        RatingIndicator.objects.bulk_create(
            [
                RatingIndicator(hospital=hospital, name=name, position=i)
                for i, name in enumerate(DEFAULT_INDICATOR_NAMES)
            ]
        )
        indicators = list(RatingIndicator.objects.filter(hospital=hospital, is_active=True))
    return indicators


def rating_hospital(activity: Activity) -> Hospital:
    hospital = activity.department.hospital
    return hospital.parent if hospital.parent_id else hospital


def checked_out(user, activity: Activity) -> bool:
    return Attendance.objects.filter(activity=activity, user=user, purpose=Purpose.CHECK_OUT).exists()


def own_rating(user, activity: Activity) -> Rating | None:
    return Rating.objects.filter(activity=activity, user=user).first()


def may_rate(user, activity: Activity) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and activity.status == ActivityStatus.APPROVED
        and checked_out(user, activity)
        and own_rating(user, activity) is None
    )


@transaction.atomic
def rating_submit(*, activity: Activity, scores: dict, comment: str, acting_user: User) -> Rating:
    """A resident who checked out rates the activity once: 1–5 on every active indicator."""
    if activity.status != ActivityStatus.APPROVED or not checked_out(acting_user, activity):
        raise ValidationError(_("Only residents who checked out of the activity can rate it."))
    indicators = indicators_for(rating_hospital(activity))
    clean = {}
    for indicator in indicators:
        value = scores.get(indicator.pk, scores.get(str(indicator.pk)))
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= 5:
            raise ValidationError(_("Give 1 to 5 stars for “%(name)s”.") % {"name": indicator.name})
        clean[str(indicator.pk)] = value
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                activity=activity, user=acting_user, scores=clean, comment=(comment or "").strip()[:2000]
            )
    except IntegrityError:
        raise ValidationError(_("You have already rated this activity.")) from None
    audit_record(action="teaching.rating.submit", target=rating, acting_user=acting_user, activity=activity.uuid)
    return rating


def _mean(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rating_summary(activity: Activity, viewer) -> dict:
    """What this viewer may see of the ratings.

    Returns {count, shown (aggregates visible), averages: [(indicator, mean)], overall, ratings (individual,
    office only), own (the viewer's own rating)}.
    """
    ratings = list(Rating.objects.filter(activity=activity).select_related("user"))
    indicators = indicators_for(rating_hospital(activity))
    reviewer = is_reviewer(viewer, activity)
    staff = reviewer or can(viewer, "attendance", activity)
    shown = staff and (reviewer or len(ratings) >= MIN_RATINGS)
    averages, everything = [], []
    if shown:
        for indicator in indicators:
            values = [r.scores[str(indicator.pk)] for r in ratings if str(indicator.pk) in r.scores]
            averages.append((indicator, _mean(values)))
            everything += values
    return {
        "count": len(ratings),
        "shown": shown,
        "threshold": MIN_RATINGS,
        "averages": averages,
        "overall": _mean(everything),
        "ratings": ratings if reviewer else [],
        "own": next((r for r in ratings if r.user_id == getattr(viewer, "pk", None)), None),
        "indicators": {str(i.pk): i.name for i in indicators},
    }
