"""Demo rotation blocks, so supervisors, teaching secretaries and heads see residents from day one.

A stand-in only: the rotation-scheduling issue replaces these blocks with a schedule generated from
each programme's requirements and the departments' capacities (and this seeder with one that runs
the scheduler). Until then every demo resident in training gets two simple blocks in departments of
their own base: the current one (first day of this month, two months) and the one before it. The
departments are taken round-robin, the supervisor of each block round-robin over the department's
supervising doctors, at most three residents each per block where the department has enough of them
(the national ratio). The demo persona `resident` is in 心血管内科 now, supervised by `supervisor`, so
`supervisor`, `secretary` and `head` all see this resident.

Deterministic (ordered by username; the dates follow today's month) and idempotent: residents who
already have any block are left alone.
"""

from collections import Counter, defaultdict
from datetime import date, timedelta

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from accounts.choices import Role, SiteKind
from accounts.demo import HOSPITAL, PERSONA_DEPARTMENT
from accounts.models import Department, RoleAssignment, User
from core.demo import register
from residents.choices import TrainingStatus
from residents.models import ResidentProfile

from .models import RotationBlock

PERSONA_RESIDENT = "resident"
PERSONA_SUPERVISOR = "supervisor"
BLOCK_MONTHS = 2
PER_SUPERVISOR = 3


def _add_months(day: date, months: int) -> date:
    """The first day of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@register("rotation", order=25)
def seed_rotation(stdout=None) -> str:
    """A current and a previous block for every demo resident in training who has none yet."""
    today = timezone.localdate()
    current_start = today.replace(day=1)
    periods = {
        "current": (current_start, _add_months(current_start, BLOCK_MONTHS) - timedelta(days=1)),
        "previous": (_add_months(current_start, -BLOCK_MONTHS), current_start - timedelta(days=1)),
    }
    profiles = list(
        ResidentProfile.objects.filter(
            base__hospital__code=HOSPITAL["code"],
            status__in=[TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED],
            start_date__lte=today,
            rotation_blocks__isnull=True,
        )
        .select_related("user", "base")
        .annotate(first=Case(When(user__username=PERSONA_RESIDENT, then=Value(0)), default=Value(1)))
        .order_by("first", "base__code", "cohort", "user__username")
    )
    if not profiles:
        return "up to date"

    departments: dict[int, list[Department]] = defaultdict(list)
    main_first = Case(When(hospital__kind=SiteKind.MAIN, then=Value(0)), default=Value(1), output_field=IntegerField())
    persona_first = Case(When(code=PERSONA_DEPARTMENT, then=Value(0)), default=Value(1), output_field=IntegerField())
    for department in (
        Department.objects.filter(base__in={p.base_id for p in profiles}, is_active=True)
        .annotate(main=main_first, persona=persona_first)
        .order_by("base_id", "main", "persona", "code")
    ):
        departments[department.base_id].append(department)

    supervisors: dict[int, list[User]] = defaultdict(list)
    holders = (
        RoleAssignment.objects.active_on()
        .filter(role=Role.SUPERVISOR, department__in=[d for ds in departments.values() for d in ds])
        .select_related("user")
        .order_by("department_id", "user__username")
    )
    for assignment in holders:
        if assignment.user.is_active and assignment.user not in supervisors[assignment.department_id]:
            supervisors[assignment.department_id].append(assignment.user)
    for staff in supervisors.values():  # the persona supervisor takes the first resident of the department
        staff.sort(key=lambda u: u.username != PERSONA_SUPERVISOR)

    # how many residents each supervisor already has in each period (from blocks seeded earlier)
    load: dict[str, Counter[int]] = {name: Counter() for name in periods}
    for name, (start, _end) in periods.items():
        load[name].update(
            RotationBlock.objects.filter(start_date=start, supervisor__isnull=False).values_list(
                "supervisor_id", flat=True
            )
        )

    blocks = []
    position: Counter[int] = Counter()  # next department of each base, round-robin
    for profile in profiles:
        choices = departments.get(profile.base_id)
        if not choices:
            continue
        n = position[profile.base_id]
        position[profile.base_id] += 1
        for name, offset in (("current", 0), ("previous", 1)):
            start, end = periods[name]
            if start < profile.start_date:
                continue  # the previous block would begin before their training did
            department = choices[(n + offset) % len(choices)]
            supervisor = _next_supervisor(supervisors.get(department.pk, []), load[name])
            blocks.append(
                RotationBlock(
                    resident=profile, department=department, start_date=start, end_date=end, supervisor=supervisor
                )
            )
    RotationBlock.objects.bulk_create(blocks, batch_size=500)
    residents = len({b.resident_id for b in blocks})
    return f"{len(blocks)} rotation blocks for {residents} residents (a stand-in until rotation scheduling)"


def _next_supervisor(staff: list[User], load: Counter[int]) -> User | None:
    """Round-robin: the least loaded of the department's supervisors, so nobody passes three while another has fewer."""
    if not staff:
        return None
    chosen = min(staff, key=lambda u: (load[u.pk], staff.index(u)))
    load[chosen.pk] += 1
    return chosen
