"""Writes of enrollment: batches and their quotas, the import commit, accepting registrations.

Every place a resident takes is counted under a lock on the batch row, so two offices
importing into the same batch at once cannot both fill its last place.
"""

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.imports import account_from_row
from accounts.models import Hospital, SpecialtyBase, User
from accounts.services import role_assign
from accounts.validators import validate_id_number
from core.audit import audit_record

from ..choices import BatchStatus, RevisionSource, TrainingStatus
from ..models import EnrollmentBatch, EnrollmentQuota, ResidentProfile
from ..services import in_archive_language, revision_record
from .selectors import enrolled_counts, pending_registrations, quota_lines
from .validation import EnrollmentRow, birth_date_of, gender_of


class EnrollmentError(Exception):
    """A business rule refused the write; `message` is for the office, nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BatchClosed(EnrollmentError):
    pass


class QuotaExceeded(EnrollmentError):
    pass


@dataclass(frozen=True)
class EnrolledResident:
    profile: ResidentProfile
    #: shown once on the result page so the office can hand it out; never stored or logged in clear
    initial_password: str

    @property
    def user(self) -> User:
        return self.profile.user


# --- batches ---------------------------------------------------------------------------------


def _quota_text(quotas: Mapping[SpecialtyBase, int]) -> str:
    return "、".join(f"{base.code} {base.name}: {n}" for base, n in sorted(quotas.items(), key=lambda i: i[0].code))


@transaction.atomic
def batch_open(
    *,
    hospital: Hospital,
    year: int,
    name: str,
    start_date: datetime.date,
    note: str = "",
    quotas: Mapping[SpecialtyBase, int],
    acting_user: User,
) -> EnrollmentBatch:
    """Open an admission round; only bases with a positive quota take part."""
    quotas = {base: n for base, n in quotas.items() if n}
    if any(base.hospital_id != hospital.pk for base in quotas):
        raise ValueError("every base of a batch belongs to the batch's hospital")
    batch = EnrollmentBatch.objects.create(
        hospital=hospital,
        year=year,
        name=name,
        start_date=start_date,
        note=note,
        opened_by=acting_user,
        status=BatchStatus.OPEN,
    )
    EnrollmentQuota.objects.bulk_create(EnrollmentQuota(batch=batch, base=b, quota=n) for b, n in quotas.items())
    audit_record(
        action="enrollment.batch_open",
        target=batch,
        acting_user=acting_user,
        changes={
            "year": [None, year],
            "name": [None, name],
            "start_date": [None, start_date.isoformat()],
            "quotas": [None, _quota_text(quotas)],
        },
    )
    return batch


@transaction.atomic
def batch_update(
    *,
    batch: EnrollmentBatch,
    name: str,
    start_date: datetime.date,
    note: str,
    quotas: Mapping[SpecialtyBase, int],
    acting_user: User,
) -> dict[str, list[Any]]:
    """Rename, move the start date (only while nobody is enrolled) or change quotas (never below the enrolled).

    A base whose quota becomes 0 leaves the batch, unless someone is enrolled in it.
    Returns {field: [before, after]}; empty when nothing changed.
    """
    locked = EnrollmentBatch.objects.select_for_update().get(pk=batch.pk)
    counts = enrolled_counts(locked)
    existing = {q.base_id: q for q in locked.quotas.select_related("base")}
    below = [(base, n, counts.get(base.pk, 0)) for base, n in quotas.items() if (n or 0) < counts.get(base.pk, 0)]
    if below:
        raise QuotaExceeded(
            "; ".join(
                _("%(base)s: a quota of %(quota)d is below the %(enrolled)d residents enrolled already.")
                % {"base": base.name, "quota": n or 0, "enrolled": enrolled}
                for base, n, enrolled in below
            )
        )
    if start_date != locked.start_date and sum(counts.values()):
        raise EnrollmentError(_("The training start date cannot change once residents are enrolled."))
    if any(base.hospital_id != locked.hospital_id for base in quotas):
        raise ValueError("every base of a batch belongs to the batch's hospital")

    changes: dict[str, list[Any]] = {}
    for field, value in (("name", name), ("start_date", start_date), ("note", note)):
        old = getattr(locked, field)
        if old != value:
            setattr(locked, field, value)
            changes[field] = [str(old), str(value)]
    before = {q.base: q.quota for q in existing.values()}
    for base, n in quotas.items():
        quota = existing.get(base.pk)
        if quota is None and n:
            EnrollmentQuota.objects.create(batch=locked, base=base, quota=n)
        elif quota is not None and not n:
            quota.delete()
        elif quota is not None and quota.quota != n:
            quota.quota = n
            quota.save(update_fields=["quota"])
    after = {q.base: q.quota for q in locked.quotas.select_related("base")}
    if before != after:
        changes["quotas"] = [_quota_text(before), _quota_text(after)]
    if not changes:
        return {}
    locked.save()
    audit_record(action="enrollment.batch_edit", target=locked, acting_user=acting_user, changes=changes)
    batch.refresh_from_db()
    return changes


@transaction.atomic
def batch_toggle(*, batch: EnrollmentBatch, acting_user: User) -> EnrollmentBatch:
    """Close an open batch (no more imports or acceptances), or open a closed one again."""
    locked = EnrollmentBatch.objects.select_for_update().get(pk=batch.pk)
    old = locked.status
    locked.status = BatchStatus.CLOSED if locked.is_open else BatchStatus.OPEN
    locked.save(update_fields=["status"])
    action = "enrollment.batch_close" if locked.status == BatchStatus.CLOSED else "enrollment.batch_reopen"
    audit_record(action=action, target=locked, acting_user=acting_user, changes={"status": [old, locked.status]})
    batch.status = locked.status
    return locked


# --- enrolling -------------------------------------------------------------------------------


def planned_end_date(start: datetime.date, years: int) -> datetime.date:
    """The day before the same date `years` later: 2026-09-01 + 3 years -> 2029-08-31."""
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        anniversary = datetime.date(start.year + years, 3, 1)
    return anniversary - datetime.timedelta(days=1)


def _lock_open(batch: EnrollmentBatch) -> EnrollmentBatch:
    locked = EnrollmentBatch.objects.select_for_update().get(pk=batch.pk)
    if not locked.is_open:
        raise BatchClosed(_("This batch is closed; open it again to enroll residents."))
    return locked


def _check_places(batch: EnrollmentBatch, wanted: Counter) -> None:
    """Under the batch lock: do the places left cover what is wanted, base by base?"""
    lines = {line.base.pk: line for line in quota_lines(batch)}
    over = []
    for base_id, n in wanted.items():
        line = lines.get(base_id)
        if line is None:
            raise QuotaExceeded(_("A specialty base is no longer part of this batch."))
        if n > line.remaining:
            over.append(
                _("%(base)s has %(remaining)d places left, not %(wanted)d.")
                % {"base": line.base.name, "remaining": line.remaining, "wanted": n}
            )
    if over:
        raise QuotaExceeded(" ".join(over))


class _StudentNumbers:
    """学号 year + base code + a 3-digit sequence, e.g. 20260100001, unique as username and staff number."""

    def __init__(self, year: int) -> None:
        self.year = year
        self.next: dict[str, int] = {}
        self.taken: set[str] = set()

    def _start(self, prefix: str) -> int:
        used = User.objects.filter(Q(username__startswith=prefix) | Q(staff_number__startswith=prefix))
        highest = 0
        for username, staff_number in used.values_list("username", "staff_number"):
            for value in (username, staff_number or ""):
                self.taken.add(value.casefold())
                suffix = value[len(prefix) :]
                if value.startswith(prefix) and suffix.isdigit():
                    highest = max(highest, int(suffix))
        return highest + 1

    def take(self, base: SpecialtyBase) -> str:
        prefix = f"{self.year}{base.code}"
        n = self.next.get(prefix) or self._start(prefix)
        while f"{prefix}{n:03d}".casefold() in self.taken:
            n += 1
        self.next[prefix] = n + 1
        number = f"{prefix}{n:03d}"
        self.taken.add(number.casefold())
        return number


def _field_label(name: str) -> str:
    return str(ResidentProfile._meta.get_field(name).verbose_name)


@in_archive_language
def _profile_create(
    *, batch: EnrollmentBatch, user: User, base: SpecialtyBase, acting_user: User, note: str, **fields: Any
) -> ResidentProfile:
    """The archive of a newly enrolled resident, and the first line of its history."""
    years = fields.pop("training_years", None) or 3
    profile = ResidentProfile.objects.create(
        user=user,
        batch=batch,
        base=base,
        cohort=batch.year,
        training_years=years,
        start_date=batch.start_date,
        planned_end_date=planned_end_date(batch.start_date, years),
        status=TrainingStatus.IN_TRAINING,
        status_since=batch.start_date,
        **fields,
    )
    changes = {
        _field_label("batch"): ["", str(batch)],
        _field_label("base"): ["", base.name],
        _field_label("cohort"): ["", str(profile.cohort)],
        _field_label("category"): ["", profile.get_category_display()],
        _field_label("training_years"): ["", str(profile.training_years)],
        _field_label("start_date"): ["", profile.start_date.isoformat()],
        _field_label("planned_end_date"): ["", profile.planned_end_date.isoformat()],
    }
    revision_record(
        profile=profile, acting_user=acting_user, source=RevisionSource.ENROLLMENT, changes=changes, note=note
    )
    return profile


@transaction.atomic
def enrollment_import_commit(
    *,
    batch: EnrollmentBatch,
    rows: Sequence[EnrollmentRow],
    acting_user: User,
    source: str = "",
    skipped: int = 0,
) -> list[EnrolledResident]:
    """Create, all or nothing, an account, the resident role and the archive for each checked row.

    Imported residents get a student number as username, a random initial password and
    `must_change_password`, so the first sign-in leads straight to choosing their own.
    """
    if not rows or any(not r.is_valid or r.base is None for r in rows):
        raise ValueError("enrollment_import_commit takes only rows that passed validate_rows()")
    locked = _lock_open(batch)
    _check_places(locked, Counter(r.base.pk for r in rows))
    numbers = _StudentNumbers(locked.year)
    note = _("Enrolled from %(file)s") % {"file": source} if source else str(locked)
    enrolled: list[EnrolledResident] = []
    for row in rows:
        number = numbers.take(row.base)
        user, password = account_from_row(row, username=number, staff_number=number)
        role_assign(user=user, role=Role.RESIDENT, base=row.base, acting_user=acting_user)
        profile = _profile_create(
            batch=locked,
            user=user,
            base=row.base,
            acting_user=acting_user,
            note=note,
            gender=row.gender,
            birth_date=row.birth_date,
            category=row.category,
            sending_unit=row.value("sending_unit"),
            training_years=row.training_years,
            school=row.value("school"),
            major=row.value("major"),
            education_level=row.education_level,
            degree=row.degree,
            graduation_date=row.graduation_date,
            fresh_graduate=row.fresh_graduate,
        )
        audit_record(
            action="enrollment.import",
            target=profile,
            acting_user=acting_user,
            changes={
                "id_number": [None, user.id_number],
                "phone": [None, user.phone],
                "base": [None, row.base.code],
                "status": [None, profile.status],
            },
            batch=locked.uuid,
            username=user.username,
            row=row.number,
            source=source,
        )
        enrolled.append(EnrolledResident(profile=profile, initial_password=password))
    audit_record(
        action="enrollment.import_batch",
        target=locked,
        acting_user=acting_user,
        created=len(enrolled),
        skipped=skipped,
        source=source,
    )
    return enrolled


@transaction.atomic
def registrations_accept(
    *, batch: EnrollmentBatch, user_ids: Iterable[int], acting_user: User
) -> list[ResidentProfile]:
    """Give approved self-registrations of the batch's bases their archive, all or nothing.

    They keep the username and password they chose; they get a student number as staff
    number when they have none. Gender and birth date come from the ID number.
    """
    locked = _lock_open(batch)
    pending = {p.user.pk: p for p in pending_registrations(locked)}
    wanted = list(dict.fromkeys(user_ids))
    missing = [pk for pk in wanted if pk not in pending]
    if missing or not wanted:
        raise EnrollmentError(
            _("Some of the chosen people are no longer waiting for enrollment. Check the list again.")
        )
    chosen = [pending[pk] for pk in wanted]
    _check_places(locked, Counter(p.base.pk for p in chosen))
    numbers = _StudentNumbers(locked.year)
    note = _("Accepted registration into %(batch)s") % {"batch": locked}
    profiles: list[ResidentProfile] = []
    for item in chosen:
        user = item.user
        identity: dict[str, Any] = {}
        if _valid_id(user.id_number):
            identity = {"gender": gender_of(user.id_number), "birth_date": birth_date_of(user.id_number)}
        if not user.staff_number:
            user.staff_number = numbers.take(item.base)
            user.save(update_fields=["staff_number"])
        profile = _profile_create(
            batch=locked, user=user, base=item.base, acting_user=acting_user, note=note, **identity
        )
        audit_record(
            action="enrollment.accept",
            target=profile,
            acting_user=acting_user,
            changes={"base": [None, item.base.code], "status": [None, profile.status]},
            batch=locked.uuid,
            username=user.username,
            staff_number=user.staff_number,
        )
        profiles.append(profile)
    return profiles


def _valid_id(value: str) -> bool:
    try:
        validate_id_number(value)
    except ValidationError:
        return False
    return True
