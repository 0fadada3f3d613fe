"""Exporting the faculty list: who may, which rows, phones masked for all but the office, the stamp, the audit."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.choices import Role
from faculty.exports import FACULTY_COLUMNS
from faculty.models import SupervisorQualification
from tests.conftest import PASSWORD, _person
from tests.faculty.conftest import years_ago
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db

URL = "/faculty/export/"


def download(client, user, params: str = "", password: str = PASSWORD):
    client.force_login(user)
    response = client.post(URL + (f"?{params}" if params else ""), {"password": password})
    assert response.status_code == 200
    if not response.streaming:
        return response, None
    return response, load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def data_rows(wb) -> list[dict]:
    rows = list(wb.active.iter_rows(min_row=3, values_only=True))
    headers = [str(h) for h in rows[0]]
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


def test_a_post_is_refused_to_those_who_may_not_export(client, faculty_personas, org):
    base_secretary = _person("base_secretary", "冯干事", Role.BASE_SECRETARY, base=org.internal)
    people = {**faculty_personas, "base_secretary": base_secretary}
    expected = {
        "anonymous": LOGIN, "resident": 403, "supervisor": 403, "secretary": 403, "head": 403, "clerk": 403,
        "sysadmin": 403, "auditor": 403, "outsider": 403, "base_secretary": 200,
    }  # fmt: skip
    assert_access(client, people, expected, URL)
    refused = {k: v for k, v in expected.items() if v != 200}
    assert_access(client, people, refused, URL, method="post", data={"password": PASSWORD})


def test_the_office_exports_every_teacher_with_phones_in_clear(client, office, teacher, surgeon_profile, audit_events):
    SupervisorQualification.objects.create(faculty=teacher, granted_on=years_ago(1), expires_on=years_ago(-2))
    response, wb = download(client, office)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = {row[1]: row for row in wb.active.iter_rows(min_row=4, values_only=True)}  # by name
    assert set(rows) == {"张带教", "王刀"}
    assert {row[2] for row in rows.values()} == {teacher.user.phone, surgeon_profile.user.phone}
    assert len(data_rows(wb)) == 2 and len(data_rows(wb)[0]) == len(FACULTY_COLUMNS)
    stamp = wb.active.cell(row=1, column=1).value
    assert "孙培训" in stamp and "office" in stamp
    [event] = [e for e in audit_events if e["action"] == "faculty.export" and e["outcome"] == "success"]
    assert event["extra"]["rows"] == "2" and event["extra"]["masked"] == "False"


def test_a_base_director_exports_the_base_only_with_phones_masked(client, director, teacher, surgeon_profile):
    _, wb = download(client, director)
    rows = list(wb.active.iter_rows(min_row=4, values_only=True))
    assert [row[1] for row in rows] == ["张带教"]
    assert rows[0][2] == teacher.user.phone_masked and teacher.user.phone not in str(rows)


def test_the_export_follows_the_list_filters(client, office, teacher, surgeon_profile, org):
    _, wb = download(client, office, f"base={org.surgery.pk}&sort=name")
    rows = list(wb.active.iter_rows(min_row=4, values_only=True))
    assert [row[1] for row in rows] == ["王刀"]
    summary = wb.active.cell(row=2, column=1).value
    assert "外科" in summary


def test_a_wrong_password_exports_nothing_and_is_audited(client, office, teacher, audit_events):
    response, wb = download(client, office, password="wrong")
    assert wb is None
    assert response.context["form"].errors["password"]
    assert [e for e in audit_events if e["action"] == "faculty.export" and e["outcome"] == "failure"]


def test_the_list_offers_the_export_only_to_those_who_may(client, faculty_personas):
    for persona, offered in [("office", True), ("director", True), ("secretary", False), ("head", False)]:
        client.force_login(faculty_personas[persona])
        html = client.get(reverse("faculty:list")).content.decode()
        assert (URL in html) is offered, persona
