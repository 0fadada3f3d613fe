"""Departments' rotation settings, month calendar and supervising doctors: the office (all departments),
base managers (their base's) and the department's head and teaching secretary (their own)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from faculty.models import FacultyProfile, SupervisorQualification
from rotation.models import DepartmentMonth, DepartmentSetting, DepartmentSupervisor
from rotation.months import add_months, month_start
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

MANAGERS = {"office": 200, "director": 200, "secretary": 200, "head": 200}
OUTSIDE = ["resident", "other_resident", "supervisor", "clerk", "other_director", "sysadmin", "auditor", "outsider"]


def months_ahead(n: int):
    return add_months(month_start(timezone.localdate()), n)


@pytest.fixture
def qualified_supervisor(supervisor, org):
    today = timezone.localdate()
    profile = FacultyProfile.objects.create(user=supervisor, department=org.cardiology, title="attending")
    SupervisorQualification.objects.create(
        faculty=profile, granted_on=today - timedelta(days=365), expires_on=today + timedelta(days=365)
    )
    return supervisor


# ---------------------------------------------------------------- permissions
def test_list_permissions(client, personas):
    expected = {"anonymous": LOGIN, **MANAGERS, "other_director": 200}  # 外科's director: 普通外科
    expected |= {name: 403 for name in OUTSIDE if name != "other_director"}
    assert_access(client, personas, expected, reverse("rotation:department_list"))


@pytest.mark.parametrize("name", ["department_setting", "department_months", "department_supervisors"])
def test_department_page_permissions(client, personas, org, name):
    expected = {"anonymous": LOGIN, **MANAGERS} | {n: 404 for n in OUTSIDE}
    assert_access(client, personas, expected, reverse(f"rotation:{name}", args=[org.cardiology.uuid]))


def test_supervisor_row_permissions(client, personas, org, other_supervisor):
    row = DepartmentSupervisor.objects.create(department=org.cardiology, user=other_supervisor)
    expected = {"anonymous": LOGIN} | {n: 404 for n in OUTSIDE}
    for name in ("department_supervisor_update", "department_supervisor_remove"):
        url = reverse(f"rotation:{name}", args=[org.cardiology.uuid, row.pk])
        assert_access(client, personas, expected, url, method="post")
    assert DepartmentSupervisor.objects.filter(pk=row.pk, is_active=True).exists()
    # a row of another department is not found through this one
    other = DepartmentSupervisor.objects.create(department=org.general_surgery, user=other_supervisor)
    url = reverse("rotation:department_supervisor_remove", args=[org.cardiology.uuid, other.pk])
    assert_access(client, personas, {"office": 404}, url, method="post")


# ---------------------------------------------------------------- the list
def test_the_list_filters_by_base_and_shows_defaults(
    login, office, org, internal_departments, django_assert_max_num_queries
):
    DepartmentMonth.objects.create(department=org.cardiology, month=months_ahead(1), closed=True)
    client = login(office)
    with django_assert_max_num_queries(25):  # constant: the page plus navigation and badges
        page = client.get(reverse("rotation:department_list")).content.decode()
    assert page.count('data-testid="department-row"') == 6 and "1 month closed" in page
    assert "(default)" in page  # 普通外科 has no setting yet
    surgery = client.get(reverse("rotation:department_list"), {"base": org.surgery.pk}).content.decode()
    assert surgery.count('data-testid="department-row"') == 1 and "普通外科" in surgery


def test_a_head_lists_only_their_department(login, head, org, internal_departments):
    page = login(head).get(reverse("rotation:department_list")).content.decode()
    assert page.count('data-testid="department-row"') == 1 and "心血管内科" in page


# ---------------------------------------------------------------- the setting
def test_a_teaching_secretary_sets_capacity_minimum_and_ratio(login, secretary, org, audit_events):
    response = login(secretary).post(
        reverse("rotation:department_setting", args=[org.cardiology.uuid]),
        {"capacity": 6, "minimum": 1, "residents_per_supervisor": 2},
        follow=True,
    )
    assert "The rotation setting of 心血管内科 was saved." in response.content.decode()
    setting = DepartmentSetting.objects.get(department=org.cardiology)
    assert (setting.capacity, setting.minimum, setting.residents_per_supervisor) == (6, 1, 2)
    event = next(e for e in audit_events if e["action"] == "rotation.department_setting")
    assert event["changes"]["capacity"] == [10, 6]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"capacity": -1, "minimum": 0, "residents_per_supervisor": 3}, "The capacity cannot be negative."),
        ({"capacity": 2, "minimum": 3, "residents_per_supervisor": 3}, "The minimum cannot be above the capacity."),
        ({"capacity": 2, "minimum": 0, "residents_per_supervisor": 0}, "A supervising doctor takes at least one"),
    ],
)
def test_bad_settings_are_refused_and_kept_on_the_form(login, office, org, data, message):
    response = login(office).post(reverse("rotation:department_setting", args=[org.cardiology.uuid]), data)
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert f'value="{data["capacity"]}"' in page
    assert not DepartmentSetting.objects.filter(department=org.cardiology).exists()


# ---------------------------------------------------------------- the month calendar
def test_the_head_closes_a_month_and_sets_a_range(login, head, org, internal_departments, audit_events):
    client = login(head)
    url = reverse("rotation:department_months", args=[org.cardiology.uuid])
    closed, first, last = months_ahead(2), months_ahead(4), months_ahead(9)

    response = client.post(url, {"first": f"{closed:%Y-%m}", "closed": "on", "note": "装修"}, follow=True)
    assert "1 months were saved." in response.content.decode()
    response = client.post(url, {"first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}", "capacity": 6}, follow=True)
    assert "6 months were saved." in response.content.decode()

    rows = DepartmentMonth.objects.filter(department=org.cardiology)
    assert rows.get(month=closed).closed and rows.get(month=closed).note == "装修"
    assert list(rows.filter(capacity=6).values_list("month", flat=True)) == [add_months(first, i) for i in range(6)]
    page = response.content.decode()
    assert page.count('data-testid="month-row"') == 36
    assert f'data-month="{closed:%Y-%m}" class="table-secondary"' in page
    assert sum(1 for e in audit_events if e["action"] == "rotation.department_months") == 2


def test_empty_values_put_months_back_to_the_defaults(login, office, org):
    month = months_ahead(1)
    DepartmentMonth.objects.create(department=org.cardiology, month=month, closed=True)
    login(office).post(reverse("rotation:department_months", args=[org.cardiology.uuid]), {"first": f"{month:%Y-%m}"})
    assert not DepartmentMonth.objects.filter(department=org.cardiology).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"first": "2027-06", "last": "2027-01", "capacity": 3}, "The last month is before the first."),
        ({"first": "2027-06", "capacity": -2}, "The capacity cannot be negative."),
        ({"first": "June", "capacity": 3}, "Enter a month as YYYY-MM"),
        ({"first": "2027-06", "minimum": 12}, "The minimum (12) is above the capacity (10)."),
    ],
)
def test_bad_month_input_is_refused(login, office, org, data, message):
    response = login(office).post(reverse("rotation:department_months", args=[org.cardiology.uuid]), data)
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert f'value="{data["first"]}"' in page
    assert not DepartmentMonth.objects.exists()


def test_a_month_link_prefills_the_form(login, office, org):
    page = login(office).get(reverse("rotation:department_months", args=[org.cardiology.uuid]), {"month": "2028-03"})
    assert 'value="2028-03"' in page.content.decode()


# ---------------------------------------------------------------- supervising doctors
def test_the_director_makes_supervisors_available_with_a_warning_for_the_unqualified(
    login, director, org, qualified_supervisor, other_supervisor, audit_events
):
    client = login(director)
    url = reverse("rotation:department_supervisors", args=[org.cardiology.uuid])
    page = client.get(url).content.decode()
    assert "张带教" in page and "马带教 · " in page and "(not qualified)" in page

    response = client.post(url, {"user": qualified_supervisor.pk}, follow=True)
    page = response.content.decode()
    assert "张带教 is now available for supervision." in page and "holds no current supervisor" not in page

    response = client.post(url, {"user": other_supervisor.pk, "max_residents": 2}, follow=True)
    page = response.content.decode()
    assert "马带教 holds no current supervisor qualification" in page
    assert page.count('data-testid="supervisor-row"') == 2 and page.count('data-testid="not-qualified"') == 1
    row = DepartmentSupervisor.objects.get(user=other_supervisor)
    assert (row.department, row.max_residents, row.is_active) == (org.cardiology, 2, True)
    assert sum(1 for e in audit_events if e["action"] == "rotation.supervisor_add") == 2


def test_someone_without_the_supervisor_role_here_cannot_be_added(login, office, org, clerk, head):
    url = reverse("rotation:department_supervisors", args=[org.cardiology.uuid])
    response = login(office).post(url, {"user": clerk.pk})
    assert "Select a valid choice" in response.content.decode()
    assert not DepartmentSupervisor.objects.exists()


def test_a_secretary_changes_the_limit_pauses_and_removes_a_supervisor(login, secretary, org, other_supervisor):
    row = DepartmentSupervisor.objects.create(department=org.cardiology, user=other_supervisor)
    client = login(secretary)
    update = reverse("rotation:department_supervisor_update", args=[org.cardiology.uuid, row.pk])

    response = client.post(update, {f"s{row.pk}-max_residents": 1}, follow=True)
    assert "马带教 was saved." in response.content.decode()
    row.refresh_from_db()
    assert (row.max_residents, row.is_active) == (1, False)

    response = client.post(update, {f"s{row.pk}-max_residents": 0, f"s{row.pk}-is_active": "on"}, follow=True)
    assert "马带教 was not saved:" in response.content.decode()
    row.refresh_from_db()
    assert (row.max_residents, row.is_active) == (1, False)

    remove = reverse("rotation:department_supervisor_remove", args=[org.cardiology.uuid, row.pk])
    response = client.post(remove, follow=True)
    assert "马带教 is no longer available for supervision here." in response.content.decode()
    assert not DepartmentSupervisor.objects.exists()
