"""Activity types (教学查房, 小讲课...) with their credit hours, and the frequency rules, as data.

The shipped defaults follow the national assessment indicators (standards §8); the training office
edits them afterwards (Django admin, or the types page). A rule applies to every department of the
hospital unless a rule of the same type exists for the department's base, or for the department
itself (the most specific wins).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from accounts.models import Department, Hospital

from ..models import ActivityType, FrequencyRule

#: (code, name, credit hours, (at least, every days) or None). Codes follow the platform's seed values.
DEFAULT_TYPES: tuple[tuple[str, str, str, tuple[int, int] | None], ...] = (
    ("4", "教学查房", "2", (1, 14)),
    ("9", "小讲课", "1", (1, 7)),
    ("8", "教学病例讨论", "1.5", (1, 14)),
    ("30", "疑难病例讨论", "1.5", (1, 30)),
    ("2", "技能培训", "2", None),
    ("10", "入科教育", "1", None),
    ("31", "专题讲座", "1", None),
    ("99", "其他", "1", None),
)


def types_hospital(hospital: Hospital) -> Hospital:
    """Types and rules belong to the main hospital; a collaborating site uses its parent's."""
    return hospital.parent if hospital.parent_id else hospital


@transaction.atomic
def ensure_defaults(hospital: Hospital) -> int:
    """Create the shipped types and their hospital-wide rules where missing; return how many rows were made.

    Idempotent: an existing type (by code) is left as the office edited it, and a type that already has
    any rule gets no default rule.
    """
    hospital = types_hospital(hospital)
    made = 0
    for position, (code, name, hours, rule) in enumerate(DEFAULT_TYPES, start=1):
        activity_type, created = ActivityType.objects.get_or_create(
            hospital=hospital,
            code=code,
            defaults={"name": name, "default_hours": Decimal(hours), "position": position},
        )
        made += created
        if created and rule is not None and not activity_type.rules.exists():
            FrequencyRule.objects.create(activity_type=activity_type, count=rule[0], per_days=rule[1])
            made += 1
    return made


def active_types(hospital: Hospital):
    return ActivityType.objects.filter(hospital=types_hospital(hospital), is_active=True).order_by("position", "code")


def rules_for(department: Department) -> dict[int, FrequencyRule]:
    """The rule of each type that applies to this department: its own, else its base's, else the hospital's."""
    rules = (
        FrequencyRule.objects.filter(
            activity_type__hospital=types_hospital(department.hospital), activity_type__is_active=True
        )
        .filter(
            Q(department__isnull=True, base__isnull=True)
            | Q(department__isnull=True, base_id=department.base_id)
            | Q(department_id=department.pk)
        )
        .select_related("activity_type")
    )
    chosen: dict[int, tuple[int, FrequencyRule]] = {}
    for rule in rules:
        rank = 2 if rule.department_id else (1 if rule.base_id else 0)
        current = chosen.get(rule.activity_type_id)
        if current is None or rank > current[0]:
            chosen[rule.activity_type_id] = (rank, rule)
    return {type_id: rule for type_id, (_rank, rule) in chosen.items()}
