"""core.exports on its own: the stamp, formula-safe cells, masking decided per exporter, password, audit."""

import io
import zipfile

import pytest
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import RequestFactory
from openpyxl import load_workbook

from core.exports import EXPORT_REAUTH_LIMIT, Column, Export, export_view, safe_cell_value, write_workbook
from core.masking import mask_id_number
from tests.conftest import PASSWORD
from tests.factories.accounts import UserFactory

# Messages are asserted in English (the catalogue translates them for zh-hans).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

ROWS = [
    {"name": "李住院", "id": "110105199803011234", "note": '=HYPERLINK("http://evil","x")', "n": 3},
    {"name": "王外科", "id": "", "note": "@SUM(A1:A2)", "n": None},
    {"name": "+8613800000000", "id": "110105199803015678", "note": "-2+3", "n": 0},
]


def make_export(**kwargs) -> Export:
    defaults = dict(
        domain="demo",
        title="测试名单",
        rows=ROWS,
        count=len(ROWS),
        columns=[
            Column("姓名", lambda r: r["name"], key="name"),
            Column("身份证号", lambda r: r["id"], key="id_number", masker=mask_id_number),
            Column("备注", lambda r: r["note"], key="note"),
            Column("数量", lambda r: r["n"], key="n"),
        ],
        filters={"基地": "内科", "届别": None},
    )
    return Export(**{**defaults, **kwargs})


def build(export: Export, user):
    buffer = io.BytesIO()
    written = write_workbook(export, user, buffer)
    buffer.seek(0)
    raw = buffer.getvalue()
    return written, load_workbook(io.BytesIO(raw)), raw


def all_text(raw: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())


@pytest.fixture
def exporter(db):
    return UserFactory(username="exporter", real_name="孙培训")


def test_the_first_row_stamps_the_exporter_and_the_workbook_names_them(exporter):
    written, wb, _ = build(make_export(), exporter)
    ws = wb.active
    assert written == 3
    stamp = ws["A1"].value
    assert "孙培训" in stamp and "(exporter)" in stamp and "测试名单" in stamp
    assert "基地: 内科" in ws["A2"].value and "届别" not in ws["A2"].value
    assert [c.value for c in ws[3]] == ["姓名", "身份证号", "备注", "数量"]
    assert wb.properties.creator == "孙培训(exporter)"
    assert wb.properties.title == "测试名单"


def test_nothing_a_spreadsheet_would_evaluate_is_written_as_a_formula(exporter):
    _, wb, raw = build(make_export(), exporter)
    ws = wb.active
    notes = [ws.cell(row=r, column=3) for r in (4, 5, 6)]
    assert [c.value for c in notes] == ['\'=HYPERLINK("http://evil","x")', "'@SUM(A1:A2)", "'-2+3"]
    assert all(c.data_type == "s" for c in notes)
    assert ws["A6"].value == "'+8613800000000"
    assert "<f>" not in all_text(raw)  # no formula element anywhere in the package


def test_numbers_stay_numbers_and_none_is_empty():
    assert safe_cell_value(3) == 3
    assert safe_cell_value(-3) == -3
    assert safe_cell_value(None) == ""
    assert safe_cell_value("内科") == "内科"
    assert safe_cell_value("=1+1") == "'=1+1"


def test_sensitive_columns_are_masked_unless_the_exporter_decides_otherwise(exporter):
    _, wb, raw = build(make_export(), exporter)
    ids = [wb.active.cell(row=r, column=2).value for r in (4, 5, 6)]
    assert ids == ["110***********1234", None, "110***********5678"]
    assert "110105199803011234" not in all_text(raw)
    assert "身份证号" in wb.active["A2"].value  # the sheet says which columns were masked

    _, wb, _ = build(make_export(unmask=lambda user, column: column.name == "id_number"), exporter)
    assert wb.active["B4"].value == "110105199803011234"


def test_a_queryset_is_read_in_chunks_not_loaded_at_once(exporter, django_assert_max_num_queries):
    from accounts.models import User

    for i in range(12):
        UserFactory(username=f"chunk{i}")
    export = make_export(
        rows=User.objects.order_by("pk"),
        count=None,
        columns=[Column("用户名", lambda u: u.username)],
        chunk_size=5,
    )
    assert export.row_count() == User.objects.count()
    written, wb, _ = build(export, exporter)
    assert written == User.objects.count()
    assert wb.active["A4"].value == User.objects.order_by("pk").first().username


def _request(method: str, user, data=None):
    factory = RequestFactory()
    request = factory.post("/x/?base=1", data or {}) if method == "post" else factory.get("/x/?base=1")
    SessionMiddleware(lambda r: None).process_request(request)
    MessageMiddleware(lambda r: None).process_request(request)
    request.session.save()
    request.user = user
    return request


def test_get_shows_what_will_be_exported_and_writes_no_file(exporter, audit_events):
    response = export_view(_request("get", exporter), make_export(), cancel_url="/back/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert "测试名单" in html and "内科" in html and 'data-testid="export-rows">3<' in html
    assert "身份证号" in html and "/back/" in html
    assert 'name="password"' in html and 'action="/x/?base=1"' in html
    assert not [e for e in audit_events if e["action"] == "demo.export"]


def test_the_right_password_downloads_the_file_and_audits_it(exporter, audit_events):
    response = export_view(_request("post", exporter, {"password": PASSWORD}), make_export())
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert "孙培训" in wb.active["A1"].value
    [event] = [e for e in audit_events if e["action"] == "demo.export"]
    assert event["outcome"] == "success"
    assert event["user"]["username"] == "exporter"
    assert event["extra"]["rows"] == "3"
    assert event["extra"]["masked"] == "True"
    assert "id_number" in event["extra"]["columns"] and "内科" in event["extra"]["filters"]


def test_a_wrong_password_gives_no_file_a_message_and_a_failed_audit_event(exporter, audit_events):
    response = export_view(_request("post", exporter, {"password": "wrong"}), make_export())
    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert "is-invalid" in response.content.decode()
    [event] = [e for e in audit_events if e["action"] == "demo.export"]
    assert event["outcome"] == "failure" and event["extra"]["reason"] == "wrong_password"


def test_repeated_wrong_passwords_end_the_session(exporter, audit_events):
    request = _request("post", exporter, {"password": "wrong"})
    for _ in range(EXPORT_REAUTH_LIMIT - 1):
        assert export_view(request, make_export()).status_code == 200
    response = export_view(request, make_export())
    assert response.status_code == 302
    assert not request.user.is_authenticated
    assert any(e["action"] == "auth.reauth_locked" for e in audit_events)


def test_a_generator_of_rows_is_counted_without_being_used_up(exporter):
    export = make_export(rows=(row for row in ROWS), count=None)
    assert export.row_count() == 3
    written, wb, _ = build(export, exporter)
    assert written == 3 and wb.active["A4"].value == "李住院"
