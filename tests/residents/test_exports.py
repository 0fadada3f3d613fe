"""Exporting the resident list: who may, what each gets in clear, the stamp and the audit record."""

import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.choices import Role
from residents.exports import RESIDENT_COLUMNS
from tests.conftest import PASSWORD, _person
from tests.factories.accounts import UserFactory
from tests.factories.residents import ResidentProfileFactory
from tests.permissions import LOGIN, assert_access

# Messages are asserted in English (the catalogue translates them for zh-hans).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

URL = "residents:export"


def download(client, user, params: str = "", password: str = PASSWORD):
    client.force_login(user)
    url = reverse(URL) + (f"?{params}" if params else "")
    response = client.post(url, {"password": password})
    assert response.status_code == 200
    if not response.streaming:
        return response, None, ""
    raw = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        package = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return response, load_workbook(io.BytesIO(raw)), package


def data_rows(wb) -> list[dict]:
    rows = list(wb.active.iter_rows(min_row=3, values_only=True))
    headers = [str(h) for h in rows[0]]
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


def column(wb, key: str) -> list:
    index = [c.name for c in RESIDENT_COLUMNS].index(key)
    return [row[index] for row in wb.active.iter_rows(min_row=4, values_only=True)]


def test_only_the_office_and_base_managers_may_export(client, archive_personas, org):
    base_secretary = _person("base_secretary", "冯干事", Role.BASE_SECRETARY, base=org.internal)
    people = {**archive_personas, "base_secretary": base_secretary}
    expected = {
        "anonymous": LOGIN, "resident": 403, "other_resident": 403, "supervisor": 403, "other_supervisor": 403,
        "mentor": 403, "secretary": 403, "head": 403, "clerk": 403, "director": 200, "other_director": 200,
        "base_secretary": 200, "office": 200, "sysadmin": 403, "auditor": 403, "outsider": 403,
    }  # fmt: skip
    assert_access(client, people, expected, reverse(URL))
    # a POST (even with the right password) is refused the same way
    post_expected = {k: v for k, v in expected.items() if v != 200}
    assert_access(client, people, post_expected, reverse(URL), method="post", data={"password": PASSWORD})


def test_the_confirm_page_says_what_will_leave_and_asks_for_the_password(client, archive_personas, org):
    client.force_login(archive_personas["office"])
    response = client.get(reverse(URL), {"base": org.internal.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert response.context["row_count"] == 1
    assert "内科" in html and 'type="password"' in html
    assert response.context["cancel_url"] == reverse("residents:list") + f"?base={org.internal.pk}"
    assert response.context["masked_columns"] == []


def test_the_director_is_told_which_columns_stay_masked(client, archive_personas):
    client.force_login(archive_personas["director"])
    response = client.get(reverse(URL))
    assert [c.name for c in response.context["masked_columns"]] == ["id_number", "phone"]


def test_the_office_gets_a_stamped_workbook_with_full_identifiers(client, archive_personas, resident, audit_events):
    response, wb, _ = download(client, archive_personas["office"])
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    stamp = wb.active["A1"].value
    assert "孙培训" in stamp and "(office)" in stamp
    assert wb.properties.creator == "孙培训(office)"
    assert sorted(column(wb, "name")) == ["李住院", "王外科"]
    assert len(data_rows(wb)) == 2
    assert resident.id_number in column(wb, "id_number")
    assert resident.phone in column(wb, "phone")
    [event] = [e for e in audit_events if e["action"] == "residents.export" and e["outcome"] == "success"]
    assert event["user"]["username"] == "office"
    assert event["extra"]["rows"] == "2"
    assert event["extra"]["masked"] == "False"
    assert resident.id_number not in str(event)  # the audit record names columns, never values


def test_the_director_gets_only_the_base_and_masked_identifiers(
    client, archive_personas, resident, other_resident, audit_events
):
    _, wb, package = download(client, archive_personas["director"])
    assert "周基地" in wb.active["A1"].value and "(director)" in wb.active["A1"].value
    assert column(wb, "name") == ["李住院"]
    assert column(wb, "id_number") == [resident.id_number_masked]
    assert column(wb, "phone") == [resident.phone_masked]
    for secret in (resident.id_number, resident.phone, other_resident.id_number):
        assert secret not in package
    [event] = [e for e in audit_events if e["action"] == "residents.export" and e["outcome"] == "success"]
    assert event["extra"]["rows"] == "1" and event["extra"]["masked"] == "True"


def test_a_base_director_who_also_mentors_elsewhere_exports_only_their_base(client, org, archive_personas):
    director = archive_personas["director"]
    ResidentProfileFactory(user=UserFactory(real_name="外科门生"), base=org.surgery, mentor=director)
    client.force_login(director)
    assert "外科门生" in client.get(reverse("residents:list")).content.decode()  # seen as mentor
    _, wb, _ = download(client, director)
    assert column(wb, "name") == ["李住院"]


def test_the_export_uses_the_list_filters(client, archive_personas, org, audit_events):
    _, wb, _ = download(client, archive_personas["office"], f"base={org.surgery.pk}&cohort=2024&sort=name")
    assert column(wb, "name") == ["王外科"]
    assert "外科" in wb.active["A2"].value and "2024" in wb.active["A2"].value
    [event] = [e for e in audit_events if e["action"] == "residents.export" and e["outcome"] == "success"]
    assert "外科" in event["extra"]["filters"] and event["extra"]["rows"] == "1"


def test_a_pinyin_search_is_exported_as_searched(client, archive_personas):
    _, wb, _ = download(client, archive_personas["office"], "q=wwk")
    assert column(wb, "name") == ["王外科"]


def test_a_wrong_password_downloads_nothing_and_says_so(client, archive_personas, audit_events):
    response, wb, _ = download(client, archive_personas["office"], password="not-my-password")
    assert wb is None
    assert "Content-Disposition" not in response
    assert response.context["form"].errors["password"]
    assert 'class="form-control is-invalid"' in response.content.decode()
    events = [e for e in audit_events if e["action"] == "residents.export"]
    assert [e["outcome"] for e in events] == ["failure"]


def test_five_wrong_passwords_sign_the_exporter_out(client, archive_personas):
    office = archive_personas["office"]
    client.force_login(office)
    for _ in range(4):
        assert client.post(reverse(URL), {"password": "x"}).status_code == 200
    response = client.post(reverse(URL), {"password": "x"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert client.get(reverse("residents:list")).status_code == 302  # signed out


def test_text_that_looks_like_a_formula_is_written_as_text(client, archive_personas, resident_profile):
    resident_profile.sending_unit = '=HYPERLINK("http://evil.example","点我")'
    resident_profile.save()
    _, wb, package = download(client, archive_personas["office"], "q=lzy")
    assert column(wb, "sending_unit") == ["'" + resident_profile.sending_unit]
    assert "<f>" not in package


def test_no_identifier_appears_in_the_confirm_page(client, archive_personas, resident):
    for persona in ("office", "director"):
        client.force_login(archive_personas[persona])
        html = client.get(reverse(URL)).content.decode()
        assert resident.id_number not in html and resident.phone not in html
