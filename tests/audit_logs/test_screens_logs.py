"""The auditor's other screens: grouped exceptions, the traffic dashboard, the chain status and the home panel."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from core import mongo

from .screen_data import CST, cst, exception, patch_verify_chain, signature, stats

pytestmark = pytest.mark.django_db

EXCEPTIONS = reverse("audit_logs:exceptions")
TRAFFIC = reverse("audit_logs:traffic")
CHAIN = reverse("audit_logs:chain")
VERIFY = reverse("audit_logs:chain_verify")


@pytest.fixture(autouse=True)
def _quiet_pipeline(settings, audit_events, mongo_db):
    settings.REQUEST_LOG_ENABLED = False
    yield


def _log(*docs):
    mongo.collection("exception_log").insert_many(list(docs))


# --- exceptions ----------------------------------------------------------------------------------------


def _sample_exceptions():
    a, b = signature("a"), signature("b")
    _log(
        exception(a, at=cst(2026, 1, 1, 9, 0), message="old message"),
        exception(a, at=cst(2026, 1, 1, 23, 30), message="a 2"),
        exception(a, at=cst(2026, 1, 2, 0, 30), message="newest message of a"),
        exception(b, at=cst(2026, 1, 3, 8, 0), exc_type="django.db.utils.IntegrityError", location="x.py:1 in f"),
        exception(b, at=cst(2026, 1, 3, 9, 0), exc_type="django.db.utils.IntegrityError", location="x.py:1 in f"),
    )
    return a, b


def test_exceptions_are_grouped_by_signature_most_recent_first(login, auditor):
    a, b = _sample_exceptions()
    response = login(auditor).get(EXCEPTIONS)
    assert response.status_code == 200
    groups = response.context["groups"]
    assert [(g["signature"], g["count"]) for g in groups] == [(b, 2), (a, 3)]
    assert groups[0]["exc_type"] == "django.db.utils.IntegrityError"
    assert groups[1]["message"] == "newest message of a"
    assert groups[1]["first_seen"] == datetime(2026, 1, 1, 9, 0, tzinfo=CST)
    assert groups[1]["last_seen"] == datetime(2026, 1, 2, 0, 30, tzinfo=CST)
    html = response.content.decode()
    assert "2026-01-02 00:30" in html  # Beijing time
    assert "approvals/views.py:42 in post" in html


def test_the_exception_filters(login, auditor):
    a, b = _sample_exceptions()
    client = login(auditor)
    only_integrity = client.get(EXCEPTIONS, {"exc_type": "integrity"}).context["groups"]
    assert [g["signature"] for g in only_integrity] == [b]
    on_new_year = client.get(EXCEPTIONS, {"date_from": "2026-01-01", "date_to": "2026-01-01"}).context["groups"]
    assert [(g["signature"], g["count"], g["message"]) for g in on_new_year] == [(a, 2, "a 2")]


def test_the_exception_list_pages(login, auditor):
    _log(*[exception(signature(str(n)), at=cst(2026, 1, 1, 0, 0) + timedelta(minutes=n)) for n in range(30)])
    client = login(auditor)
    first = client.get(EXCEPTIONS).context
    assert first["total"] == 30
    assert first["groups"][0]["signature"] == signature("29")
    second = client.get(EXCEPTIONS, {"page": 2}).context["groups"]
    assert [g["signature"] for g in second] == [signature(str(n)) for n in range(4, -1, -1)]


def test_an_exception_detail_counts_per_china_day_and_escapes_the_traceback(login, auditor):
    a, _ = _sample_exceptions()
    _log(exception(a, at=cst(2026, 1, 2, 1, 0), traceback='File "x.py"\n<script>alert(1)</script>'))
    response = login(auditor).get(reverse("audit_logs:exception_detail", args=[a]))
    assert response.status_code == 200
    detail = response.context["exception"]
    assert detail["count"] == 4
    assert detail["per_day_source"] == "computed"
    assert detail["per_day"] == [{"day": "2026-01-02", "count": 2}, {"day": "2026-01-01", "count": 2}]
    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert re.search(r"<pre[^>]*>File &quot;x.py&quot;", html)
    assert len(detail["occurrences"]) == 4


def test_an_exception_detail_prefers_the_daily_statistics(login, auditor):
    a, _ = _sample_exceptions()
    mongo.collection("exception_stats_daily").insert_many(
        [
            {
                "_id": f"{day}|{a}",
                "day": day,
                "signature": a,
                "exc_type": "builtins.ValueError",
                "location": "",
                "count": n,
                "updated_at": datetime.now(UTC),
            }
            for day, n in [("2025-12-31", 5), ("2026-01-01", 7)]
        ]
    )
    detail = login(auditor).get(reverse("audit_logs:exception_detail", args=[a])).context["exception"]
    assert detail["per_day_source"] == "stats"
    assert detail["per_day"] == [{"day": "2026-01-01", "count": 7}, {"day": "2025-12-31", "count": 5}]


def test_an_unknown_signature_is_404(login, auditor):
    assert login(auditor).get(reverse("audit_logs:exception_detail", args=[signature("none")])).status_code == 404


# --- traffic -------------------------------------------------------------------------------------------


def _hour(hours_ago: int) -> str:
    return (datetime.now(CST) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H")


def _chart_data(html: str) -> dict:
    match = re.search(r'<script id="traffic-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the chart data is embedded with json_script"
    return json.loads(match.group(1))


def test_the_dashboard_without_statistics_explains_the_aggregation(login, auditor):
    response = login(auditor).get(TRAFFIC)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="traffic-empty"' in html
    assert "10 分钟" in html
    assert "echarts.min.js" not in html
    assert "traffic-data" not in html


def test_the_dashboard_charts_the_last_24_hours(login, auditor):
    mongo.collection("request_stats_hourly").insert_many(
        [
            stats(_hour(0), "approvals:inbox", "resident", count=30, errors=1, p95_ms=120),
            stats(_hour(0), "approvals:inbox", "training_office", count=10, p95_ms=200),
            stats(_hour(1), "accounts:import_start", "training_office", count=5, client_errors=2, p95_ms=900),
            stats(_hour(2), "core:home", "anonymous", count=8, p95_ms=50),
            stats(_hour(30), "core:home", "resident", count=1000, p95_ms=5000),  # outside 24 h
        ]
    )
    response = login(auditor).get(TRAFFIC)
    assert response.status_code == 200
    html = response.content.decode()
    assert "vendor/echarts/echarts.min.js" in html
    assert "js/audit_charts.js" in html
    data = _chart_data(html)
    series = data["series"]
    assert len(series["hours"]) == 24
    assert series["requests"][-3:] == [8, 5, 40]
    assert series["errors"][-1] == 1
    assert series["client_errors"][-2] == 2
    assert series["p95"][-1] == 140.0  # (120*30 + 200*10) / 40
    assert series["p95"][0] is None
    assert [p["name"] for p in data["pages"]] == ["accounts:import_start", "approvals:inbox", "core:home"]
    assert data["roles"][0] == {"name": "住院医师", "count": 30}
    assert {"name": "匿名用户", "count": 8} in data["roles"]
    assert response.context["traffic"]["totals"] == {"requests": 53, "errors": 1, "client_errors": 2}
    assert "<script>" not in json.dumps(data)


def test_the_seven_day_view_ranks_from_the_daily_statistics(login, auditor):
    mongo.collection("request_stats_hourly").insert_one(stats(_hour(30), "core:home", "resident", count=3))
    today = datetime.now(CST).date()
    mongo.collection("request_stats_daily").insert_many(
        [
            stats(today.isoformat(), "core:home", "resident", count=400, p95_ms=80),
            stats((today - timedelta(days=2)).isoformat(), "notices:list", "supervisor", count=100, p95_ms=300),
            stats((today - timedelta(days=20)).isoformat(), "old:page", "resident", count=9999, p95_ms=9999),
        ]
    )
    response = login(auditor).get(TRAFFIC, {"range": "7d"})
    data = _chart_data(response.content.decode())
    assert len(data["series"]["hours"]) == 7 * 24
    assert sum(data["series"]["requests"]) == 3
    assert [p["name"] for p in data["pages"]] == ["notices:list", "core:home"]
    assert [r["count"] for r in data["roles"]] == [400, 100]


def test_an_unknown_range_falls_back_to_24_hours(login, auditor):
    assert login(auditor).get(TRAFFIC, {"range": "forever"}).context["range"] == "24h"


# --- the chain -----------------------------------------------------------------------------------------


def test_the_chain_status_lists_verifications_and_anchors_newest_first(login, auditor):
    mongo.collection("chain_verifications").insert_many(
        [
            {
                "_id": "v1",
                "at": cst(2026, 1, 1, 2, 0),
                "ok": True,
                "checked": 10,
                "last_seq": 10,
                "problem": None,
                "trigger": "schedule",
            },
            {
                "_id": "v2",
                "at": cst(2026, 1, 2, 2, 0),
                "ok": False,
                "checked": 12,
                "last_seq": 12,
                "problem": {"kind": "hash_mismatch", "seq": 11, "detail": "stored hash differs"},
                "trigger": "schedule",
            },
        ]
    )
    mongo.collection("audit_anchors").insert_many(
        [
            {
                "_id": "2025-12-31",
                "at": cst(2026, 1, 1, 0, 10),
                "last_seq": 10,
                "last_hash": "a" * 64,
                "count": 10,
                "hmac": "h",
            },
            {
                "_id": "2026-01-01",
                "at": cst(2026, 1, 2, 0, 10),
                "last_seq": 12,
                "last_hash": "b" * 64,
                "count": 2,
                "hmac": "h",
            },
        ]
    )
    response = login(auditor).get(CHAIN)
    assert response.status_code == 200
    assert [v["id"] for v in response.context["verifications"]] == ["v2", "v1"]
    assert [a["day"] for a in response.context["anchors"]] == ["2026-01-01", "2025-12-31"]
    html = response.content.decode()
    assert "hash_mismatch" in html and "stored hash differs" in html and "#11" in html
    assert "b" * 16 + "…" in html
    assert "2026-01-02 02:00:00" in html


def test_the_chain_status_without_any_run(login, auditor):
    html = login(auditor).get(CHAIN).content.decode()
    assert "尚未校验" in html


def _fake_chain(monkeypatch, result):
    calls = []

    def verify_chain(*, trigger):
        calls.append(trigger)
        return result

    patch_verify_chain(monkeypatch, verify_chain)
    return calls


def test_verify_now_reports_a_broken_chain(login, auditor, monkeypatch):
    result = {"ok": False, "checked": 5, "problem": {"kind": "gap", "seq": 4, "detail": "event 4 is missing"}}
    calls = _fake_chain(monkeypatch, result)
    response = login(auditor).post(VERIFY, follow=True)
    assert calls == ["screen"]
    assert response.redirect_chain == [(CHAIN, 302)]
    assert "event 4 is missing" in response.content.decode()


def test_verify_now_reports_an_intact_chain(login, auditor, monkeypatch):
    _fake_chain(monkeypatch, {"ok": True, "checked": 42})
    html = login(auditor).post(VERIFY, follow=True).content.decode()
    assert "42" in html


@pytest.mark.skipif(not (Path(__file__).parents[2] / "audit_logs" / "chain.py").exists(), reason="chain.py not yet")
def test_verify_now_runs_the_real_verification_and_audits_who_asked(login, auditor, audit_events):
    client = login(auditor)
    response = client.post(VERIFY)
    assert response.status_code == 302
    verifications = client.get(CHAIN).context["verifications"]
    assert len(verifications) == 1
    assert verifications[0]["trigger"] == "screen"
    asked = [e for e in audit_events if e["action"] == "audit.chain_verify"]
    assert len(asked) == 1 and asked[0]["user"]["username"] == "auditor"


# --- the home panel ------------------------------------------------------------------------------------


def test_the_auditor_home_shows_the_chain_and_todays_exceptions(login, auditor, sysadmin):
    now = datetime.now(UTC)
    _log(exception(signature("t"), at=now), exception(signature("t"), at=now - timedelta(days=3)))
    mongo.collection("chain_verifications").insert_one(
        {"_id": "v", "at": now, "ok": True, "checked": 1, "last_seq": 1, "problem": None, "trigger": "schedule"}
    )
    html = login(auditor).get(reverse("core:home")).content.decode()
    assert 'data-testid="auditor-panel"' in html
    assert re.search(r'data-testid="exceptions-today">1<', html)
    assert "完好" in html
    assert 'data-testid="auditor-panel"' not in login(sysadmin).get(reverse("core:home")).content.decode()


def test_stored_times_in_any_form_nx_27017_returns_are_read_as_china_time():
    from audit_logs.selectors import as_local

    expected = datetime(2026, 1, 1, 23, 30, tzinfo=CST)
    assert as_local(datetime(2026, 1, 1, 15, 30, tzinfo=UTC)) == expected
    assert as_local(datetime(2026, 1, 1, 15, 30)) == expected  # naive means UTC
    assert as_local('{"$date":"2026-01-01T15:30:00"}') == expected
    assert as_local('{"$date":{"$numberLong":"1767281400000"}}') == expected
    assert as_local("2026-01-01T15:30:00Z") == expected
    assert as_local("not a time") is None
    assert as_local(None) is None


def test_the_traffic_figures_come_from_exactly_the_hours_and_days_of_the_range(mongo_db):
    """Read by hour_key / day_key ranges, the figures are those the `day` + bucket lookup gave."""
    from audit_logs.selectors import traffic

    now = cst(2026, 3, 2, 10, 20)  # the range ends with the 10:00 hour, 2 March CST
    hourly = {
        "2026-03-01T11": 1,  # the first hour of the last 24
        "2026-03-01T10": 1000,  # one hour too early
        "2026-03-01T23": 7,
        "2026-03-02T00": 20,  # a new day (16:00 UTC): the keys are the same hours as the buckets
        "2026-03-02T10": 300,  # the last hour
        "2026-03-02T11": 5000,  # not yet
        "2026-02-23T11": 40000,  # the first hour of the last 7 days
        "2026-02-23T10": 500000,  # one hour before them
    }
    mongo_db["request_stats_hourly"].insert_many(
        [stats(bucket, "core:home", "resident", count=n, errors=n // 100) for bucket, n in hourly.items()]
    )
    daily = {"2026-02-22": 1, "2026-02-23": 20, "2026-03-02": 300, "2026-03-03": 4000}
    mongo_db["request_stats_daily"].insert_many(
        [stats(day, "core:home", "supervisor", count=n) for day, n in daily.items()]
    )

    day = traffic("24h", now=now)
    assert day["totals"] == {"requests": 1 + 7 + 20 + 300, "errors": 3, "client_errors": 0}
    assert day["series"]["requests"][0] == 1 and day["series"]["requests"][-1] == 300
    assert day["roles"] == [{"role": "resident", "label": "住院医师", "count": 328}]

    week = traffic("7d", now=now)
    assert week["totals"]["requests"] == 40000 + 1000 + 1 + 7 + 20 + 300
    assert week["series"]["requests"][0] == 40000
    assert [r["count"] for r in week["roles"]] == [20 + 300]  # ranked from the daily statistics of those days
