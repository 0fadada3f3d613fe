"""Departments' rotation settings: capacity per month (closed months, minimums) and the supervising doctors
they make available (指导医师分配). The scheduler reads `capacities` and the DepartmentSupervisor rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Department
from core.audit import audit_record

from ..models import (
    DepartmentMonth,
    DepartmentSetting,
    DepartmentSupervisor,
)
from ..months import month_list as month_range
from ..months import month_start
from .programmes import DEFAULT_CAPACITY, default_supervisor_ratio


# ---------------------------------------------------------------- department settings and months
def department_capacity(department: Department, months: list[date]) -> list[tuple[int, int, bool]]:
    """(capacity, minimum, closed) for each month; a closed month is (0, 0, True)."""
    if not months:
        return []
    first = min(month_start(m) for m in months)
    last = max(month_start(m) for m in months)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    by_month = dict(zip(month_range(first, count), capacities([department], first, count)[department.pk], strict=True))
    return [by_month[month_start(m)] for m in months]


def capacities(
    departments: Iterable[Department | int], first_month: date, count: int
) -> dict[int, list[tuple[int, int, bool]]]:
    """Bulk `department_capacity` for consecutive months, in two queries whatever the number of departments.

    A month's DepartmentMonth row overrides the DepartmentSetting (capacity/minimum left empty there keep
    the setting's); a department without a setting has capacity DEFAULT_CAPACITY and minimum 0.
    """
    ids = [d if isinstance(d, int) else d.pk for d in departments]
    months = month_range(first_month, count)
    defaults = {pk: (DEFAULT_CAPACITY, 0) for pk in ids}
    for pk, capacity, minimum in DepartmentSetting.objects.filter(department_id__in=ids).values_list(
        "department_id", "capacity", "minimum"
    ):
        defaults[pk] = (capacity, minimum)
    overrides = {
        (row.department_id, row.month): row
        for row in DepartmentMonth.objects.filter(department_id__in=ids, month__gte=months[0], month__lte=months[-1])
        if months
    }
    result: dict[int, list[tuple[int, int, bool]]] = {}
    for pk in ids:
        capacity, minimum = defaults[pk]
        row_values = []
        for month in months:
            row = overrides.get((pk, month))
            if row is None:
                row_values.append((capacity, minimum, False))
            elif row.closed:
                row_values.append((0, 0, True))
            else:
                row_values.append(
                    (
                        capacity if row.capacity is None else row.capacity,
                        minimum if row.minimum is None else row.minimum,
                        False,
                    )
                )
        result[pk] = row_values
    return result


def setting_for(department: Department) -> DepartmentSetting:
    """The department's setting, or an unsaved one with the defaults."""
    try:
        return department.rotation_setting
    except DepartmentSetting.DoesNotExist:
        return DepartmentSetting(
            department=department,
            capacity=DEFAULT_CAPACITY,
            residents_per_supervisor=default_supervisor_ratio(department),
        )


@transaction.atomic
def department_setting_save(
    *, department: Department, capacity: int, minimum: int, residents_per_supervisor: int, acting_user
) -> DepartmentSetting:
    if capacity < 0 or minimum < 0:
        raise ValidationError(_("Capacity and minimum cannot be negative."))
    if minimum > capacity:
        raise ValidationError(_("The minimum (%(minimum)s) is above the capacity (%(capacity)s).") % {
            "minimum": minimum, "capacity": capacity})  # fmt: skip
    if residents_per_supervisor < 1:
        raise ValidationError(_("A supervising doctor takes at least one resident."))
    setting = setting_for(department)
    before = {n: getattr(setting, n) for n in ("capacity", "minimum", "residents_per_supervisor")}
    setting.capacity, setting.minimum = capacity, minimum
    setting.residents_per_supervisor = residents_per_supervisor
    setting.save()
    changes = {n: [before[n], getattr(setting, n)] for n in before if before[n] != getattr(setting, n)}
    audit_record(action="rotation.department_setting", target=department, acting_user=acting_user, changes=changes)
    return setting


@transaction.atomic
def department_months_set(
    *,
    department: Department,
    first: date,
    last: date,
    capacity: int | None,
    minimum: int | None,
    closed: bool,
    note: str = "",
    acting_user,
) -> int:
    """Set every month from `first` to `last`: another capacity/minimum, or closed. All empty = the defaults.

    Returns the number of months set.
    """
    first, last = month_start(first), month_start(last)
    if last < first:
        raise ValidationError(_("The last month is before the first."))
    if (capacity is not None and capacity < 0) or (minimum is not None and minimum < 0):
        raise ValidationError(_("Capacity and minimum cannot be negative."))
    setting = setting_for(department)
    effective_capacity = setting.capacity if capacity is None else capacity
    effective_minimum = setting.minimum if minimum is None else minimum
    if not closed and effective_minimum > effective_capacity:
        raise ValidationError(_("The minimum (%(minimum)s) is above the capacity (%(capacity)s).") % {
            "minimum": effective_minimum, "capacity": effective_capacity})  # fmt: skip
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    months = month_range(first, count)
    reset = capacity is None and minimum is None and not closed and not note
    DepartmentMonth.objects.filter(department=department, month__in=months).delete()
    if not reset:
        DepartmentMonth.objects.bulk_create(
            DepartmentMonth(
                department=department, month=m, capacity=capacity, minimum=minimum, closed=closed, note=note
            )
            for m in months
        )
    audit_record(
        action="rotation.department_months",
        target=department,
        acting_user=acting_user,
        changes={"months": [None, f"{first:%Y-%m}..{last:%Y-%m}"], "capacity": [None, capacity],
                 "minimum": [None, minimum], "closed": [None, closed], "reset": [None, reset]},
    )  # fmt: skip
    return count


# ---------------------------------------------------------------- supervisors made available (指导医师分配)
def qualified_user_ids(user_ids: Iterable[int], day: date | None = None) -> set[int]:
    """Who holds a current 指导医师准入 (faculty's SupervisorQualification valid on `day`)."""
    from faculty.models import SupervisorQualification

    return set(
        SupervisorQualification.objects.valid_on(day)
        .filter(faculty__user_id__in=list(user_ids))
        .values_list("faculty__user_id", flat=True)
    )


def supervisor_candidates(department: Department):
    """Users holding the supervisor role in the department now, not yet made available."""
    from accounts.choices import Role
    from accounts.models import RoleAssignment, User

    holders = RoleAssignment.objects.active_on().filter(role=Role.SUPERVISOR, department=department)
    taken = DepartmentSupervisor.objects.filter(department=department).values("user_id")
    return (
        User.objects.filter(pk__in=holders.values("user_id"), is_active=True)
        .exclude(pk__in=taken)
        .order_by("real_name", "username")
    )


@transaction.atomic
def supervisor_add(
    *, department: Department, user, max_residents: int | None = None, acting_user
) -> tuple[DepartmentSupervisor, bool]:
    """Make a supervisor available in the department. Returns (row, qualified now): unqualified is a warning only."""
    if (
        not supervisor_candidates(department).filter(pk=user.pk).exists()
        and not DepartmentSupervisor.objects.filter(department=department, user=user).exists()
    ):
        raise ValidationError(_("%(name)s is not a supervising doctor of this department.") % {"name": user})
    row, _created = DepartmentSupervisor.objects.update_or_create(
        department=department, user=user, defaults={"max_residents": max_residents, "is_active": True}
    )
    audit_record(
        action="rotation.supervisor_add",
        target=department,
        acting_user=acting_user,
        changes={"supervisor": [None, user.display_name], "max_residents": [None, max_residents]},
    )
    return row, user.pk in qualified_user_ids([user.pk])


@transaction.atomic
def supervisor_update(*, row: DepartmentSupervisor, max_residents: int | None, is_active: bool, acting_user) -> None:
    if max_residents is not None and max_residents < 1:
        raise ValidationError(_("A supervising doctor takes at least one resident."))
    changes = {}
    if row.max_residents != max_residents:
        changes["max_residents"] = [row.max_residents, max_residents]
    if row.is_active != is_active:
        changes["is_active"] = [row.is_active, is_active]
    row.max_residents, row.is_active = max_residents, is_active
    row.save(update_fields=["max_residents", "is_active"])
    audit_record(
        action="rotation.supervisor_update",
        target=row.department,
        acting_user=acting_user,
        supervisor=row.user.display_name,
        changes=changes,
    )


@transaction.atomic
def supervisor_remove(*, row: DepartmentSupervisor, acting_user) -> None:
    department, name = row.department, row.user.display_name
    row.delete()
    audit_record(
        action="rotation.supervisor_remove",
        target=department,
        acting_user=acting_user,
        changes={"supervisor": [name, None]},
    )
