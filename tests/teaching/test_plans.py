"""Monthly teaching plans: build, check, copy, submit, approve, change after approval; the permission matrix."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from approvals.choices import ActionKind
from approvals.services import approval_decide
from notices.models import Notification
from rotation.months import add_months, month_start
from teaching import nav_plans, workflows  # noqa: F401  (the lead imports them in apps.ready)
from teaching.choices import ActivityStatus, PlanStatus
from teaching.models import Activity, ActivityType, FrequencyRule
from teaching.services import plans, types
from tests.conftest import _person
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db
TZ = datetime.timezone(datetime.timedelta(hours=8))


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def this_month():
    return month_start(timezone.localdate())


@pytest.fixture
def kinds(org):
    types.ensure_defaults(org.hospital)
    return {t.name: t for t in ActivityType.objects.filter(hospital=org.hospital)}


@pytest.fixture
def plan(org, secretary, this_month, kinds):
    return plans.plan_open(department=org.cardiology, month=this_month, acting_user=secretary)


def values(kind, teacher, starts_at, minutes=60, **extra):
    return {
        "title": extra.pop("title", "心衰小讲课"),
        "activity_type": kind,
        "teacher": teacher,
        "starts_at": starts_at,
        "ends_at": starts_at + datetime.timedelta(minutes=minutes),
        "place": "示教室",
        "audience": "department",
        **extra,
    }


def approve(plan, head, office):
    for user in (head, office):
        request = plans.approval_request_for(plan)
        approval_decide(
            request=request, decision=ActionKind.APPROVE, acting_user=user, expected_version=request.version
        )
    plan.refresh_from_db()


# ---------------------------------------------------------------- types


def test_defaults_are_made_once_and_keep_the_offices_edits(org):
    made = types.ensure_defaults(org.hospital)
    assert made == 8 + 4
    lecture = ActivityType.objects.get(hospital=org.hospital, name="小讲课")
    rule = FrequencyRule.objects.get(activity_type=lecture)
    assert (rule.count, rule.per_days) == (1, 7)
    lecture.default_hours = 3
    lecture.save()
    assert types.ensure_defaults(org.hospital) == 0
    lecture.refresh_from_db()
    assert lecture.default_hours == 3


def test_a_department_rule_beats_the_base_rule_and_the_hospital_rule(org, kinds):
    lecture = kinds["小讲课"]
    FrequencyRule.objects.create(activity_type=lecture, base=org.internal, count=1, per_days=14)
    assert types.rules_for(org.cardiology)[lecture.pk].per_days == 14
    FrequencyRule.objects.create(activity_type=lecture, department=org.cardiology, count=2, per_days=7)
    assert types.rules_for(org.cardiology)[lecture.pk].count == 2
    assert types.rules_for(org.general_surgery)[lecture.pk].per_days == 7


# ---------------------------------------------------------------- checks


def test_a_teacher_cannot_be_in_two_activities_at_once_in_any_department(
    org, plan, secretary, supervisor, kinds, this_month, english
):
    RoleAssignmentFactory = __import__("tests.factories.accounts", fromlist=["RoleAssignmentFactory"])
    RoleAssignmentFactory.RoleAssignmentFactory(user=supervisor, role=Role.SUPERVISOR, department=org.general_surgery)
    other_secretary = _person("secretary_gs", "外科秘书", Role.TEACHING_SECRETARY, department=org.general_surgery)
    other = plans.plan_open(department=org.general_surgery, month=this_month, acting_user=other_secretary)
    day = this_month + datetime.timedelta(days=9)
    plans.activity_add(plan=other, values=values(kinds["小讲课"], supervisor, at(day, 14)), acting_user=other_secretary)
    with pytest.raises(ValidationError) as refused:
        plans.activity_add(
            plan=plan, values=values(kinds["教学查房"], supervisor, at(day, 14, 30)), acting_user=secretary
        )
    assert "cannot be in two activities at once" in str(refused.value)
    assert "普通外科" in str(refused.value)
    assert not plan.activities.exists()
    # back to back is fine
    plans.activity_add(plan=plan, values=values(kinds["教学查房"], supervisor, at(day, 15)), acting_user=secretary)


def test_an_activity_longer_than_two_hours_is_saved_with_a_warning(plan, secretary, supervisor, kinds, this_month):
    activity, warnings = plans.activity_add(
        plan=plan, values=values(kinds["技能培训"], supervisor, at(this_month, 14), minutes=150), acting_user=secretary
    )
    assert activity.pk and len(warnings) == 1
    assert activity.hours == kinds["技能培训"].default_hours
    _, warnings = plans.activity_add(
        plan=plan, values=values(kinds["技能培训"], supervisor, at(this_month, 17), minutes=120), acting_user=secretary
    )
    assert warnings == []


def test_the_teacher_must_hold_a_staff_role_in_the_department(plan, secretary, other_resident, kinds, this_month):
    with pytest.raises(ValidationError) as refused:
        plans.activity_add(
            plan=plan, values=values(kinds["小讲课"], other_resident, at(this_month, 14)), acting_user=secretary
        )
    assert "teacher" in refused.value.message_dict


def test_compliance_counts_the_weeks_covered(org, plan, secretary, supervisor, kinds, this_month, english):
    periods = plans.windows_of(this_month, 7)
    assert len(periods) == 4
    for first, _last in periods[:3]:
        plans.activity_add(plan=plan, values=values(kinds["小讲课"], supervisor, at(first, 14)), acting_user=secretary)
    plans.activity_add(
        plan=plan, values=values(kinds["教学查房"], supervisor, at(this_month, 16)), acting_user=secretary
    )
    rows = {row.activity_type.name: row for row in plans.compliance(org.cardiology, this_month)}
    lecture = rows["小讲课"]
    assert (lecture.planned, lecture.required, lecture.covered, lecture.windows, lecture.ok) == (3, 4, 3, 4, False)
    assert lecture.summary == "3 of 4 weeks covered"
    rounds = rows["教学查房"]
    assert (rounds.planned, rounds.required, rounds.covered) == (1, 2, 1)
    assert rows["疑难病例讨论"].required == 1 and rows["疑难病例讨论"].planned == 0
    assert "技能培训" not in rows


def test_shift_keeps_the_weekday_and_the_week_of_the_month():
    day = datetime.date(2026, 3, 10)  # 2nd Tuesday
    assert plans.shift_to_month(day, datetime.date(2026, 4, 1)) == datetime.date(2026, 4, 14)
    assert plans.shift_to_month(datetime.date(2026, 3, 31), datetime.date(2026, 4, 1)) is None  # 5th Tuesday


def test_copy_last_month_shifts_to_the_same_weekdays(org, secretary, supervisor, kinds, this_month):
    last = plans.plan_open(department=org.cardiology, month=add_months(this_month, -1), acting_user=secretary)
    source_day = add_months(this_month, -1) + datetime.timedelta(days=8)
    plans.activity_add(plan=last, values=values(kinds["小讲课"], supervisor, at(source_day, 14)), acting_user=secretary)
    plan = plans.plan_open(department=org.cardiology, month=this_month, acting_user=secretary)
    result = plans.plan_copy_previous(plan=plan, acting_user=secretary)
    assert result["copied"] == 1
    copy = plan.activities.get()
    local = timezone.localtime(copy.starts_at)
    assert local.weekday() == source_day.weekday() and local.month == this_month.month and local.hour == 14
    assert copy.status == ActivityStatus.PLANNED


# ---------------------------------------------------------------- approval and the calendar


@pytest.fixture
def approved(org, plan, secretary, supervisor, head, office, kinds):
    start = timezone.now() + datetime.timedelta(days=1)
    start = start.replace(minute=0, second=0, microsecond=0)
    activity, _ = (
        plans.activity_add(plan=plan, values=values(kinds["小讲课"], supervisor, start), acting_user=secretary)
        if timezone.localtime(start).month == plan.month.month
        else (None, None)
    )
    if activity is None:  # the last day of the month: plan next month instead
        plan = plans.plan_open(department=org.cardiology, month=add_months(plan.month, 1), acting_user=secretary)
        activity, _ = plans.activity_add(
            plan=plan, values=values(kinds["小讲课"], supervisor, start), acting_user=secretary
        )
    plans.plan_submit(plan=plan, acting_user=secretary)
    approve(plan, head, office)
    activity.refresh_from_db()
    return activity


def test_plan_to_calendar_through_head_and_office(
    client, login, approved, current_block, resident, other_resident, other_profile, secretary
):
    plan = approved.plan
    assert plan.status == PlanStatus.APPROVED and plan.approved_at
    assert approved.status == ActivityStatus.APPROVED
    assert Notification.objects.filter(user=secretary, kind="teaching.plan").exists()
    month = f"{timezone.localtime(approved.starts_at):%Y-%m}"
    page = login(resident).get(reverse("teaching:calendar"), {"view": "list", "month": month})
    assert approved.title in page.content.decode()
    detail = reverse("teaching:activity_detail", args=[approved.uuid])
    assert login(resident).get(detail).status_code == 200
    page = login(other_resident).get(reverse("teaching:calendar"), {"view": "list", "month": month})
    assert approved.title not in page.content.decode()
    assert login(other_resident).get(detail).status_code == 404
    home = login(resident).get(reverse("core:home"))
    assert approved.title in home.content.decode()


def test_a_planned_activity_is_not_on_the_residents_calendar(
    login, plan, secretary, supervisor, kinds, current_block, resident
):
    activity, _ = plans.activity_add(
        plan=plan, values=values(kinds["小讲课"], supervisor, at(plan.month, 14)), acting_user=secretary
    )
    assert login(resident).get(reverse("teaching:activity_detail", args=[activity.uuid])).status_code == 404


def test_a_returned_plan_is_editable_with_the_comment(plan, secretary, supervisor, head, kinds):
    plans.activity_add(plan=plan, values=values(kinds["小讲课"], supervisor, at(plan.month, 14)), acting_user=secretary)
    plans.plan_submit(plan=plan, acting_user=secretary)
    request = plans.approval_request_for(plan)
    approval_decide(
        request=request,
        decision=ActionKind.RETURN,
        acting_user=head,
        expected_version=request.version,
        comment="少了教学查房",
    )
    plan.refresh_from_db()
    assert plan.status == PlanStatus.RETURNED
    assert plans.last_return_comment(plan) == "少了教学查房"
    plans.activity_add(
        plan=plan, values=values(kinds["教学查房"], supervisor, at(plan.month, 16)), acting_user=secretary
    )
    plans.plan_submit(plan=plan, acting_user=secretary)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING


def test_a_change_after_approval_notifies_the_residents_and_the_teachers(
    approved, secretary, supervisor, other_supervisor, current_block, resident, audit_events
):
    new_start = approved.starts_at + datetime.timedelta(hours=1)
    plans.activity_change(
        activity=approved,
        values={
            "starts_at": new_start,
            "ends_at": new_start + datetime.timedelta(hours=1),
            "teacher": other_supervisor,
            "place": "会议室",
        },
        acting_user=secretary,
    )
    for user in (resident, supervisor, other_supervisor):
        assert Notification.objects.filter(user=user, kind="teaching.activity_change").count() == 1
    assert any(e["action"] == "teaching.activity.change" for e in audit_events)
    plans.activity_cancel(activity=approved, reason="停电", acting_user=secretary)
    approved.refresh_from_db()
    assert approved.status == ActivityStatus.CANCELLED
    assert Notification.objects.filter(user=resident, kind="teaching.activity_change").count() == 2


def test_the_ical_feed_lists_what_the_user_teaches_or_attends(client, approved, supervisor, resident, current_block):
    from rotation.ical import feed_token_get_or_create

    token = feed_token_get_or_create(user=resident).token
    response = client.get(reverse("teaching:calendar_ics"), {"token": token})
    assert response.status_code == 200
    assert f"teaching-{approved.uuid}" in response.content.decode()
    token = feed_token_get_or_create(user=supervisor).token
    assert (
        f"teaching-{approved.uuid}" in client.get(reverse("teaching:calendar_ics"), {"token": token}).content.decode()
    )
    assert client.get(reverse("teaching:calendar_ics"), {"token": "nope"}).status_code == 404


# ---------------------------------------------------------------- views and the permission matrix


def test_the_secretary_builds_and_submits_through_the_pages(login, org, secretary, supervisor, kinds, this_month):
    client = login(secretary)
    response = client.post(reverse("teaching:plans_open", args=[org.cardiology.uuid]), {"month": f"{this_month:%Y-%m}"})
    plan = org.cardiology.teaching_plans.get()
    assert response.url == reverse("teaching:plans_detail", args=[plan.uuid])
    day = this_month + datetime.timedelta(days=3)
    form = {
        "title": "房颤",
        "activity_type": kinds["小讲课"].pk,
        "teacher": supervisor.pk,
        "date": day.isoformat(),
        "start": "14:00",
        "end": "16:30",
        "place": "示教室",
        "audience": "department",
    }
    response = client.post(reverse("teaching:plans_activity_new", args=[plan.uuid]), form, follow=True)
    assert response.status_code == 200 and Activity.objects.filter(plan=plan).count() == 1
    page = client.get(reverse("teaching:plans_detail", args=[plan.uuid])).content.decode()
    assert 'data-testid="compliance"' in page and 'data-testid="plan-warning"' in page
    client.post(reverse("teaching:plans_submit", args=[plan.uuid]))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING


def test_a_double_booking_is_refused_on_the_page(login, plan, secretary, supervisor, kinds, english):
    plans.activity_add(plan=plan, values=values(kinds["小讲课"], supervisor, at(plan.month, 14)), acting_user=secretary)
    form = {
        "title": "x",
        "activity_type": kinds["教学查房"].pk,
        "teacher": supervisor.pk,
        "date": plan.month.isoformat(),
        "start": "14:30",
        "end": "15:30",
        "place": "p",
        "audience": "department",
    }
    response = login(secretary).post(reverse("teaching:plans_activity_new", args=[plan.uuid]), form)
    assert response.status_code == 400
    assert "cannot be in two activities at once" in response.content.decode()


def test_plan_pages_permission_matrix(client, personas, plan, kinds):
    detail = reverse("teaching:plans_detail", args=[plan.uuid])
    assert_access(
        client,
        personas,
        {
            "anonymous": LOGIN,
            "outsider": 403,
            "resident": 403,
            "other_resident": 403,
            "secretary": 200,
            "head": 200,
            "supervisor": 200,
            "director": 200,
            "other_director": 404,
            "office": 200,
        },
        detail,
    )
    new = reverse("teaching:plans_activity_new", args=[plan.uuid])
    assert_access(
        client,
        personas,
        {"anonymous": LOGIN, "secretary": 200, "head": 403, "office": 403, "other_director": 404, "outsider": 403},
        new,
    )
    assert_access(
        client,
        personas,
        {"secretary": 200, "head": 200, "office": 200, "resident": 403},
        reverse("teaching:plans_index"),
    )
    assert_access(
        client, personas, {"office": 200, "secretary": 403, "anonymous": LOGIN}, reverse("teaching:plans_types")
    )
    assert_access(
        client, personas, {"resident": 200, "outsider": 200, "anonymous": LOGIN}, reverse("teaching:calendar")
    )


def test_a_secretary_cannot_plan_for_another_department(client, login, org, secretary, this_month):
    other_secretary = _person("secretary_gs", "外科秘书", Role.TEACHING_SECRETARY, department=org.general_surgery)
    other = plans.plan_open(department=org.general_surgery, month=this_month, acting_user=other_secretary)
    client = login(secretary)
    assert client.get(reverse("teaching:plans_detail", args=[other.uuid])).status_code == 404
    assert client.get(reverse("teaching:plans_activity_new", args=[other.uuid])).status_code == 404
    assert client.post(reverse("teaching:plans_submit", args=[other.uuid])).status_code == 404
    response = client.post(
        reverse("teaching:plans_open", args=[org.general_surgery.uuid]), {"month": f"{this_month:%Y-%m}"}
    )
    assert response.status_code == 404


def test_activity_change_pages_matrix(client, personas, approved):
    edit = reverse("teaching:plans_activity_edit", args=[approved.uuid])
    assert_access(
        client,
        personas,
        {
            "anonymous": LOGIN,
            "secretary": 200,
            "supervisor": 403,
            "head": 403,
            "other_resident": 404,
            "other_director": 404,
        },
        edit,
    )
    cancel = reverse("teaching:plans_activity_cancel", args=[approved.uuid])
    assert_access(client, personas, {"head": 403, "other_director": 404}, cancel, method="post", data={"reason": "x"})
