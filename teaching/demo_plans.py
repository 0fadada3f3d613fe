"""Demo teaching plans: types and rules for the demo hospital; last month's and this month's plans approved
(the secretary submits, the department head then the office approve, through the services and the engine)
for the persona department 心血管内科 and a few other departments with residents now; next month's plan
a draft for 心血管内科 (copied from this month). Activities follow the frequency rules, taught by the
department's supervisors on weekday afternoons. Idempotent: a month with a plan is left alone.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import Role
from accounts.demo import HOSPITAL, PERSONA_DEPARTMENT
from accounts.models import Department, Hospital, RoleAssignment, User
from approvals.choices import ActionKind, RequestStatus
from approvals.services import approval_decide
from core.demo import register
from rotation.months import add_months, month_start

from . import workflows  # noqa: F401  (the workflow the demo submits to)
from .choices import Audience, PlanStatus
from .models import TeachingPlan
from .services import plans, types

OTHER_DEPARTMENTS = 4
PLACES = ("示教室", "科室会议室", "病房", "技能中心")


def _holder(department: Department, role: str) -> User | None:
    row = RoleAssignment.objects.active_on().filter(department=department, role=role).select_related("user").first()
    return row.user if row else None


def _decide(plan: TeachingPlan, user: User) -> None:
    request = plans.approval_request_for(plan)
    if request is not None and request.status == RequestStatus.PENDING:
        approval_decide(
            request=request, decision=ActionKind.APPROVE, acting_user=user, expected_version=request.version
        )


def _weekday_on_or_after(day: datetime.date, last: datetime.date) -> datetime.date | None:
    while day <= last and day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day if day <= last else None


def _fill(plan: TeachingPlan, secretary: User, teachers: list[User]) -> int:
    """One activity per period of each rule, on a different weekday per type, at 14:00 + the type's slot."""
    tz = timezone.get_current_timezone()
    added = 0
    rules = sorted(types.rules_for(plan.department).values(), key=lambda r: r.activity_type.position)
    for index, rule in enumerate(rules):
        for number, (first, last) in enumerate(plans.windows_of(plan.month, rule.per_days)):
            day = _weekday_on_or_after(first + datetime.timedelta(days=index + 1), last)
            if day is None:
                continue
            starts_at = datetime.datetime.combine(day, datetime.time(14 + index % 3, 0), tzinfo=tz)
            values = {
                "title": f"{rule.activity_type.name} · {plan.department.name} {number + 1}",
                "activity_type": rule.activity_type,
                "teacher": teachers[(index + number) % len(teachers)],
                "starts_at": starts_at,
                "ends_at": starts_at + datetime.timedelta(minutes=60 if rule.per_days <= 7 else 90),
                "place": PLACES[(index + number) % len(PLACES)],
                "audience": Audience.DEPARTMENT,
                "audience_base": None,
                "capacity": None,
                "hours": None,
            }
            try:
                plans.activity_add(plan=plan, values=values, acting_user=secretary)
            except ValidationError:  # a clash with another department's activity: leave that slot empty
                continue
            added += 1
    return added


@register("teaching_plans", order=40)
def seed_plans(stdout=None) -> str:
    hospital = Hospital.objects.filter(code=HOSPITAL["code"]).first()
    if hospital is None:
        return "no demo hospital"
    types.ensure_defaults(hospital)
    office = User.objects.get(username="office")
    today = timezone.localdate()
    this_month = month_start(today)
    from rotation.models import RotationBlock

    busy = RotationBlock.objects.filter(start_date__lte=today, end_date__gte=today).values("department_id")
    persona = Department.objects.filter(code=PERSONA_DEPARTMENT, hospital=hospital).first()
    others = list(
        Department.objects.filter(hospital=hospital, pk__in=busy)
        .exclude(code=PERSONA_DEPARTMENT)
        .order_by("code")[:OTHER_DEPARTMENTS]
    )
    departments = ([persona] if persona else []) + others
    done = 0
    for department in departments:
        secretary = _holder(department, Role.TEACHING_SECRETARY)
        head = _holder(department, Role.DEPARTMENT_HEAD)
        teachers = list(
            User.objects.filter(
                pk__in=RoleAssignment.objects.active_on()
                .filter(department=department, role=Role.SUPERVISOR)
                .values("user_id")
            ).order_by("pk")
        )
        if secretary is None or not teachers:
            continue
        for month in (add_months(this_month, -1), this_month):
            if TeachingPlan.objects.filter(department=department, month=month).exists():
                continue
            plan = plans.plan_open(department=department, month=month, acting_user=secretary)
            if not _fill(plan, secretary, teachers):
                continue
            plans.plan_submit(plan=plan, acting_user=secretary)
            for approver in (head, office):
                if approver is not None:
                    _decide(plan, approver)
            plan.refresh_from_db()
            if plan.status != PlanStatus.APPROVED:
                raise RuntimeError(f"demo teaching plan {plan} not approved: {plan.status}")
            done += 1
        if department == persona:
            following = add_months(this_month, 1)
            if not TeachingPlan.objects.filter(department=department, month=following).exists():
                plan = plans.plan_open(department=department, month=following, acting_user=secretary)
                plans.plan_copy_previous(plan=plan, acting_user=secretary)
                done += 1
    return f"{done} plans made" if done else "up to date"
