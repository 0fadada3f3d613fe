"""Enrollment (录取) through the views, as the training office of 示范医院.

The batch 2026 · 第一批 has 内科 (0100) with 3 places and 外科 (0900) with 1; 儿科 (0200) is
a base of the hospital without a quota in it.
"""

import datetime
import io
import re

import openpyxl
import pytest
from django.contrib import messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.translation import gettext

from accounts import imports
from accounts.choices import Role
from accounts.models import RoleAssignment, User
from accounts.services import registration_submit
from approvals.choices import ActionKind
from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from residents import enrollment
from residents.choices import BatchStatus, Degree, EducationLevel, Gender, RevisionSource, TrainingCategory
from residents.models import ArchiveRevision, EnrollmentBatch, EnrollmentQuota, ResidentProfile
from tests.conftest import _person
from tests.factories.accounts import HospitalFactory, SpecialtyBaseFactory, make_id_number
from tests.factories.residents import EnrollmentBatchFactory, EnrollmentQuotaFactory, ResidentProfileFactory
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db

HEADERS = [
    "姓名*",
    "性别*",
    "身份证号*",
    "手机号*",
    "邮箱",
    "专业基地*",
    "人员类型*",
    "派送单位",
    "培训年限",
    "毕业院校",
    "毕业专业",
    "学历",
    "学位",
    "毕业时间",
    "是否应届",
]
KEYS = [c.key for c in enrollment.COLUMNS]


def _id(n: int) -> str:
    """An ID number born 2000-01-01; odd n is a man, even n a woman."""
    return make_id_number(n, born="20000101")


def _bad_checksum(n: int) -> str:
    good = _id(n)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def _row(n: int, **values) -> list:
    row = {
        "real_name": f"学员{n}",
        "gender": "男" if n % 2 else "女",
        "id_number": _id(n),
        "phone": f"137{n:08d}",
        "email": "",
        "base": "内科",
        "category": "社会人",
        "sending_unit": "",
        "training_years": "",
        "school": "首都医科大学",
        "major": "临床医学",
        "education_level": "本科",
        "degree": "学士",
        "graduation_date": "2026-06-30",
        "fresh_graduate": "是",
    }
    row.update(values)
    return [row[k] for k in KEYS]


def _workbook(rows: list[list], *, name: str = "录取名单.xlsx", headers: list[str] = HEADERS) -> SimpleUploadedFile:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "录取名单"
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=imports.XLSX_CONTENT_TYPE)


@pytest.fixture
def pediatrics(org):
    return SpecialtyBaseFactory(hospital=org.hospital, code="0200", name="儿科")


@pytest.fixture
def batch(org, office, pediatrics):
    batch = EnrollmentBatchFactory(
        hospital=org.hospital, year=2026, name="第一批", start_date=datetime.date(2026, 9, 1), opened_by=office
    )
    EnrollmentQuotaFactory(batch=batch, base=org.internal, quota=3)
    EnrollmentQuotaFactory(batch=batch, base=org.surgery, quota=1)
    return batch


@pytest.fixture
def other_office(db):
    """The training office of another hospital: our batches do not exist for it."""
    return _person("office_elsewhere", "冯培训", Role.TRAINING_OFFICE, hospital=HospitalFactory(code="elsewhere"))


def _url(name: str, batch: EnrollmentBatch) -> str:
    return reverse(f"residents:{name}", args=[batch.uuid])


def _upload(client, batch, rows, **kwargs):
    return client.post(_url("import_start", batch), {"file": _workbook(rows, **kwargs)})


def _row_errors_in_html(html: str) -> dict[int, set[str]]:
    """Which cells of each preview row show an error, as rendered."""
    found: dict[int, set[str]] = {}
    for number, body in re.findall(r'<tr class="[^"]*" data-row="(\d+)">(.*?)</tr>', html, flags=re.S):
        found[int(number)] = set(re.findall(r'data-error="([a-z_]+)"', body))
    return found


def _counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        ResidentProfile.objects.count(),
        RoleAssignment.objects.count(),
        ArchiveRevision.objects.count(),
    )


# --- who may do what -------------------------------------------------------------------------


ROLE_PAGE = {
    "anonymous": LOGIN,
    "resident": 403,
    "supervisor": 403,
    "director": 403,
    "sysadmin": 403,
    "auditor": 403,
    "outsider": 403,
    "office": 200,
}
BATCH_PAGE = {**ROLE_PAGE, **{k: 404 for k in ROLE_PAGE if k not in ("anonymous", "office")}}


def test_only_the_office_reaches_the_batch_list_and_the_new_batch_form(client, personas):
    assert_access(client, personas, ROLE_PAGE, reverse("residents:batch_list"))
    assert_access(client, personas, ROLE_PAGE, reverse("residents:batch_create"))
    posted = {**ROLE_PAGE, "office": 200}  # an empty form comes back with its errors
    assert_access(client, personas, posted, reverse("residents:batch_create"), method="post")


@pytest.mark.parametrize(
    ("name", "method", "office_status"),
    [
        ("batch_detail", "get", 200),
        ("batch_edit", "get", 200),
        ("batch_accept", "get", 200),
        ("import_start", "get", 200),
        ("import_template", "get", 200),
        ("batch_export", "get", 200),
        ("import_confirm", "post", 302),  # no parked file: back to the upload form
        ("batch_close", "post", 302),
    ],
)
def test_batches_exist_only_for_the_office_of_their_hospital(
    client, personas, batch, other_office, name, method, office_status
):
    expected = {**BATCH_PAGE, "office": office_status, "other_office": 404}
    people = {**personas, "other_office": other_office}
    assert_access(client, people, expected, _url(name, batch), method=method)


def test_the_other_pages_refuse_get_where_only_post_makes_sense(client, office, batch):
    client.force_login(office)
    assert client.get(_url("batch_close", batch)).status_code == 405
    assert client.get(_url("import_confirm", batch)).status_code == 405
    batch.refresh_from_db()
    assert batch.is_open


# --- batches ---------------------------------------------------------------------------------


def test_the_office_opens_a_batch_with_quotas_for_some_bases(client, office, org, pediatrics, audit_events):
    client.force_login(office)
    page = client.get(reverse("residents:batch_create"))
    html = page.content.decode()
    assert "0100 内科" in html and "0200 儿科" in html
    form = page.context["form"]

    data = {
        "year": 2026,
        "name": "2026年第一批",
        "start_date": "2026-09-01",
        "note": "含专硕",
        form.quota_field(org.internal): "5",
        form.quota_field(org.surgery): "0",
        form.quota_field(pediatrics): "",
    }
    response = client.post(reverse("residents:batch_create"), data)
    batch = EnrollmentBatch.objects.get(name="2026年第一批")
    assert response.status_code == 302 and response["Location"] == _url("batch_detail", batch)
    assert (batch.hospital, batch.year, batch.start_date, batch.opened_by) == (
        org.hospital,
        2026,
        datetime.date(2026, 9, 1),
        office,
    )
    assert list(batch.quotas.values_list("base__code", "quota")) == [("0100", 5)]
    [event] = [e for e in audit_events if e["action"] == "enrollment.batch_open"]
    assert event["target"]["id"] == str(batch.uuid)

    detail = client.get(_url("batch_detail", batch)).content.decode()
    assert "2026年第一批" in detail and "含专硕" in detail
    assert "外科" not in detail  # a 0 quota keeps the base out

    listing = client.get(reverse("residents:batch_list"))
    assert [b.pk for b in listing.context["batches"]] == [batch.pk]
    assert listing.context["batches"][0].quota_total == 5

    response = client.post(reverse("residents:batch_create"), data)
    assert response.status_code == 200
    assert "name" in response.context["form"].errors  # the same name in the same year
    no_quota = {**data, "name": "第二批", form.quota_field(org.internal): ""}
    response = client.post(reverse("residents:batch_create"), no_quota)
    assert response.context["form"].non_field_errors()
    assert EnrollmentBatch.objects.count() == 1


def test_the_batch_list_needs_a_fixed_number_of_queries(client, office, org, django_assert_max_num_queries):
    for n in range(6):
        batch = EnrollmentBatchFactory(hospital=org.hospital, name=f"批次{n}")
        EnrollmentQuotaFactory(batch=batch, base=org.internal, quota=4)
        ResidentProfileFactory(batch=batch, base=org.internal)
    client.force_login(office)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("residents:batch_list"))
    assert response.context["counts"]["total"] == 6
    assert {(b.enrolled, b.quota_total, b.base_count) for b in response.context["batches"]} == {(1, 4, 1)}


def test_a_quota_cannot_drop_below_the_residents_enrolled(client, office, org, batch, audit_events):
    ResidentProfileFactory(batch=batch, base=org.internal)
    ResidentProfileFactory(batch=batch, base=org.internal)
    client.force_login(office)
    form = client.get(_url("batch_edit", batch)).context["form"]
    data = {
        "name": "第一批",
        "start_date": "2026-09-01",
        "note": "",
        form.quota_field(org.internal): "1",
        form.quota_field(org.surgery): "1",
    }
    response = client.post(_url("batch_edit", batch), data)
    assert response.status_code == 200
    [error] = response.context["form"].errors[form.quota_field(org.internal)]
    assert "2" in error
    assert EnrollmentQuota.objects.get(batch=batch, base=org.internal).quota == 3

    # Nor can the base leave the batch while residents are enrolled in it, and the start date stays.
    response = client.post(_url("batch_edit", batch), {**data, form.quota_field(org.internal): ""})
    assert form.quota_field(org.internal) in response.context["form"].errors

    response = client.post(
        _url("batch_edit", batch), {**data, form.quota_field(org.internal): "2", "name": "第一批（补录）"}
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.name == "第一批（补录）" and batch.start_date == datetime.date(2026, 9, 1)
    assert dict(batch.quotas.values_list("base__code", "quota")) == {"0100": 2, "0900": 1}
    assert [e["action"] for e in audit_events if e["action"].startswith("enrollment.")] == ["enrollment.batch_edit"]


def test_the_service_refuses_a_quota_below_the_enrolled_even_without_the_form(office, org, batch):
    ResidentProfileFactory(batch=batch, base=org.surgery)
    with pytest.raises(enrollment.QuotaExceeded):
        enrollment.batch_update(
            batch=batch,
            name=batch.name,
            start_date=batch.start_date,
            note="",
            quotas={org.internal: 3, org.surgery: 0},
            acting_user=office,
        )
    assert EnrollmentQuota.objects.filter(batch=batch, base=org.surgery).exists()


def test_closing_a_batch_refuses_imports_until_it_is_opened_again(client, office, org, batch, audit_events):
    client.force_login(office)
    parked = _upload(client, batch, [_row(901)])
    token = parked.context["token"]

    response = client.post(_url("batch_close", batch))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CLOSED
    assert "enrollment.batch_close" in [e["action"] for e in audit_events]

    page = client.get(_url("import_start", batch))
    assert 'data-testid="batch-closed"' in page.content.decode()
    assert 'type="file"' not in page.content.decode()
    before = _counts()
    response = _upload(client, batch, [_row(902)])
    assert response.status_code == 302 and response["Location"] == _url("batch_detail", batch)
    [message] = messages.get_messages(response.wsgi_request)
    assert str(message) == gettext("This batch is closed; open it again to enroll residents.")
    response = client.post(_url("import_confirm", batch), {"token": token})
    assert response.status_code == 302
    assert _counts() == before

    client.post(_url("batch_close", batch))
    batch.refresh_from_db()
    assert batch.is_open
    assert "enrollment.batch_reopen" in [e["action"] for e in audit_events]
    response = client.post(_url("import_confirm", batch), {"token": token})
    assert response.status_code == 200 and len(response.context["enrolled"]) == 1


# --- the template ----------------------------------------------------------------------------


def test_the_template_has_chinese_headers_text_columns_and_the_places_left(client, office, org, batch):
    ResidentProfileFactory(batch=batch, base=org.internal)
    client.force_login(office)
    response = client.get(_url("import_template", batch))
    assert response["Content-Type"] == imports.XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["录取名单", "说明"]
    sheet = wb["录取名单"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["C2"].number_format == "@" and sheet["D2"].number_format == "@"
    help_rows = [[c.value for c in row] for row in wb["说明"].iter_rows()]
    assert ["0100", "内科", 3, 1, 2] in help_rows
    assert ["0900", "外科", 1, 0, 1] in help_rows
    assert not any(row[:2] == ["0200", "儿科"] for row in help_rows)
    assert any("委培单位人" in row for row in help_rows)

    for row in (_row(903), _row(904, base="0900")):
        sheet.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    upload = SimpleUploadedFile("filled.xlsx", buffer.getvalue(), content_type=imports.XLSX_CONTENT_TYPE)
    preview = client.post(_url("import_start", batch), {"file": upload}).context["preview"]
    assert preview.is_valid and preview.total == 2


# --- the import ------------------------------------------------------------------------------


def test_every_kind_of_bad_row_shows_its_error_in_its_cell_and_nothing_is_written(client, office, org, batch, resident):
    rows = [
        _row(801),  # 2: valid, 内科
        _row(802, id_number=_bad_checksum(802)),  # 3
        _row(803, phone="12345"),  # 4
        _row(805),  # 5: the same ID number as row 6
        _row(806, id_number=_id(805), gender="男"),  # 6
        _row(807, id_number=resident.id_number, gender="男" if int(resident.id_number[16]) % 2 else "女"),  # 7
        _row(808, base="不存在的基地"),  # 8
        _row(809, base="儿科"),  # 9: a base of the hospital, not of this batch
        _row(810, base="外科"),  # 10: valid, takes the one place of 外科
        _row(811, base="0900"),  # 11: beyond the quota of 外科
        _row(812, real_name=""),  # 12
        _row(813, category="委培单位人"),  # 13: no sending unit
        _row(814, training_years="4"),  # 14
        _row(815, gender="女"),  # 15: the ID number says a man
        _row(816, category="学徒", graduation_date="2026-13-01"),  # 16
        _row(817, phone="13799999999"),  # 17: the same phone as row 18
        _row(818, phone="13799999999"),  # 18
    ]
    expected = {
        2: set(),
        3: {"id_number"},
        4: {"phone"},
        5: {"id_number"},
        6: {"id_number"},
        7: {"id_number"},
        8: {"base"},
        9: {"base"},
        10: set(),
        11: {"base"},
        12: {"real_name"},
        13: {"sending_unit"},
        14: {"training_years"},
        15: {"gender"},
        16: {"category", "graduation_date"},
        17: {"phone"},
        18: {"phone"},
    }
    client.force_login(office)
    before = _counts()
    response = _upload(client, batch, rows)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert {row.number: set(row.errors) for row in preview.rows} == expected
    assert _row_errors_in_html(response.content.decode()) == expected
    assert (preview.total, preview.valid_count) == (17, 2)

    by_number = {row.number: row for row in preview.rows}
    assert "check digit" in by_number[3].errors["id_number"][0] or "校验" in by_number[3].errors["id_number"][0]
    assert "6" in by_number[5].errors["id_number"][0] and "5" in by_number[6].errors["id_number"][0]
    assert by_number[8].errors["base"] != by_number[9].errors["base"]  # unknown vs not in this batch
    assert "外科" in by_number[11].errors["base"][0]

    response = client.post(_url("import_confirm", batch), {"token": response.context["token"]})
    assert response.status_code == 200
    assert response.context["preview"].error_count == 15
    assert _counts() == before

    # "Valid rows only" enrolls exactly rows 2 and 10; row 11 stays beyond the quota of 外科.
    response = client.post(_url("import_confirm", batch), {"token": response.context["token"], "valid_only": "on"})
    assert [e.user.real_name for e in response.context["enrolled"]] == ["学员801", "学员810"]
    assert response.context["skipped"] == 15


def test_identifiers_are_masked_in_the_preview_and_the_session(client, office, batch):
    rows = [_row(821), _row(822, phone="12345")]
    client.force_login(office)
    response = _upload(client, batch, rows)
    html = response.content.decode()
    session = str(dict(client.session))
    for row in rows:
        assert row[2] not in html and row[2] not in session
        assert row[3] not in html and row[3] not in session
    assert _id(821)[:3] + "*" * 11 + _id(821)[-4:] in html


def test_a_valid_file_enrolls_residents_with_accounts_roles_and_archives(client, office, org, batch, audit_events):
    rows = [
        _row(831),
        _row(
            832,
            category="委培单位人",
            sending_unit="某县人民医院",
            training_years="2",
            graduation_date="2026/6",
            fresh_graduate="否",
            education_level="硕士研究生",
            degree="硕士",
            email="xy832@example.cn",
        ),
        _row(833, base="0900", category="专硕", education_level="", degree="", graduation_date=""),
    ]
    client.force_login(office)
    response = _upload(client, batch, rows)
    assert response.context["preview"].is_valid
    response = client.post(_url("import_confirm", batch), {"token": response.context["token"]})
    assert response.status_code == 200
    enrolled = {e.user.real_name: e for e in response.context["enrolled"]}
    assert {n: e.user.username for n, e in enrolled.items()} == {
        "学员831": "20260100001",
        "学员832": "20260100002",
        "学员833": "20260900001",
    }

    account = User.objects.get(username="20260100002")
    assert account.must_change_password and account.is_active
    assert account.staff_number == "20260100002" and account.email == "xy832@example.cn"
    assert account.id_number == _id(832) and account.phone == "13700000832"
    assert list(RoleAssignment.objects.filter(user=account).values_list("role", "base")) == [
        (Role.RESIDENT, org.internal.pk)
    ]
    profile = account.resident_profile
    assert (profile.batch, profile.base, profile.cohort) == (batch, org.internal, 2026)
    assert (profile.start_date, profile.planned_end_date) == (datetime.date(2026, 9, 1), datetime.date(2028, 8, 31))
    assert (profile.gender, profile.birth_date) == (Gender.FEMALE, datetime.date(2000, 1, 1))
    assert (profile.category, profile.sending_unit, profile.training_years) == (
        TrainingCategory.ENTRUSTED,
        "某县人民医院",
        2,
    )
    assert (profile.school, profile.major, profile.education_level, profile.degree) == (
        "首都医科大学",
        "临床医学",
        EducationLevel.MASTER,
        Degree.MASTER,
    )
    assert (profile.graduation_date, profile.fresh_graduate) == (datetime.date(2026, 6, 1), False)
    [revision] = profile.revisions.all()
    assert (revision.source, revision.changed_by) == (RevisionSource.ENROLLMENT, office)

    surgeon = User.objects.get(username="20260900001").resident_profile
    assert (surgeon.base, surgeon.category, surgeon.gender, surgeon.planned_end_date) == (
        org.surgery,
        TrainingCategory.MASTER,
        Gender.MALE,
        datetime.date(2029, 8, 31),
    )

    actions = [e["action"] for e in audit_events]
    assert actions.count("enrollment.import") == 3 and actions.count("enrollment.import_batch") == 1
    assert actions.count("role.assign") == 3
    password = enrolled["学员831"].initial_password
    html = response.content.decode()
    assert password in html
    assert reverse("residents:detail", args=[enrolled["学员831"].profile.uuid]) in html
    for event in audit_events:
        assert password not in str(event) and _id(831) not in str(event) and "13700000831" not in str(event)

    detail = client.get(_url("batch_detail", batch))
    assert [(line.base.code, line.enrolled, line.remaining) for line, _ in detail.context["lines"]] == [
        ("0100", 2, 1),
        ("0900", 1, 0),
    ]
    assert reverse("residents:detail", args=[profile.uuid]) in detail.content.decode()

    client.logout()
    response = client.post(reverse("accounts:login"), {"username": "20260100001", "password": password})
    assert response.status_code == 302
    assert client.get(reverse("core:home"))["Location"] == reverse("accounts:password_set")


def test_importing_the_same_file_again_creates_nothing(client, office, batch):
    rows = [_row(841), _row(842, base="外科")]
    client.force_login(office)
    response = _upload(client, batch, rows)
    client.post(_url("import_confirm", batch), {"token": response.context["token"]})
    after_first = _counts()

    response = _upload(client, batch, rows)
    preview = response.context["preview"]
    assert preview.valid_count == 0
    for row in preview.rows:
        assert "id_number" in row.errors
    assert 'data-testid="nothing-to-import"' in response.content.decode()
    response = client.post(_url("import_confirm", batch), {"token": response.context["token"], "valid_only": "on"})
    assert response.status_code == 200 and "enrolled" not in response.context
    assert _counts() == after_first


def test_the_confirm_step_checks_again_and_a_token_works_once(client, office, org, batch):
    client.force_login(office)
    response = _upload(client, batch, [_row(851), _row(852)])
    token = response.context["token"]
    # Meanwhile the base filled up: two of its three places are taken.
    ResidentProfileFactory(batch=batch, base=org.internal)
    ResidentProfileFactory(batch=batch, base=org.internal)
    response = client.post(_url("import_confirm", batch), {"token": token})
    assert "base" in response.context["preview"].rows[1].errors
    assert not User.objects.filter(real_name__in=["学员851", "学员852"]).exists()

    response = client.post(_url("import_confirm", batch), {"token": token, "valid_only": "on"})
    assert len(response.context["enrolled"]) == 1
    response = client.post(_url("import_confirm", batch), {"token": token, "valid_only": "on"})
    assert response.status_code == 302 and response["Location"] == _url("import_start", batch)
    assert User.objects.filter(real_name__in=["学员851", "学员852"]).count() == 1


def test_a_token_of_one_batch_does_not_confirm_into_another(client, office, org, batch):
    second = EnrollmentBatchFactory(hospital=org.hospital, year=2026, name="第二批")
    EnrollmentQuotaFactory(batch=second, base=org.internal, quota=5)
    client.force_login(office)
    token = _upload(client, batch, [_row(861)]).context["token"]
    response = client.post(_url("import_confirm", second), {"token": token})
    assert response.status_code == 302
    assert not User.objects.filter(real_name="学员861").exists()


def test_an_old_excel_file_or_something_else_is_refused_with_a_clear_message(client, office, batch):
    client.force_login(office)
    old = SimpleUploadedFile("名单.xls", b"\xd0\xcf\x11\xe0 old excel", content_type="application/vnd.ms-excel")
    response = client.post(_url("import_start", batch), {"file": old})
    assert response.status_code == 200 and "preview" not in response.context
    [error] = response.context["form"].errors["file"]
    assert ".xls" in error and ".xlsx" in error

    csv = SimpleUploadedFile("名单.csv", "姓名,性别\n张三,男\n".encode(), content_type="text/csv")
    response = client.post(_url("import_start", batch), {"file": csv})
    assert "请上传 Excel 工作簿（.xlsx）" in response.context["form"].errors["file"][0]

    fake = SimpleUploadedFile("名单.xlsx", b"not a zip at all", content_type=imports.XLSX_CONTENT_TYPE)
    response = client.post(_url("import_start", batch), {"file": fake})
    assert response.context["form"].errors["file"][0].startswith("该文件不是可读取的 Excel 工作簿（.xlsx）")

    response = _upload(client, batch, [["张三", "男"]], headers=["姓名", "性别"])
    assert "身份证号" in response.context["form"].errors["file"][0]
    response = _upload(client, batch, [])
    assert response.context["form"].errors["file"]


def test_dates_as_people_type_them(batch):
    parse = enrollment.parse_date_cell
    assert parse("2026-06-30") == parse("2026/6/30") == parse("2026.06.30") == datetime.date(2026, 6, 30)
    assert parse("2026年6月30日") == parse("20260630") == parse("2026-06-30T00:00:00") == datetime.date(2026, 6, 30)
    assert parse("2026-06") == parse("2026年6月") == parse("202606") == datetime.date(2026, 6, 1)
    assert parse("46203", numeric=True) == datetime.date(2026, 6, 30)
    assert parse("2026-02-30") is None and parse("明年") is None and parse("46203") is None
    assert enrollment.planned_end_date(datetime.date(2024, 2, 29), 3) == datetime.date(2027, 2, 28)


# --- approved self-registrations -------------------------------------------------------------


def _approved_registration(office, base, n: int) -> User:
    applicant = registration_submit(
        username=f"applicant{n}",
        password="Xinsheng#2025",
        real_name=f"申请人{n}",
        id_number=_id(n),
        phone=f"139{n:08d}",
        email="",
        base=base,
    )
    request = ApprovalRequest.objects.get(target_id=str(applicant.pk))
    approval_decide(request=request, decision=ActionKind.APPROVE, acting_user=office, expected_version=request.version)
    applicant.refresh_from_db()
    return applicant


def test_the_office_accepts_approved_registrations_into_the_batch(client, office, org, batch, audit_events):
    first = _approved_registration(office, org.internal, 871)
    second = _approved_registration(office, org.surgery, 872)
    registration_submit(
        username="pending873",
        password="Xinsheng#2025",
        real_name="未审核",
        id_number=_id(873),
        phone="13900000873",
        email="",
        base=org.internal,
    )
    client.force_login(office)
    page = client.get(_url("batch_accept", batch))
    html = page.content.decode()
    assert [p.user for p, _line in page.context["pending"]] == [first, second]
    assert "未审核" not in html  # not approved yet
    assert _id(871) not in html and first.id_number_masked in html

    response = client.post(_url("batch_accept", batch), {"users": [first.pk]})
    assert response.status_code == 302
    profile = ResidentProfile.objects.get(user=first)
    assert (profile.batch, profile.base, profile.cohort, profile.start_date) == (
        batch,
        org.internal,
        2026,
        datetime.date(2026, 9, 1),
    )
    assert (profile.gender, profile.birth_date, profile.planned_end_date) == (
        Gender.MALE,
        datetime.date(2000, 1, 1),
        datetime.date(2029, 8, 31),
    )
    first.refresh_from_db()
    assert first.username == "applicant871" and first.staff_number == "20260100001"
    assert profile.revisions.get().source == RevisionSource.ENROLLMENT
    assert [e["target"]["id"] for e in audit_events if e["action"] == "enrollment.accept"] == [str(profile.uuid)]

    page = client.get(_url("batch_accept", batch))
    assert [p.user for p, _line in page.context["pending"]] == [second]


def test_accepting_respects_the_quota_and_refuses_people_not_waiting(client, office, org, batch, supervisor):
    ResidentProfileFactory(batch=batch, base=org.surgery)  # 外科 is full
    waiting = _approved_registration(office, org.surgery, 881)
    client.force_login(office)
    response = client.post(_url("batch_accept", batch), {"users": [waiting.pk]})
    assert response.status_code == 200
    assert "外科" in response.context["form"].non_field_errors()[0]
    assert not ResidentProfile.objects.filter(user=waiting).exists()

    response = client.post(_url("batch_accept", batch), {"users": [supervisor.pk]})  # not a registration
    assert response.context["form"].errors["users"]
    response = client.post(_url("batch_accept", batch), {})
    assert response.context["form"].errors["users"]
    assert not ResidentProfile.objects.filter(user__in=[waiting, supervisor]).exists()


# --- export ----------------------------------------------------------------------------------


def test_the_batch_exports_its_residents_after_the_password_is_typed_again(client, office, org, batch, audit_events):
    client.force_login(office)
    response = _upload(client, batch, [_row(891), _row(892, base="外科")])
    client.post(_url("import_confirm", batch), {"token": response.context["token"]})
    elsewhere = ResidentProfileFactory(base=org.internal)  # not of this batch

    page = client.get(_url("batch_export", batch))
    assert page.status_code == 200 and page.context["row_count"] == 2
    response = client.post(_url("batch_export", batch), {"password": "wrong"})
    assert response.status_code == 200 and response.context["form"].errors
    response = client.post(_url("batch_export", batch), {"password": "Zhupei#2025"})
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    values = {str(c.value) for row in wb.active.iter_rows() for c in row if c.value is not None}
    assert {"学员891", "学员892"} <= values
    assert elsewhere.user.real_name not in values
    assert any("孙培训" in v for v in values)  # stamped with the exporter
    [event] = [e for e in audit_events if e["action"] == "residents.export" and e["outcome"] == "success"]
    assert event["target"]["id"] == str(batch.uuid) and event["extra"]["rows"] == "2"
