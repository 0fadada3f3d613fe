"""Reads about one batch: places per base, its residents, registrations waiting for it."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from accounts.choices import Role, UserStatus
from accounts.models import RoleAssignment, SpecialtyBase, User

from ..models import EnrollmentBatch, ResidentProfile


@dataclass(frozen=True)
class QuotaLine:
    base: SpecialtyBase
    quota: int
    enrolled: int

    @property
    def remaining(self) -> int:
        return max(self.quota - self.enrolled, 0)


def enrolled_counts(batch: EnrollmentBatch) -> dict[int, int]:
    """Residents of the batch per base id (whatever their status: a withdrawn resident used a place)."""
    rows = ResidentProfile.objects.filter(batch=batch).values("base_id").annotate(n=Count("pk"))
    return {row["base_id"]: row["n"] for row in rows}


def quota_lines(batch: EnrollmentBatch) -> list[QuotaLine]:
    """One line per base of the batch, in base-code order; two queries."""
    counts = enrolled_counts(batch)
    quotas = batch.quotas.select_related("base").order_by("base__code")
    return [QuotaLine(base=q.base, quota=q.quota, enrolled=counts.get(q.base_id, 0)) for q in quotas]


def batch_residents(batch: EnrollmentBatch) -> QuerySet[ResidentProfile]:
    return (
        ResidentProfile.objects.filter(batch=batch)
        .select_related("user", "base")
        .order_by("base__code", "user__username", "pk")
    )


@dataclass(frozen=True)
class PendingRegistration:
    user: User
    base: SpecialtyBase


def pending_registrations(batch: EnrollmentBatch) -> list[PendingRegistration]:
    """Approved self-registrations waiting for this batch.

    The registration workflow activates the account and gives it the resident role in the
    base applied for (accounts.services.registration_approved); it has no archive yet.
    """
    base_ids = list(batch.quotas.values_list("base_id", flat=True))
    assignments = (
        RoleAssignment.objects.active_on()
        .filter(
            role=Role.RESIDENT,
            base_id__in=base_ids,
            user__status=UserStatus.ACTIVE,
            user__resident_profile__isnull=True,
        )
        .select_related("user", "base")
        .order_by("base__code", "user__real_name", "user__pk", "pk")
    )
    pending: dict[int, PendingRegistration] = {}
    for assignment in assignments:
        # Someone holding the role in two bases of the batch is offered once, in the first base.
        pending.setdefault(assignment.user_id, PendingRegistration(user=assignment.user, base=assignment.base))
    return list(pending.values())
