"""The auditor's audit search: who may open it, what the filters find, the detail page and the exports."""

import csv
import io
import json
from datetime import timedelta

import openpyxl
import pytest
from django.urls import reverse

from audit_logs import exports
from core import mongo
from core.embedded_mongo import free_port
from tests.permissions import LOGIN, assert_access

from .screen_data import audit_event, cst, exception, insert_events, patch_verify_chain, signature

pytestmark = pytest.mark.django_db

EVENTS = reverse("audit_logs:events")
CSV = reverse("audit_logs:export_csv")
XLSX = reverse("audit_logs:export_xlsx")


@pytest.fixture(autouse=True)
def _quiet_pipeline(settings, audit_events, mongo_db):
    """Each test starts from an empty MongoDB; audit events go to memory, not into the trail under test."""
    settings.REQUEST_LOG_ENABLED = False
    yield


@pytest.fixture
def fake_verify(monkeypatch):
    """Stands in for audit_logs.chain.verify_chain: records a verification as the pipeline does."""
    calls = []

    def verify_chain(*, trigger: str):
        calls.append(trigger)
        doc = {
            "_id": "v-fake",
            "at": cst(2026, 1, 2, 2, 0),
            "ok": True,
            "checked": 0,
            "last_seq": 0,
            "problem": None,
            "trigger": trigger,
        }
        mongo.collection("chain_verifications").insert_one(doc)
        return doc

    patch_verify_chain(monkeypatch, verify_chain)
    return calls


def _sample_events():
    insert_events(
        audit_event(1, at=cst(2026, 1, 1, 9, 0), action="leave.submit", username="resident", roles=("resident",)),
        audit_event(2, at=cst(2026, 1, 1, 23, 30), action="approval.approve", username="secretary"),
        audit_event(3, at=cst(2026, 1, 2, 0, 30), action="approval.reject", username="Secretary2", outcome="denied"),
        audit_event(4, at=cst(2026, 1, 3, 10, 0), action="approvals.other", username="office"),
        audit_event(5, at=cst(2026, 1, 3, 11, 0), action="auth.login", username=None, outcome="failure"),
    )


def _seqs(response) -> list[int]:
    return [e["seq"] for e in response.context["events"]]


# --- who may open what ----------------------------------------------------------------------------------


def _everyone_but_auditors(personas, ok):
    return {name: LOGIN if name == "anonymous" else (ok if name == "auditor" else 403) for name in personas}


def test_only_auditors_open_the_audit_screens_not_even_system_admins(client, personas, fake_verify):
    insert_events(audit_event(1, at=cst(2026, 1, 1, 9, 0)))
    sig = signature("x")
    mongo.collection("exception_log").insert_one(exception(sig, at=cst(2026, 1, 1, 9, 0)))
    urls = [
        EVENTS,
        reverse("audit_logs:event_detail", args=[1]),
        CSV,
        XLSX,
        reverse("audit_logs:exceptions"),
        reverse("audit_logs:exception_detail", args=[sig]),
        reverse("audit_logs:traffic"),
        reverse("audit_logs:chain"),
    ]
    for url in urls:
        assert_access(client, personas, _everyone_but_auditors(personas, 200), url)
    verify = reverse("audit_logs:chain_verify")
    assert_access(client, personas, _everyone_but_auditors(personas, 302), verify, method="post")
    assert fake_verify == ["screen"]


def test_verify_now_answers_only_to_post(login, auditor, fake_verify):
    assert login(auditor).get(reverse("audit_logs:chain_verify")).status_code == 405
    assert fake_verify == []


def test_a_refused_visit_is_audited(login, sysadmin, audit_events):
    assert login(sysadmin).get(EVENTS).status_code == 403
    denied = [e for e in audit_events if e["action"] == "access.denied"]
    assert len(denied) == 1
    assert denied[0]["extra"]["view"] == "audit_logs:events"
    assert denied[0]["user"]["username"] == "sysadmin"


def test_auditors_find_the_four_screens_in_the_menu_and_nobody_else_does(login, auditor, sysadmin, office):
    labels = ("审计日志", "异常", "访问统计", "审计链")
    html = login(auditor).get(reverse("core:home")).content.decode()
    for label in labels:
        assert label in html, label
    for other in (sysadmin, office):
        html = login(other).get(reverse("core:home")).content.decode()
        assert reverse("audit_logs:events") not in html
        assert "审计链" not in html


# --- the search ----------------------------------------------------------------------------------------


def test_the_list_shows_every_event_newest_first_in_china_time(login, auditor):
    _sample_events()
    response = login(auditor).get(EVENTS)
    assert response.status_code == 200
    assert _seqs(response) == [5, 4, 3, 2, 1]
    html = response.content.decode()
    # stored 2026-01-01 15:30 UTC, shown as Beijing time
    assert "2026-01-01 23:30:00" in html
    assert "2026-01-01 15:30" not in html
    assert "请假申请 2" in html
    assert "secretary" in html and "培训管理部门" in html  # username and role label
    assert "10.1.2.3" in html


def test_events_are_in_sequence_order_the_order_of_the_chain(login, auditor):
    same = cst(2026, 1, 1, 8, 0)
    insert_events(*[audit_event(n, at=same) for n in (9, 10, 100, 99)])
    insert_events(audit_event(101, at=same - timedelta(seconds=1)))  # sealed later, stamped earlier
    assert _seqs(login(auditor).get(EVENTS)) == [101, 100, 99, 10, 9]


def test_the_user_filter_is_a_case_insensitive_contains(login, auditor):
    _sample_events()
    assert _seqs(login(auditor).get(EVENTS, {"user": "SECRET"})) == [3, 2]


def test_the_action_filter_takes_a_prefix_or_one_action(login, auditor):
    _sample_events()
    client = login(auditor)
    assert _seqs(client.get(EVENTS, {"action": "approval."})) == [3, 2]
    assert _seqs(client.get(EVENTS, {"action": "approval"})) == [3, 2]  # not "approvals.other"
    assert _seqs(client.get(EVENTS, {"action": "approval.approve"})) == [2]


def test_the_outcome_and_target_filters(login, auditor):
    _sample_events()
    client = login(auditor)
    assert _seqs(client.get(EVENTS, {"outcome": "denied"})) == [3]
    assert _seqs(client.get(EVENTS, {"target_id": "req-4"})) == [4]
    assert _seqs(client.get(EVENTS, {"target_type": "approvalrequest", "outcome": "failure"})) == [5]


def test_the_date_range_is_in_china_time(login, auditor):
    """23:30 on 1 January in Beijing is 15:30 UTC the same day; 00:30 on 2 January is 16:30 UTC on the 1st."""
    _sample_events()
    client = login(auditor)
    assert _seqs(client.get(EVENTS, {"date_from": "2026-01-01", "date_to": "2026-01-01"})) == [2, 1]
    assert _seqs(client.get(EVENTS, {"date_from": "2026-01-02", "date_to": "2026-01-02"})) == [3]
    assert _seqs(client.get(EVENTS, {"date_from": "2026-01-02"})) == [5, 4, 3]
    assert _seqs(client.get(EVENTS, {"date_to": "2026-01-01"})) == [2, 1]


def test_a_reversed_date_range_is_explained_not_searched(login, auditor):
    _sample_events()
    response = login(auditor).get(EVENTS, {"date_from": "2026-01-03", "date_to": "2026-01-01"})
    assert response.status_code == 200
    assert _seqs(response) == []
    assert "开始日期晚于结束日期" in response.content.decode()


def test_the_list_pages_by_fifty(login, auditor):
    insert_events(*[audit_event(n, at=cst(2026, 1, 1, 8, 0) + timedelta(seconds=n)) for n in range(1, 121)])
    client = login(auditor)
    first = client.get(EVENTS)
    assert _seqs(first) == list(range(120, 70, -1))
    assert "第 1 页，共 3 页" in first.content.decode()
    last = client.get(EVENTS, {"page": 3})
    assert _seqs(last) == list(range(20, 0, -1))
    filtered = client.get(EVENTS, {"page": 2, "user": "office"})
    assert _seqs(filtered) == list(range(70, 20, -1))
    assert "user=office" in filtered.content.decode()  # the page links keep the filter


def test_the_detail_shows_changes_hashes_and_request(login, auditor):
    insert_events(
        audit_event(
            7,
            at=cst(2026, 1, 1, 23, 30),
            changes={"status": ["submitted", "approved"], "comment": [None, "<b>同意</b>"]},
            extra={"step": "科室审核"},
        )
    )
    response = login(auditor).get(reverse("audit_logs:event_detail", args=[7]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "2026-01-01 23:30:00" in html
    assert "submitted" in html and "approved" in html
    assert "&lt;b&gt;同意&lt;/b&gt;" in html  # escaped, never rendered
    assert "科室审核" in html
    assert "req-id-7" in html
    assert "Mozilla/5.0 (iPhone)" in html
    assert f"{6:064x}" in html and f"{7:064x}" in html


def test_an_unknown_event_is_404(login, auditor):
    assert login(auditor).get(reverse("audit_logs:event_detail", args=[99])).status_code == 404


# --- exports -------------------------------------------------------------------------------------------


def _csv_rows(response) -> tuple[bytes, list[list[str]]]:
    body = b"".join(response.streaming_content)
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_export_has_a_bom_and_only_the_filtered_rows_and_is_audited(login, auditor, audit_events):
    _sample_events()
    response = login(auditor).get(CSV, {"action": "approval.", "date_from": "2026-01-01"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    body, rows = _csv_rows(response)
    assert body.startswith(b"\xef\xbb\xbf")
    assert rows[0][:3] == ["序号", "时间（UTC+8）", "用户名"]
    assert [r[0] for r in rows[1:]] == ["3", "2"]
    assert rows[2][1] == "2026-01-01 23:30:00"
    assert rows[2][8] == "请假申请 2"
    exported = [e for e in audit_events if e["action"] == "audit.export"]
    assert len(exported) == 1
    extra = exported[0]["extra"]
    assert extra["format"] == "csv"
    assert extra["rows"] == "2"
    assert extra["truncated"] == "False"
    assert json.loads(extra["filters"]) == {"action": "approval.", "date_from": "2026-01-01"}
    assert exported[0]["user"]["username"] == "auditor"


def test_a_truncated_export_says_so(login, auditor, monkeypatch, audit_events):
    monkeypatch.setattr(exports, "EXPORT_MAX_ROWS", 3)
    insert_events(*[audit_event(n, at=cst(2026, 1, 1, 8, n)) for n in range(1, 6)])
    client = login(auditor)
    assert "最多导出 3 条" in client.get(EVENTS).content.decode()
    response = client.get(CSV)
    assert response["X-Export-Truncated"] == "1"
    _, rows = _csv_rows(response)
    assert [r[0] for r in rows[1:4]] == ["5", "4", "3"]
    assert "导出已截断" in rows[4][0] and "5" in rows[4][0]
    assert audit_events[-1]["extra"]["truncated"] == "True"
    assert audit_events[-1]["extra"]["rows"] == "3"


def test_the_excel_export_opens_and_keeps_formulas_as_text(login, auditor, audit_events):
    insert_events(
        audit_event(1, at=cst(2026, 1, 1, 8, 0), username="resident"),
        audit_event(2, at=cst(2026, 1, 1, 9, 0), target={"type": "t", "id": "1", "repr": '=HYPERLINK("x")'}),
    )
    response = login(auditor).get(XLSX)
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "序号"
    assert [r[0] for r in rows[1:]] == [2, 1]
    assert rows[1][1] == "2026-01-01 09:00:00"
    assert rows[1][8] == '=HYPERLINK("x")'
    assert ws.cell(row=2, column=9).data_type == "s"
    assert [e["extra"]["format"] for e in audit_events if e["action"] == "audit.export"] == ["xlsx"]


def test_an_invalid_filter_is_not_exported(login, auditor, audit_events):
    response = login(auditor).get(CSV, {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert response.status_code == 302
    assert response["Location"].startswith(EVENTS)
    assert not [e for e in audit_events if e["action"] == "audit.export"]


# --- MongoDB down --------------------------------------------------------------------------------------


def test_every_screen_explains_an_unavailable_log_database_with_a_503(login, auditor, settings, fake_verify):
    """503 (not 200): monitoring sees the outage; people see the explanation, never a 500."""
    settings.MONGODB_URI = ""
    mongo.reset()
    client = login(auditor)
    urls = [
        EVENTS,
        reverse("audit_logs:event_detail", args=[1]),
        CSV,
        XLSX,
        reverse("audit_logs:exceptions"),
        reverse("audit_logs:exception_detail", args=[signature("x")]),
        reverse("audit_logs:traffic"),
        reverse("audit_logs:chain"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 503, url
        assert "日志数据库（MongoDB）暂时不可用" in response.content.decode(), url
    assert client.post(reverse("audit_logs:chain_verify")).status_code == 503
    home = client.get(reverse("core:home"))
    assert home.status_code == 200
    assert "日志数据库（MongoDB）暂时不可用" in home.content.decode()
    mongo.reset()


def test_an_unreachable_server_is_a_503_too(login, auditor, settings):
    settings.MONGODB_URI = f"mongodb://127.0.0.1:{free_port()}/zhupei"
    settings.MONGODB_TIMEOUT_MS = 200
    mongo.reset()
    response = login(auditor).get(EVENTS)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    mongo.reset()


def test_the_english_page_says_so_in_english(login, auditor, settings):
    settings.MONGODB_URI = ""
    mongo.reset()
    client = login(auditor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "The log database (MongoDB) is unavailable right now." in client.get(EVENTS).content.decode()
    mongo.reset()


# --- with the real pipeline ----------------------------------------------------------------------------


def test_events_sealed_by_the_pipeline_are_searched_exported_and_verified(login, auditor, office, settings, tmp_path):
    from audit_logs import writer
    from core.audit import audit_record

    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    audit_record(action="account.update", acting_user=office, target=auditor, changes={"phone": ["1", "13900001111"]})
    audit_record(action="approval.approve", acting_user=office, outcome="denied")
    writer.flush()

    client = login(auditor)
    writer.flush()  # the sign-in event
    page = client.get(EVENTS, {"user": "office"})
    events = page.context["events"]
    assert [e["action"] for e in events] == ["approval.approve", "account.update"]
    assert events[1]["target_repr"] == str(auditor)
    detail = client.get(reverse("audit_logs:event_detail", args=[events[1]["seq"]])).content.decode()
    assert "139****1111" in detail  # masked by audit_record, shown as stored
    stored = mongo.collection("audit_events").find_one({"seq": events[1]["seq"]})
    assert stored["hash"] in detail

    response = client.get(CSV, {"user": "office"})
    _, rows = _csv_rows(response)
    assert len(rows) == 3
    writer.flush()
    assert mongo.collection("audit_events").find_one({"action": "audit.export"})["extra"]["rows"] == "2"

    verified = client.post(reverse("audit_logs:chain_verify"), follow=True).content.decode()
    assert "审计链完好" in verified


def test_an_export_cut_off_by_an_outage_says_the_file_is_incomplete(monkeypatch):
    def failing(query, *, limit):
        yield {**_sample_row(), "seq": 1}
        raise mongo.MongoUnavailable("gone")

    monkeypatch.setattr("audit_logs.selectors.iter_audit_events", failing)
    body = b"".join(exports.csv_stream({}, total=5)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[1][0] == "1"
    assert "导出中断" in rows[2][0]


def _sample_row() -> dict:
    from audit_logs.selectors import audit_event as shape

    return shape(audit_event(1, at=cst(2026, 1, 1, 8, 0)))


def test_with_a_real_worker_verify_now_is_queued_instead_of_run_in_the_request(client, auditor, settings, monkeypatch):
    from audit_logs import tasks

    queued = []
    monkeypatch.setattr(tasks.verify_chain, "delay", lambda: queued.append(True))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client.force_login(auditor)
    response = client.post(reverse("audit_logs:chain_verify"), follow=True)
    assert queued == [True]
    assert any("后台" in str(m) or "background" in str(m) for m in response.context["messages"])
