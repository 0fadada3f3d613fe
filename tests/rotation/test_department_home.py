"""The department's month on the home page: what the teaching secretary, the head and the attendance
clerk of 心血管内科 see (arrivals with their supervisors, leave today, the attendance report, open
出科), that nobody else gets the panel, and that its queries do not grow with the departments.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import rotation.nav_department  # noqa: F401  (the home panel, as the app registers it)
from accounts.choices import Role
from rotation.choices import ExitStage, LeaveKind, LeaveStatus, ReportStatus
from rotation.models import AttendanceReport, ExitReview, LeaveRequest
from rotation.months import add_months, month_start
from rotation.nav_department import department_home
from tests.factories.accounts import DepartmentFactory, RoleAssignmentFactory, UserFactory
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PANEL = 'data-testid="department-panel"'


def _leave_today(block):
    today = timezone.localdate()
    return LeaveRequest.objects.create(
        resident=block.resident,
        block=block,
        kind=LeaveKind.choices[0][0],
        start_date=today,
        end_date=today,
        days=Decimal(1),
        reason="病假",
        status=LeaveStatus.APPROVED,
    )


def _resident(base, name):
    return ResidentProfileFactory(user=UserFactory(real_name=name), base=base)


@pytest.fixture
def month(org, current_block, clerk):
    """心血管内科 this month: 李住院 arrives (with 张带教) and is on leave today; 钱新人 arrives without a
    supervisor; 孙老兵 left last month and waits for the head's agreement; the report is open."""
    today = timezone.localdate()
    first = month_start(today)
    newcomer = RotationBlockFactory(
        resident=_resident(org.internal, "钱新人"),
        department=org.cardiology,
        supervisor=None,
        start_date=first,
        end_date=first + datetime.timedelta(days=59),
    )
    _leave_today(current_block)
    veteran = RotationBlockFactory(
        resident=_resident(org.internal, "孙老兵"),
        department=org.cardiology,
        start_date=add_months(first, -2),
        end_date=first - datetime.timedelta(days=1),
    )
    ExitReview.objects.create(block=veteran, stage=ExitStage.HEAD)
    done = RotationBlockFactory(
        resident=_resident(org.internal, "周结束"),
        department=org.cardiology,
        start_date=add_months(first, -3),
        end_date=add_months(first, -2) - datetime.timedelta(days=1),
    )
    ExitReview.objects.create(block=done, stage=ExitStage.PASSED, passed=True)  # closed: not counted
    elsewhere = RotationBlockFactory(
        resident=_resident(org.surgery, "吴外科"),
        department=org.general_surgery,
        start_date=first,
        end_date=first + datetime.timedelta(days=29),
    )
    ExitReview.objects.create(block=elsewhere, stage=ExitStage.ASSESSMENT)  # another department
    AttendanceReport.objects.create(department=org.cardiology, month=first, opened_by=clerk)
    return {"newcomer": newcomer, "veteran": veteran}


@pytest.mark.parametrize("name", ["secretary", "head", "clerk"])
def test_the_department_sees_its_month_on_the_home_page(client, personas, month, name):
    client.force_login(personas[name])
    page = client.get(reverse("core:home"))
    assert page.status_code == 200
    text = page.text
    assert text.count(PANEL) == 1 and 'data-department="CARD"' in text
    arrivals = text.split('data-testid="department-arrivals"')[1].split('data-testid="department-leave"')[0]
    assert "李住院" in arrivals and "张带教" in arrivals  # arrives with a supervisor
    assert "钱新人" in arrivals and "No supervisor yet" in arrivals
    assert "孙老兵" not in arrivals  # left last month
    on_leave = text.split('data-testid="department-leave"')[1].split('data-testid="department-attendance"')[0]
    assert "李住院" in on_leave and "钱新人" not in on_leave
    attendance = text.split('data-testid="department-attendance"')[1].split('data-testid="department-exits"')[0]
    assert str(ReportStatus.OPEN.label) in attendance
    exits = text.split('data-testid="department-exits"')[1].split("card-footer")[0]
    assert 'data-testid="exits-total">1<' in exits and 'data-stage="head"' in exits  # not the passed, not surgery's
    assert reverse("rotation:department", args=[month["newcomer"].department.uuid]) in text
    assert reverse("rotation:attendance") in text
    assert (reverse("rotation:blocks_exits") in text) == (name != "clerk")  # the clerk has no exit inbox
    assert 'data-testid="attendance-panel"' not in text  # the status is not shown twice


@pytest.mark.parametrize("name", ["resident", "supervisor", "director", "office", "auditor", "outsider"])
def test_nobody_else_gets_the_panel(client, personas, month, name):
    client.force_login(personas[name])
    assert PANEL not in client.get(reverse("core:home")).text


def test_a_quiet_month(client, secretary, org):
    client.force_login(secretary)
    text = client.get(reverse("core:home")).text
    assert "Nobody arrives this month." in text and "Nobody is on leave today." in text
    assert "Not opened" in text and 'data-testid="exits-total">0<' in text


def test_a_role_that_ended_shows_nothing(client, org):
    user = UserFactory(username="former")
    RoleAssignmentFactory(
        user=user,
        role=Role.TEACHING_SECRETARY,
        department=org.cardiology,
        valid_from=datetime.date(2019, 1, 1),
        valid_until=datetime.date(2020, 1, 1),
    )
    client.force_login(user)
    assert PANEL not in client.get(reverse("core:home")).text


# --- queries ---------------------------------------------------------------------------------------


def _busy_department(org, code, secretary):
    """A department with two arrivals (one on leave today), a report and two open exits."""
    department = DepartmentFactory(base=org.internal, code=code, name=f"科室{code}")
    RoleAssignmentFactory(user=secretary, role=Role.TEACHING_SECRETARY, department=department)
    first = month_start(timezone.localdate())
    for n in range(2):
        block = RotationBlockFactory(
            resident=_resident(org.internal, f"{code}住院{n}"),
            department=department,
            supervisor=UserFactory() if n else None,
            start_date=first,
            end_date=first + datetime.timedelta(days=59),
        )
        if n:
            _leave_today(block)
        ExitReview.objects.create(block=block, stage=[ExitStage.SUMMARY, ExitStage.ASSESSMENT][n])
    AttendanceReport.objects.create(department=department, month=first, opened_by=secretary)
    return department


def _queries(rf, user) -> tuple[int, dict]:
    request = rf.get("/")
    request.user = user
    user.scope  # noqa: B018  (loaded once per request by the middleware; not the panel's)
    with CaptureQueriesContext(connection) as captured:
        context = department_home(request)
    return len(captured), context


def test_the_queries_do_not_grow_with_the_departments(rf, org, django_assert_max_num_queries):
    one = UserFactory(username="one")
    _busy_department(org, "D1", one)
    three = UserFactory(username="three")
    for code in ("D2", "D3", "D4"):
        _busy_department(org, code, three)

    few, context = _queries(rf, one)
    many, context3 = _queries(rf, UserFactory._meta.model.objects.get(pk=three.pk))
    assert few == many
    assert [len(r["arriving"]) for r in context3["rows"]] == [2, 2, 2]
    assert [len(r["on_leave"]) for r in context3["rows"]] == [1, 1, 1]
    assert [r["exits_total"] for r in context3["rows"]] == [2, 2, 2]
    assert all(r["report"] is not None for r in context3["rows"])
    request = rf.get("/")
    request.user = three
    three.scope  # noqa: B018
    with django_assert_max_num_queries(5):  # departments, blocks, leave, reports, open exits
        department_home(request)
