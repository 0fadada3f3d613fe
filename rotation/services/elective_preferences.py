"""Elective preferences: windows the office opens, residents' rankings, and what the scheduler reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Hospital, SpecialtyBase
from core.audit import audit_record
from residents.models import ResidentProfile

from ..choices import RequirementKind
from ..models import (
    ElectivePreference,
    PreferenceWindow,
    ProgrammeRequirement,
)


# ---------------------------------------------------------------- elective preferences
@transaction.atomic
def open_window(
    *,
    hospital: Hospital,
    opens_at: datetime,
    closes_at: datetime,
    base: SpecialtyBase | None = None,
    cohort: int | None = None,
    acting_user,
) -> PreferenceWindow:
    """Open a period for residents (of a base / cohort, or all) to rank their electives."""
    if closes_at <= opens_at:
        raise ValidationError(_("The window must close after it opens."))
    if closes_at <= timezone.now():
        raise ValidationError(_("The window would close in the past."))
    if base is not None and base.hospital_id != hospital.pk:
        raise ValidationError(_("This specialty base belongs to another hospital."))
    window = PreferenceWindow.objects.create(
        hospital=hospital,
        base=base,
        cohort=cohort,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=acting_user,
    )
    audit_record(
        action="rotation.preference_window_open",
        target=window,
        acting_user=acting_user,
        changes={"opens_at": [None, opens_at.isoformat()], "closes_at": [None, closes_at.isoformat()],
                 "base": [None, base.code if base else None], "cohort": [None, cohort]},
    )  # fmt: skip
    return window


@transaction.atomic
def close_window(*, window: PreferenceWindow, acting_user) -> None:
    """Close now; a window that has not opened yet is cancelled."""
    now = timezone.now()
    if window.closes_at <= now:
        raise ValidationError(_("This window is closed already."))
    if window.opens_at >= now:
        audit_record(action="rotation.preference_window_cancel", target=window, acting_user=acting_user)
        window.delete()
        return
    audit_record(
        action="rotation.preference_window_close",
        target=window,
        acting_user=acting_user,
        changes={"closes_at": [window.closes_at.isoformat(), now.isoformat()]},
    )
    window.closes_at = now
    window.save(update_fields=["closes_at"])


def windows_for(resident: ResidentProfile) -> QuerySet[PreferenceWindow]:
    """Windows that concern a resident: their hospital, and their base and cohort where the window names one."""
    return PreferenceWindow.objects.filter(
        Q(base__isnull=True) | Q(base_id=resident.base_id),
        Q(cohort__isnull=True) | Q(cohort=resident.cohort),
        hospital_id=resident.base.hospital_id,
    )


def window_for(resident: ResidentProfile) -> PreferenceWindow | None:
    """The window open now for this resident, if any."""
    now = timezone.now()
    return windows_for(resident).filter(opens_at__lte=now, closes_at__gt=now).order_by("-closes_at").first()


def next_window_for(resident: ResidentProfile) -> PreferenceWindow | None:
    return windows_for(resident).filter(opens_at__gt=timezone.now()).order_by("opens_at").first()


def elective_groups(resident: ResidentProfile) -> list[ProgrammeRequirement]:
    """The elective groups of the resident's base programme, options prefetched."""
    return list(
        ProgrammeRequirement.objects.filter(programme__base_id=resident.base_id, kind=RequirementKind.ELECTIVE)
        .prefetch_related("options__hospital")
        .order_by("position", "pk")
    )


@transaction.atomic
def save_preferences(
    resident: ResidentProfile,
    requirement: ProgrammeRequirement,
    ranked_department_ids: Sequence[int],
    acting_user,
) -> list[int]:
    """Replace the resident's ranking of one elective group (first = rank 1) while a window is open for them."""
    if requirement.kind != RequirementKind.ELECTIVE or requirement.programme.base_id != resident.base_id:
        raise ValidationError(_("This is not an elective group of your programme."))
    if window_for(resident) is None:
        raise ValidationError(_("Elective preferences are closed: no window is open for you now."))
    ranked = [int(pk) for pk in ranked_department_ids]
    if len(set(ranked)) != len(ranked):
        raise ValidationError(_("Each department can be ranked only once."))
    options = set(requirement.options.values_list("pk", flat=True))
    if not set(ranked) <= options:
        raise ValidationError(_("Only the departments of this elective group can be ranked."))
    current = ElectivePreference.objects.filter(resident=resident, requirement=requirement)
    before = list(current.order_by("rank").values_list("department_id", flat=True))
    current.delete()
    ElectivePreference.objects.bulk_create(
        ElectivePreference(resident=resident, requirement=requirement, department_id=pk, rank=rank)
        for rank, pk in enumerate(ranked, start=1)
    )
    audit_record(
        action="rotation.preferences_save",
        target=resident,
        acting_user=acting_user,
        requirement=requirement.pk,
        changes={"ranking": [before, ranked]},
    )
    return ranked


def preferences_for(
    residents: Iterable[ResidentProfile | int],
) -> dict[int, dict[int, list[int]]]:
    """resident id -> elective group id -> department ids, most wanted first (one query, for the scheduler)."""
    ids = [r if isinstance(r, int) else r.pk for r in residents]
    result: dict[int, dict[int, list[int]]] = {pk: {} for pk in ids}
    rows = (
        ElectivePreference.objects.filter(resident_id__in=ids)
        .order_by("resident_id", "requirement_id", "rank")
        .values_list("resident_id", "requirement_id", "department_id")
    )
    for resident_id, requirement_id, department_id in rows:
        result[resident_id].setdefault(requirement_id, []).append(department_id)
    return result


def window_is_open(window: PreferenceWindow, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return window.opens_at <= now < window.closes_at
