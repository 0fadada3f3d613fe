"""Every change to a faculty archive goes through here, and every change is audited."""

import os
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.choices import UserStatus
from accounts.models import Department, SpecialtyBase, User
from core.audit import audit_record
from core.uploads import clean_filename, validate_upload

from .choices import RANK, Title
from .models import (
    Achievement,
    AnnualAssessment,
    FacultyProfile,
    FacultyTraining,
    QualificationRule,
    SupervisorQualification,
    TeachingPost,
)

#: What a training certificate may be: a scan (PDF) or a photo of it.
CERTIFICATE_EXTENSIONS = frozenset({"pdf", "png", "jpg", "jpeg"})
CERTIFICATE_MAX_BYTES = 10 * 1024 * 1024

#: The archive fields the office edits (the rest is the account's or is derived).
PROFILE_FIELDS = ("department", "title", "title_since", "teaching_since", "specialty", "education")


def _plain(value: Any) -> Any:
    """A value as the audit log shows it: a department by its code, dates as ISO strings."""
    if isinstance(value, Department | SpecialtyBase):
        return value.code
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _lock(profile: FacultyProfile) -> FacultyProfile:
    """Serialise writes to one teacher's archive (two office clerks granting at once)."""
    return FacultyProfile.objects.select_for_update().get(pk=profile.pk)


# ---------------------------------------------------------------- the archive itself
@transaction.atomic
def faculty_create(
    *,
    user: User,
    department: Department,
    title: str,
    title_since: date | None = None,
    teaching_since: date | None = None,
    specialty: str = "",
    education: str = "",
    acting_user: User,
) -> FacultyProfile:
    """Open a teaching archive for an existing account: one per person, active accounts only."""
    if user.status != UserStatus.ACTIVE:
        raise ValidationError(_("%(name)s's account is not active.") % {"name": user.display_name}, code="inactive")
    if FacultyProfile.objects.filter(user=user).exists():
        raise ValidationError(
            _("%(name)s already has a teaching archive.") % {"name": user.display_name}, code="duplicate"
        )
    values = {
        "department": department,
        "title": title,
        "title_since": title_since,
        "teaching_since": teaching_since,
        "specialty": specialty,
        "education": education,
    }
    try:
        with transaction.atomic():
            profile = FacultyProfile.objects.create(user=user, **values)
    except IntegrityError:  # the same account opened twice at once
        raise ValidationError(
            _("%(name)s already has a teaching archive.") % {"name": user.display_name}, code="duplicate"
        ) from None
    audit_record(
        action="faculty.create",
        target=profile,
        acting_user=acting_user,
        changes={name: [None, _plain(value)] for name, value in values.items() if value not in (None, "")},
        account=user.username,
    )
    return profile


@transaction.atomic
def faculty_update(*, profile: FacultyProfile, acting_user: User, **values: Any) -> FacultyProfile:
    """Change the office-kept fields; the audit event names each changed field with old and new."""
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"not an editable archive field: {', '.join(sorted(unknown))}")
    profile = _lock(profile)
    changes = {}
    for name, new in values.items():
        old = getattr(profile, name)
        if _plain(old) != _plain(new):
            changes[name] = [_plain(old), _plain(new)]
            setattr(profile, name, new)
    if changes:
        profile.save()
        audit_record(action="faculty.edit", target=profile, acting_user=acting_user, changes=changes)
    return profile


# ---------------------------------------------------------------- 指导医师准入
def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def rule_shortfalls(
    profile: FacultyProfile, rule: QualificationRule | None = None, on: date | None = None
) -> list[str]:
    """What this teacher still lacks for 指导医师准入 under the rule; empty when the rule is met."""
    rule = rule or QualificationRule.current()
    on = on or timezone.localdate()
    missing: list[str] = []
    if RANK.get(profile.title, -1) < RANK[rule.min_title]:
        missing.append(
            _("The title must be %(title)s or above (now %(current)s).")
            % {"title": Title(rule.min_title).label, "current": profile.get_title_display()}
        )
    years = profile.teaching_years(on)
    if years < rule.min_teaching_years:
        missing.append(
            ngettext(
                "At least %(need)d year of teaching is required (now %(have)d).",
                "At least %(need)d years of teaching are required (now %(have)d).",
                rule.min_teaching_years,
            )
            % {"need": rule.min_teaching_years, "have": years}
        )
    return missing


@transaction.atomic
def qualification_grant(
    *, profile: FacultyProfile, acting_user: User, granted_on: date | None = None, note: str = ""
) -> SupervisorQualification:
    """Grant 指导医师准入 when the current rule is met on the day of the grant; it lapses after the
    rule's validity. A teacher holds at most one valid qualification at a time."""
    profile = _lock(profile)
    granted_on = granted_on or timezone.localdate()
    if granted_on > timezone.localdate():
        raise ValidationError(_("A qualification cannot be granted for a future date."), code="future")
    rule = QualificationRule.current()
    missing = rule_shortfalls(profile, rule, on=granted_on)
    if missing:
        raise ValidationError(
            [_("%(name)s does not meet the qualification rule:") % {"name": profile.user.display_name}, *missing],
            code="rule",
        )
    current = profile.qualifications.valid_on(granted_on).order_by("-expires_on").first()
    if current is not None:
        raise ValidationError(
            _("%(name)s already holds a valid qualification (granted %(granted)s, valid until %(until)s).")
            % {
                "name": profile.user.display_name,
                "granted": current.granted_on,
                "until": current.expires_on or _("no expiry"),
            },
            code="duplicate",
        )
    qualification = SupervisorQualification.objects.create(
        faculty=profile,
        granted_on=granted_on,
        expires_on=_add_years(granted_on, rule.validity_years),
        granted_by=acting_user,
        note=note.strip(),
    )
    audit_record(
        action="faculty.qualification.grant",
        target=profile,
        acting_user=acting_user,
        changes={"granted_on": [None, qualification.granted_on.isoformat()],
                 "expires_on": [None, qualification.expires_on.isoformat()]},
        qualification=qualification.uuid,
        rule=f"{rule.min_title}/{rule.min_teaching_years}y/{rule.validity_years}y",
    )  # fmt: skip
    return qualification


@transaction.atomic
def qualification_revoke(
    *, qualification: SupervisorQualification, reason: str, acting_user: User, revoked_on: date | None = None
) -> SupervisorQualification:
    """Withdraw a valid qualification before its expiry; the reason is kept with it and in the audit log."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason for revoking the qualification."), code="reason")
    _lock(qualification.faculty)
    qualification = SupervisorQualification.objects.select_for_update().get(pk=qualification.pk)
    revoked_on = revoked_on or timezone.localdate()
    if not qualification.is_valid(revoked_on):
        raise ValidationError(_("Only a valid qualification can be revoked."), code="not_valid")
    qualification.revoked_on = revoked_on
    qualification.note = " · ".join(part for part in (qualification.note, reason) if part)[:200]
    qualification.save(update_fields=["revoked_on", "note"])
    audit_record(
        action="faculty.qualification.revoke",
        target=qualification.faculty,
        acting_user=acting_user,
        changes={"revoked_on": [None, revoked_on.isoformat()]},
        qualification=qualification.uuid,
        reason=reason,
    )
    return qualification


# ---------------------------------------------------------------- 师资培训, posts, achievements
@transaction.atomic
def training_add(
    *,
    profile: FacultyProfile,
    name: str,
    level: str,
    start_date: date,
    acting_user: User,
    organiser: str = "",
    end_date: date | None = None,
    hours: Decimal | None = None,
    certificate_number: str = "",
    certificate=None,
) -> FacultyTraining:
    """Record a faculty-development course; a certificate is checked (type, size, real content)
    before anything is written and stored under a random name."""
    if end_date and end_date < start_date:
        raise ValidationError(_("The course cannot end before it starts."), code="dates")
    content_type = ""
    if certificate:
        content_type = validate_upload(
            certificate, allowed_extensions=CERTIFICATE_EXTENSIONS, max_bytes=CERTIFICATE_MAX_BYTES
        )
    training = FacultyTraining(
        faculty=profile, name=name.strip(), organiser=organiser.strip(), level=level, start_date=start_date,
        end_date=end_date, hours=hours, certificate_number=certificate_number.strip(),
    )  # fmt: skip
    if certificate:
        original = clean_filename(certificate.name)
        training.certificate_name = original
        training.certificate_type = content_type
        extension = os.path.splitext(original)[1].lower()
        training.certificate.save(f"{uuid.uuid4().hex}{extension}", certificate, save=False)
    training.save()
    audit_record(
        action="faculty.training.add",
        target=profile,
        acting_user=acting_user,
        changes={"training": [None, training.name]},
        training=training.uuid,
        certificate=training.certificate_name,
    )
    return training


@transaction.atomic
def training_delete(*, training: FacultyTraining, acting_user: User) -> None:
    """Remove a training record; its certificate file is deleted once the removal is committed."""
    profile, name, file_name = training.faculty, training.name, training.certificate.name
    storage = training.certificate.storage
    training_uuid = training.uuid
    training.delete()
    if file_name:
        transaction.on_commit(lambda: storage.delete(file_name))
    audit_record(
        action="faculty.training.delete",
        target=profile,
        acting_user=acting_user,
        changes={"training": [name, None]},
        training=training_uuid,
    )


@transaction.atomic
def post_add(
    *,
    profile: FacultyProfile,
    kind: str,
    start_date: date,
    acting_user: User,
    department: Department | None = None,
    base: SpecialtyBase | None = None,
    end_date: date | None = None,
) -> TeachingPost:
    """Record a teaching post (教学主任 and others that are not sign-in roles) with its period."""
    if end_date and end_date < start_date:
        raise ValidationError(_("A post cannot end before it starts."), code="dates")
    post = TeachingPost.objects.create(
        faculty=profile, kind=kind, department=department, base=base, start_date=start_date, end_date=end_date
    )
    audit_record(
        action="faculty.post.add",
        target=profile,
        acting_user=acting_user,
        changes={"post": [None, post.kind], "start_date": [None, start_date.isoformat()],
                 "end_date": [None, _plain(end_date)]},
    )  # fmt: skip
    return post


@transaction.atomic
def post_delete(*, post: TeachingPost, acting_user: User) -> None:
    profile, kind, start = post.faculty, post.kind, post.start_date
    post.delete()
    audit_record(
        action="faculty.post.delete",
        target=profile,
        acting_user=acting_user,
        changes={"post": [kind, None], "start_date": [start.isoformat(), None]},
    )


@transaction.atomic
def achievement_add(
    *,
    profile: FacultyProfile,
    kind: str,
    title: str,
    date: date,
    acting_user: User,
    level: str = "",
    detail: str = "",
) -> Achievement:
    achievement = Achievement.objects.create(
        faculty=profile, kind=kind, title=title.strip(), date=date, level=level.strip(), detail=detail.strip()
    )
    audit_record(
        action="faculty.achievement.add",
        target=profile,
        acting_user=acting_user,
        changes={"achievement": [None, achievement.title], "kind": [None, kind], "date": [None, date.isoformat()]},
    )
    return achievement


@transaction.atomic
def achievement_delete(*, achievement: Achievement, acting_user: User) -> None:
    profile, title = achievement.faculty, achievement.title
    achievement.delete()
    audit_record(
        action="faculty.achievement.delete",
        target=profile,
        acting_user=acting_user,
        changes={"achievement": [title, None]},
    )


# ---------------------------------------------------------------- 年度考核
@transaction.atomic
def assessment_add(
    *,
    profile: FacultyProfile,
    year: int,
    result: str,
    acting_user: User,
    score: Decimal | None = None,
    note: str = "",
) -> AnnualAssessment:
    """Record the year's teaching assessment: one per teacher and year."""
    profile = _lock(profile)
    if profile.assessments.filter(year=year).exists():
        raise ValidationError(
            _("%(year)s already has an assessment for %(name)s. Edit that one instead.")
            % {"year": year, "name": profile.user.display_name},
            code="duplicate",
        )
    assessment = AnnualAssessment.objects.create(
        faculty=profile, year=year, result=result, score=score, note=note.strip(), assessed_by=acting_user
    )
    audit_record(
        action="faculty.assessment.add",
        target=profile,
        acting_user=acting_user,
        changes={"year": [None, year], "result": [None, result], "score": [None, _plain(score)]},
    )
    return assessment


@transaction.atomic
def assessment_update(
    *, assessment: AnnualAssessment, result: str, acting_user: User, score: Decimal | None = None, note: str = ""
) -> AnnualAssessment:
    """Correct a year's assessment; the year itself stays (a different year is a new assessment)."""
    assessment = AnnualAssessment.objects.select_for_update().get(pk=assessment.pk)
    changes = {}
    for name, new in (("result", result), ("score", score), ("note", note.strip())):
        old = getattr(assessment, name)
        if _plain(old) != _plain(new):
            changes[name] = [_plain(old), _plain(new)]
            setattr(assessment, name, new)
    if changes:
        assessment.assessed_by = acting_user
        assessment.save()
        audit_record(
            action="faculty.assessment.edit",
            target=assessment.faculty,
            acting_user=acting_user,
            changes=changes,
            year=assessment.year,
        )
    return assessment
