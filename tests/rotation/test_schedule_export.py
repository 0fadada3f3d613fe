"""The grid to Excel: password first, one row per resident and one column per month, heatmap on sheet 2, audited."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.conftest import PASSWORD
from tests.factories.residents import RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

RANGE = {"start": "2026-03", "months": "3"}


@pytest.fixture
def schedule(org, resident_profile, other_profile, internal_departments, supervisor):
    resident_profile.user.phone = "13800001111"
    resident_profile.user.staff_number = "=HYPERLINK(1)"
    resident_profile.user.save()
    d = internal_departments
    RotationBlockFactory(
        resident=resident_profile,
        department=d["CARD"],
        supervisor=supervisor,
        start_date=datetime.date(2026, 3, 1),
        end_date=datetime.date(2026, 4, 30),
    )
    RotationBlockFactory(
        resident=other_profile,
        department=org.general_surgery,
        start_date=datetime.date(2026, 3, 1),
        end_date=datetime.date(2026, 3, 31),
    )
    return d


def _download(client, params, password=PASSWORD):
    url = reverse("rotation:grid_export") + "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(url, {"password": password})


def _workbook(response):
    content = b"".join(response.streaming_content)
    return load_workbook(io.BytesIO(content))


def test_the_confirm_page_asks_for_the_password_and_exports_nothing_yet(login, office, schedule, audit_events):
    response = login(office).get(reverse("rotation:grid_export"), RANGE)
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()
    assert response.context["row_count"] == 2
    assert not [e for e in audit_events if e["action"] == "rotation.grid.export"]


def test_a_wrong_password_exports_nothing_and_is_audited(login, office, schedule, audit_events):
    response = _download(login(office), RANGE, password="wrong")
    assert response.status_code == 200 and not response.streaming
    assert "The password is not correct" in response.content.decode()
    failures = [e for e in audit_events if e["action"] == "rotation.grid.export"]
    assert failures and failures[-1]["outcome"] == "failure"


def test_the_workbook_has_the_grid_and_the_heatmap(login, office, schedule, audit_events):
    response = _download(login(office), RANGE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    workbook = _workbook(response)
    grid, heat = workbook.worksheets
    assert "Exported by 孙培训" in grid["A1"].value  # the watermark stamp
    header = [c.value for c in grid[3]]
    assert header == ["Name", "Staff or student number", "Specialty base", "Cohort", "2026-03", "2026-04", "2026-05"]
    rows = {r[0]: r for r in grid.iter_rows(min_row=4, values_only=True)}
    assert rows["李住院"][4:] == ("心血管内科", "心血管内科", "Unassigned")
    assert rows["李住院"][1] == "'=HYPERLINK(1)"  # never a formula
    assert rows["王外科"][4] == "普通外科"
    values = [str(v) for row in grid.iter_rows(values_only=True) for v in row if v]
    assert not any("13800001111" in v for v in values)  # no phones or ID numbers in the grid
    assert "Exported by 孙培训" in heat["A1"].value
    heat_rows = [r for r in heat.iter_rows(min_row=4, values_only=True)]
    card = heat_rows.index(next(r for r in heat_rows if r[0] == "心血管内科"))
    assert heat_rows[card][2:] == ("Residents", 1, 1, 0)
    assert heat_rows[card + 1][2:] == ("Maximum", 4, 4, 4)
    event = next(e for e in audit_events if e["action"] == "rotation.grid.export" and e["outcome"] == "success")
    assert event["extra"]["rows"] == "2"
    assert "Specialty base" not in event["extra"]["filters"] and "2026-03" in event["extra"]["filters"]


def test_a_base_director_exports_only_their_base(login, director, schedule):
    grid = _workbook(_download(login(director), RANGE)).worksheets[0]
    names = [r[0] for r in grid.iter_rows(min_row=4, values_only=True)]
    assert names == ["李住院"]


def test_the_filters_go_into_the_stamp(login, office, org, schedule, audit_events):
    grid = _workbook(_download(login(office), {**RANGE, "base": org.surgery.pk})).worksheets[0]
    assert "Specialty base: 外科" in grid["A2"].value
    assert [r[0] for r in grid.iter_rows(min_row=4, values_only=True)] == ["王外科"]


def test_export_permissions(client, personas):
    expected = {
        "anonymous": LOGIN,
        "resident": 403,
        "supervisor": 403,
        "secretary": 403,
        "director": 200,
        "office": 200,
        "outsider": 403,
    }
    assert_access(client, personas, expected, reverse("rotation:grid_export"))
