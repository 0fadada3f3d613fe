import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import imports
from accounts.choices import Role
from accounts.models import RoleAssignment, User
from tests.factories.accounts import make_id_number
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db

HEADERS = ["工号", "姓名", "身份证号", "手机号", "邮箱", "角色", "科室", "专业基地", "用户名"]
START = reverse("accounts:import_start")
CONFIRM = reverse("accounts:import_confirm")


def _bad_checksum(n: int) -> str:
    good = make_id_number(n)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def _workbook(rows: list[list], headers: list[str] = HEADERS, name: str = "staff.xlsx") -> SimpleUploadedFile:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "账号"
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=imports.XLSX_CONTENT_TYPE)


def _valid_rows() -> list[list]:
    return [
        ["T1001", "张带教", make_id_number(701), "13900001001", "zhang@example.cn", "带教医师", "心血管内科", "", ""],
        ["T1002", "陈秘书", make_id_number(702), "13900001002", "", "教学秘书、考勤员", "CARD", "", "chenms"],
        ["T1003", "周基地", make_id_number(703), "13900001003", "", "专业基地负责人,责任导师", "", "内科", ""],
    ]


def _bad_rows() -> list[list]:
    return [
        ["T2001", "好的行", make_id_number(711), "13900002001", "", "带教医师", "心血管内科", "", ""],
        ["T2002", "校验错", _bad_checksum(712), "13900002002", "", "带教医师", "心血管内科", "", ""],
        ["T2003", "重复甲", make_id_number(713), "13900002003", "", "科主任", "普通外科", "", ""],
        ["T2003", "重复乙", make_id_number(714), "13900002004", "", "科主任", "普通外科", "", ""],
        ["T2005", "无科室", make_id_number(715), "13900002005", "", "带教医师", "不存在的科室", "", ""],
    ]


def _upload(client, rows, **kwargs):
    return client.post(START, {"file": _workbook(rows, **kwargs)})


def _errors(response, number: int) -> dict[str, list[str]]:
    row = next(r for r in response.context["preview"].rows if r.number == number)
    return row.errors


def test_only_the_office_and_system_admins_reach_the_import(client, personas):
    expected = {"anonymous": LOGIN, "resident": 403, "outsider": 403, "auditor": 403, "office": 200, "sysadmin": 200}
    assert_access(client, personas, expected, START)
    assert_access(client, personas, expected, reverse("accounts:import_template"))
    assert_access(client, personas, expected, CONFIRM, method="post", data={"token": "none"})
    assert_access(client, personas, expected, START, method="post")


def test_the_template_has_the_columns_the_help_and_the_departments(client, office, org):
    client.force_login(office)
    response = client.get(reverse("accounts:import_template"))
    assert response["Content-Type"] == imports.XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["账号", "说明", "科室与专业基地"]
    assert [c.value for c in wb["账号"][1]] == HEADERS
    assert wb["账号"]["C2"].number_format == "@"
    org_values = {c.value for row in wb["科室与专业基地"].iter_rows() for c in row}
    assert {"CARD", "心血管内科", "普通外科", "内科", "外科"} <= org_values
    help_values = {c.value for row in wb["说明"].iter_rows() for c in row}
    assert "带教医师" in help_values
    assert "系统管理员" not in help_values  # the office may not create administrators

    for row in _valid_rows():
        wb["账号"].append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    upload = SimpleUploadedFile("filled.xlsx", buffer.getvalue(), content_type=imports.XLSX_CONTENT_TYPE)
    response = client.post(START, {"file": upload})
    assert response.context["preview"].is_valid and response.context["preview"].total == 3


def test_the_user_list_links_to_the_import(client, office):
    client.force_login(office)
    assert START in client.get(reverse("accounts:user_list")).content.decode()


def test_bad_rows_show_their_errors_and_nothing_is_written(client, office, org):
    client.force_login(office)
    before = User.objects.count()
    response = _upload(client, _bad_rows())
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.total, preview.valid_count, preview.error_count) == (5, 1, 4)
    assert _errors(response, 2) == {}
    assert "id_number" in _errors(response, 3)
    assert set(_errors(response, 4)) == set(_errors(response, 5)) == {"staff_number"}
    assert "department" in _errors(response, 6)
    html = response.content.decode()
    assert html.count('data-error="staff_number"') == 2
    assert 'data-error="department"' in html and 'data-error="id_number"' in html

    response = client.post(CONFIRM, {"token": response.context["token"]})
    assert response.status_code == 200
    assert User.objects.count() == before
    assert response.context["preview"].error_count == 4
    assert 'data-error="department"' in response.content.decode()


def test_a_valid_file_creates_accounts_whose_owners_must_set_a_password(client, office, org, audit_events):
    client.force_login(office)
    response = _upload(client, _valid_rows())
    assert response.context["preview"].is_valid
    response = client.post(CONFIRM, {"token": response.context["token"]})
    assert response.status_code == 200
    created = {a.user.username: a for a in response.context["created"]}
    assert set(created) == {"T1001", "chenms", "T1003"}

    zhang = User.objects.get(staff_number="T1001")
    assert zhang.must_change_password and zhang.is_active
    assert zhang.id_number == make_id_number(701)
    assert set(RoleAssignment.objects.filter(user__staff_number="T1002").values_list("role", "department")) == {
        (Role.TEACHING_SECRETARY, org.cardiology.pk),
        (Role.ATTENDANCE_CLERK, org.cardiology.pk),
    }
    assert set(RoleAssignment.objects.filter(user__staff_number="T1003").values_list("role", "base")) == {
        (Role.BASE_DIRECTOR, org.internal.pk),
        (Role.MENTOR, org.internal.pk),
    }
    actions = [e["action"] for e in audit_events]
    assert actions.count("account.import") == 3 and actions.count("account.import_batch") == 1
    password = created["T1001"].initial_password
    assert password in response.content.decode()
    assert all(password not in str(e) for e in audit_events)

    client.logout()
    response = client.post(reverse("accounts:login"), {"username": "T1001", "password": password})
    assert response.status_code == 302
    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_set")
    response = client.post(
        reverse("accounts:password_set"), {"new_password1": "Daijiao#2025x", "new_password2": "Daijiao#2025x"}
    )
    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 200
    zhang.refresh_from_db()
    assert not zhang.must_change_password


def test_the_admin_may_import_only_the_valid_rows(client, office, org):
    client.force_login(office)
    response = _upload(client, _bad_rows())
    response = client.post(CONFIRM, {"token": response.context["token"], "valid_only": "on"})
    assert response.status_code == 200
    assert [a.user.staff_number for a in response.context["created"]] == ["T2001"]
    assert not User.objects.filter(staff_number__in=["T2002", "T2003", "T2005"]).exists()
    assert response.context["skipped"] == 4


def test_importing_the_same_file_twice_creates_nothing_the_second_time(client, office, org):
    client.force_login(office)
    response = _upload(client, _valid_rows())
    client.post(CONFIRM, {"token": response.context["token"]})
    count = User.objects.count()

    response = _upload(client, _valid_rows())
    preview = response.context["preview"]
    assert preview.valid_count == 0
    for row in preview.rows:
        assert {"staff_number", "id_number"} <= set(row.errors)
    assert "username" in _errors(response, 3)  # given explicitly; the others repeat the staff number
    response = client.post(CONFIRM, {"token": response.context["token"], "valid_only": "on"})
    assert User.objects.count() == count


def test_the_confirm_step_checks_again_and_a_token_works_once(client, office, org):
    client.force_login(office)
    response = _upload(client, _valid_rows())
    token = response.context["token"]
    User.objects.create(username="someone", real_name="抢先", staff_number="T1001")
    response = client.post(CONFIRM, {"token": token})
    assert "staff_number" in _errors(response, 2)
    assert not User.objects.filter(staff_number="T1003").exists()

    response = client.post(CONFIRM, {"token": token, "valid_only": "on"})
    assert len(response.context["created"]) == 2
    response = client.post(CONFIRM, {"token": token, "valid_only": "on"})
    assert "preview" not in response.context
    assert User.objects.filter(staff_number__startswith="T100").count() == 3


def test_a_file_that_is_not_a_workbook_gets_a_clear_error(client, office):
    client.force_login(office)
    fake = SimpleUploadedFile("staff.xlsx", "工号,姓名\nT1,张三\n".encode(), content_type=imports.XLSX_CONTENT_TYPE)
    response = client.post(START, {"file": fake})
    assert response.status_code == 200
    assert "preview" not in response.context
    [error] = response.context["form"].errors["file"]
    assert error.startswith("该文件不是可读取的 Excel 工作簿（.xlsx）。请在 Excel 或 WPS 中另存为 .xlsx")
    csv = SimpleUploadedFile("staff.csv", b"a,b\n", content_type="text/csv")
    response = client.post(START, {"file": csv})
    assert "请上传 Excel 工作簿（.xlsx）" in response.context["form"].errors["file"][0]


def test_a_workbook_without_the_required_columns_is_refused(client, office):
    client.force_login(office)
    response = _upload(client, [["T1", "张三"]], headers=["工号", "姓名"])
    assert "身份证号" in response.context["form"].errors["file"][0]


def test_id_numbers_and_phones_never_reach_the_page_or_the_session_in_clear(client, office, org):
    client.force_login(office)
    rows = _bad_rows()
    response = _upload(client, rows)
    html = response.content.decode()
    session = str(dict(client.session))
    for row in rows:
        assert row[2] not in html and row[2] not in session
        assert row[3] not in html and row[3] not in session
    assert make_id_number(711)[:3] + "*" * 11 + make_id_number(711)[-4:] in html


def test_roles_scopes_and_identifiers_are_checked_per_cell(client, office, org, sysadmin):
    client.force_login(office)
    rows = [
        ["T3001", "甲", make_id_number(721), "13900003001", "", "带教医师", "", "", ""],
        ["T3002", "乙", make_id_number(722), "12345", "not-an-email", "院长", "", "", ""],
        ["T3003", "丙", make_id_number(723), "13900003003", "", "系统管理员", "", "", ""],
        ["T3004", "丁", 110105199503010000, "13900003004", "", "基地秘书", "", "", "bad name"],
        ["", "", "", "", "", "", "", "", ""],
        ["T3006", "", "", "", "", "", "", "", ""],
    ]
    response = _upload(client, rows)
    assert "department" in _errors(response, 2)
    assert set(_errors(response, 3)) == {"phone", "email", "roles"}
    assert "roles" in _errors(response, 4)  # the office may not create system administrators
    assert {"id_number", "base", "username"} <= set(_errors(response, 5))
    assert set(_errors(response, 7)) == {"real_name", "id_number", "phone", "roles"}
    assert response.context["preview"].total == 5  # the empty line is skipped

    client.force_login(sysadmin)
    response = _upload(client, rows[2:3])
    assert response.context["preview"].is_valid
