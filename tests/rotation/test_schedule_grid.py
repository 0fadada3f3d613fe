"""The grid (residents × months) and heatmap (departments × months) of the published schedule, and its print page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import _person
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

RANGE = {"start": "2026-03", "months": "6"}


def _block(resident, department, start, end, **kwargs):
    return RotationBlockFactory(resident=resident, department=department, start_date=start, end_date=end, **kwargs)


@pytest.fixture
def schedule(org, resident_profile, other_profile, internal_departments):
    """李住院 (内科 2025): 心血管内科 Mar–Apr, 呼吸内科 May; 王外科 (外科 2024): 普通外科 Mar, 心血管内科 Apr."""
    d = internal_departments
    _block(resident_profile, d["CARD"], datetime.date(2026, 3, 1), datetime.date(2026, 4, 30))
    _block(resident_profile, d["RESP"], datetime.date(2026, 5, 1), datetime.date(2026, 5, 31))
    _block(other_profile, org.general_surgery, datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    _block(other_profile, d["CARD"], datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))
    return d


def _rows(response) -> dict[str, list]:
    grid = response.context["grid"]
    return {
        row.resident.user.real_name: [c.department.code if c.department else c.kind for c in row.cells]
        for row in grid.rows
    }


def test_who_may_open_the_grid_heatmap_and_print_page(client, personas):
    expected = {
        "anonymous": LOGIN,
        "resident": 403,
        "other_resident": 403,
        "supervisor": 403,
        "secretary": 403,
        "head": 403,
        "clerk": 403,
        "director": 200,
        "other_director": 200,
        "office": 200,
        "sysadmin": 403,
        "auditor": 403,
        "outsider": 403,
    }
    for name in ("rotation:grid", "rotation:heatmap", "rotation:grid_print"):
        assert_access(client, personas, expected, reverse(name))


def test_the_office_sees_every_base_coloured_by_department(login, office, schedule):
    response = login(office).get(reverse("rotation:grid"), RANGE)
    assert response.status_code == 200
    assert _rows(response) == {
        "李住院": ["CARD", "CARD", "RESP", "free", "free", "free"],
        "王外科": ["GS", "CARD", "free", "free", "free", "free"],
    }
    html = response.content.decode()
    assert 'data-testid="grid-legend"' in html and "心血管内科" in html


def test_a_base_director_sees_only_their_bases_rows(login, director, other_director, schedule):
    assert list(_rows(login(director).get(reverse("rotation:grid"), RANGE))) == ["李住院"]
    assert list(_rows(login(other_director).get(reverse("rotation:grid"), RANGE))) == ["王外科"]


def test_base_choices_are_limited_to_what_the_user_sees(login, director, org, schedule):
    response = login(director).get(reverse("rotation:grid"), RANGE)
    choices = list(response.context["filter"].form.fields["base"].queryset)
    assert choices == [org.internal]
    # another base by hand: an invalid choice, no rows rather than everything
    response = login(director).get(reverse("rotation:grid"), {**RANGE, "base": org.surgery.pk})
    assert response.context["grid"].rows == []
    assert "Select a valid choice" in response.content.decode()


def test_filters_by_base_cohort_and_department_in_the_range(login, office, org, schedule):
    client = login(office)
    assert list(_rows(client.get(reverse("rotation:grid"), {**RANGE, "base": org.surgery.pk}))) == ["王外科"]
    assert list(_rows(client.get(reverse("rotation:grid"), {**RANGE, "cohort": 2025}))) == ["李住院"]
    resp = schedule["RESP"].pk
    assert list(_rows(client.get(reverse("rotation:grid"), {**RANGE, "department": resp}))) == ["李住院"]
    # 呼吸内科 in May is outside a range that ends in April
    outside = client.get(reverse("rotation:grid"), {"start": "2026-03", "months": "2", "department": resp})
    assert _rows(outside) == {}


def test_the_month_range_defaults_to_twelve_months_from_now_and_is_capped(login, office, schedule):
    client = login(office)
    months = client.get(reverse("rotation:grid")).context["months"]
    assert len(months) == 12 and months[0] == timezone.localdate().replace(day=1)
    response = client.get(reverse("rotation:grid"), {"start": "2026-03", "months": "37"})
    assert len(response.context["months"]) == 12
    assert 'data-testid="range-error"' in response.content.decode()
    assert len(client.get(reverse("rotation:grid"), {"start": "2026-03", "months": "36"}).context["months"]) == 36


def test_a_bad_month_is_explained_and_the_other_filters_kept(login, office, org, schedule):
    response = login(office).get(reverse("rotation:grid"), {"start": "March", "months": "3", "cohort": 2025})
    assert response.status_code == 200
    assert "Give the month as YYYY-MM" in response.content.decode()
    assert len(response.context["months"]) == 3
    assert list(_rows(response)) == ["李住院"]


def test_the_heatmap_counts_every_base_against_capacity(login, director, schedule):
    response = login(director).get(reverse("rotation:heatmap"), RANGE)
    assert response.status_code == 200
    rows = {row.department.code: row for row in response.context["heatmap"].rows}
    assert set(rows) == {"CARD", "RESP"}  # where 内科's residents rotate; not 普通外科
    card = rows["CARD"]
    assert [c.load for c in card.cells] == [1, 2, 0, 0, 0, 0]  # April: 李住院 and 王外科
    assert card.cells[0].capacity == 4
    assert 'data-testid="heatmap"' in response.content.decode()


def test_the_print_page_has_a3_landscape_css_the_filters_the_time_and_no_navigation(login, office, org, schedule):
    response = login(office).get(reverse("rotation:grid_print"), {**RANGE, "base": org.internal.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "size: A3 landscape" in html and "@media print" in html
    assert 'id="sidebar"' not in html and "navbar" not in html
    header = html.split('data-testid="print-header"')[1].split("</header>")[0]
    assert "Specialty base: <strong>内科</strong>" in header
    assert "2026-03 – 2026-08" in header
    assert "Printed by 孙培训" in header
    assert 'data-testid="grid-legend"' in html and 'data-testid="heatmap"' in html
    assert "王外科" not in html


def _grid_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("rotation:grid"), params).status_code == 200
    return len(queries)


def test_the_grid_query_count_does_not_grow_with_residents(login, office, org, internal_departments):
    d = list(internal_departments.values())

    def add(n: int, offset: int) -> None:
        for i in range(n):
            profile = ResidentProfileFactory(user=_person(f"g{offset + i}", f"住院{offset + i}"), base=org.internal)
            _block(profile, d[i % len(d)], datetime.date(2026, 3, 1), datetime.date(2026, 4, 30))
            _block(profile, d[(i + 1) % len(d)], datetime.date(2026, 5, 1), datetime.date(2026, 6, 30))

    client = login(office)
    add(3, 0)
    small = _grid_queries(client, RANGE)
    heat_small = len(_capture(client, "rotation:heatmap"))
    add(27, 100)
    assert _grid_queries(client, RANGE) == small
    assert len(_capture(client, "rotation:heatmap")) == heat_small


def _capture(client, name):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(name), RANGE).status_code == 200
    return queries
