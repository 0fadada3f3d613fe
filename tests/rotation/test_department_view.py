"""A department's month: residents arriving, present and leaving, their supervisors, load vs capacity."""

import datetime

import pytest
from django.urls import reverse

from rotation import selectors
from rotation.models import DepartmentMonth
from rotation.months import month_start
from tests.conftest import _person
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

MARCH = datetime.date(2026, 3, 1)


def _block(department, start, end, **kwargs):
    return RotationBlockFactory(department=department, start_date=start, end_date=end, **kwargs)


@pytest.fixture
def march(org, internal_departments, supervisor):
    """Around the March boundaries of 心血管内科: who arrives, stays, leaves, or is not there at all."""
    card = internal_departments["CARD"]
    names = ["到达", "在科", "离开", "二月走", "四月来", "一月内"]
    people = {n: ResidentProfileFactory(user=_person(f"r{i}", n), base=org.internal) for i, n in enumerate(names)}
    return {
        "arriving": _block(card, MARCH, datetime.date(2026, 4, 30), resident=people["到达"], supervisor=supervisor),
        "staying": _block(card, datetime.date(2026, 2, 1), datetime.date(2026, 4, 30), resident=people["在科"]),
        "leaving": _block(card, datetime.date(2026, 2, 1), datetime.date(2026, 3, 31), resident=people["离开"]),
        "gone": _block(card, datetime.date(2026, 1, 1), datetime.date(2026, 2, 28), resident=people["二月走"]),
        "later": _block(card, datetime.date(2026, 4, 1), datetime.date(2026, 5, 31), resident=people["四月来"]),
        "elsewhere": _block(internal_departments["RESP"], MARCH, datetime.date(2026, 3, 31), resident=people["一月内"]),
    }


def test_arriving_present_and_leaving_around_the_month_boundaries(org, march):
    view = selectors.department_month(org.cardiology, datetime.date(2026, 3, 17))
    assert view.month == MARCH
    assert view.arriving == [march["arriving"]]
    assert view.leaving == [march["leaving"]]
    assert set(view.present) == {march["arriving"], march["staying"], march["leaving"]}
    assert (view.count, view.capacity, view.without_supervisor) == (3, 4, 2)
    february = selectors.department_month(org.cardiology, datetime.date(2026, 2, 1))
    assert february.leaving == [march["gone"]]
    assert set(february.arriving) == {march["staying"], march["leaving"]}


def test_a_one_month_block_both_arrives_and_leaves(org, internal_departments, march):
    view = selectors.department_month(internal_departments["RESP"], MARCH)
    assert view.arriving == view.leaving == view.present == [march["elsewhere"]]


def test_a_closed_month_and_its_capacity_come_from_the_department_month(org, march):
    DepartmentMonth.objects.create(department=org.cardiology, month=MARCH, closed=True)
    view = selectors.department_month(org.cardiology, MARCH)
    assert view.closed and view.over_capacity


def test_the_page_lists_and_highlights_residents_without_a_supervisor(login, secretary, org, march):
    response = login(secretary).get(reverse("rotation:department", args=[org.cardiology.uuid]), {"month": "2026-03"})
    assert response.status_code == 200
    html = response.content.decode()
    arriving = html.split('data-testid="arriving"')[1].split("</section>")[0]
    leaving = html.split('data-testid="leaving"')[1].split("</section>")[0]
    present = html.split('data-testid="present"')[1].split("</section>")[0]
    assert "到达" in arriving and "张带教" in arriving and "在科" not in arriving
    assert "离开" in leaving and "到达" not in leaving
    assert all(n in present for n in ("到达", "在科", "离开")) and "二月走" not in present and "四月来" not in present
    assert present.count('data-testid="no-supervisor"') == 2
    assert "3 of 4 places" in html
    assert "2 without a supervisor" in html
    # previous / next month links
    assert "?month=2026-02" in html and "?month=2026-04" in html


def test_the_month_defaults_to_this_month_and_bad_input_falls_back(login, secretary, org):
    url = reverse("rotation:department", args=[org.cardiology.uuid])
    response = login(secretary).get(url, {"month": "not-a-month"})
    assert response.status_code == 200
    assert response.context["month"] == month_start(datetime.date.today())


def test_who_may_open_a_department(client, personas, org):
    url = reverse("rotation:department", args=[org.cardiology.uuid])
    expected = {
        "anonymous": LOGIN,
        "resident": 403,
        "other_resident": 403,
        "supervisor": 403,
        "secretary": 200,
        "head": 200,
        "clerk": 200,
        "director": 200,
        "other_director": 404,
        "office": 200,
        "auditor": 403,
        "outsider": 403,
    }
    assert_access(client, personas, expected, url)


def test_another_department_is_not_found(login, secretary, org, audit_events):
    response = login(secretary).get(reverse("rotation:department", args=[org.general_surgery.uuid]))
    assert response.status_code == 404
    assert any(e["action"] == "access.not_found" for e in audit_events)


def test_the_department_list_is_limited_to_the_users_departments(login, director, org, internal_departments):
    response = login(director).get(reverse("rotation:departments"), {"month": "2026-03"})
    assert response.status_code == 200
    names = {row["department"].name for row in response.context["rows"]}
    assert names == {"心血管内科", "呼吸内科", "消化内科", "肾内科", "内分泌科"}
    assert "普通外科" not in response.content.decode()


def test_a_single_department_goes_straight_to_its_month(login, clerk, org):
    response = login(clerk).get(reverse("rotation:departments"), {"month": "2026-03"})
    assert response.status_code == 302
    assert response["Location"] == reverse("rotation:department", args=[org.cardiology.uuid]) + "?month=2026-03"


def test_department_list_permissions(client, personas):
    expected = {"anonymous": LOGIN, "resident": 403, "supervisor": 403, "office": 200, "director": 302, "outsider": 403}
    assert_access(client, personas, expected, reverse("rotation:departments"))


def test_links_go_only_to_residents_the_viewer_may_see(login, director, org, other_profile, march):
    """A 外科 resident rotating in 心血管内科 is listed for the 内科 director, without a link to their rotation."""
    _block(org.cardiology, MARCH, datetime.date(2026, 3, 31), resident=other_profile)
    html = login(director).get(reverse("rotation:department", args=[org.cardiology.uuid]), {"month": "2026-03"})
    html = html.content.decode()
    assert "王外科" in html
    assert reverse("rotation:resident", args=[other_profile.uuid]) not in html
    assert reverse("rotation:resident", args=[march["arriving"].resident.uuid]) in html


def test_the_department_page_query_count_is_constant(login, secretary, org, django_assert_max_num_queries):
    for i in range(15):
        _block(
            org.cardiology,
            MARCH,
            datetime.date(2026, 3, 31),
            resident=ResidentProfileFactory(user=_person(f"q{i}", f"住院{i}"), base=org.internal),
        )
    client = login(secretary)
    with django_assert_max_num_queries(18):
        client.get(reverse("rotation:department", args=[org.cardiology.uuid]), {"month": "2026-03"})


def test_managers_get_a_link_to_assign_supervisors_and_the_clerk_does_not(login, secretary, clerk, org, march):
    url = reverse("rotation:department", args=[org.cardiology.uuid])
    assert 'data-testid="assign-link"' in login(secretary).get(url).content.decode()
    assert 'data-testid="assign-link"' not in login(clerk).get(url).content.decode()
