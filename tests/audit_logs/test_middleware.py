"""The request log and the exception log, as requests really flow through the middleware."""

import pytest
from django.test import Client
from django.urls import path, reverse

from audit_logs import writer
from audit_logs.collections import EXCEPTION_LOG, REQUEST_LOG
from config.urls import urlpatterns as project_urlpatterns


def fail_here(request):
    raise ValueError("a bug in a view")


def fail_elsewhere(request):
    raise ValueError("another bug")


urlpatterns = [
    path("test-only/fail/", fail_here, name="fail_here"),
    path("test-only/fail-elsewhere/", fail_elsewhere, name="fail_elsewhere"),
    *project_urlpatterns,
]


def logged(mongo_db, collection: str, request_id: str) -> list[dict]:
    writer.flush()
    return list(mongo_db[collection].find({"request_id": request_id}))


def test_a_request_leaves_one_request_log_document(login, mongo_db, resident):
    client = login(resident)
    response = client.get(reverse("core:home") + "?tab=1", HTTP_X_REQUEST_ID="mw-home", HTTP_USER_AGENT="Mobile Safari")
    assert response.status_code == 200
    [doc] = logged(mongo_db, REQUEST_LOG, "mw-home")
    assert doc["url_name"] == "core:home"
    assert doc["path"] == "/" and doc["method"] == "GET" and doc["status"] == 200
    assert doc["user_id"] == resident.pk and doc["username"] == "resident" and doc["roles"] == ["resident"]
    assert doc["ip"] == "127.0.0.1" and doc["user_agent"] == "Mobile Safari"
    assert doc["duration_ms"] > 0 and doc["at"].tzinfo is not None
    assert len(doc["_id"]) == 32


def test_namespaced_url_names_statuses_and_anonymous_users_are_recorded(client, mongo_db, db):
    client.get(reverse("approvals:inbox"), HTTP_X_REQUEST_ID="mw-anon")
    client.get("/no/such/page/", HTTP_X_REQUEST_ID="mw-404")
    [redirect] = logged(mongo_db, REQUEST_LOG, "mw-anon")
    assert redirect["url_name"] == "approvals:inbox" and redirect["status"] == 302
    assert redirect["user_id"] is None and redirect["username"] is None and redirect["roles"] == []
    [missing] = logged(mongo_db, REQUEST_LOG, "mw-404")
    assert missing["url_name"] == "" and missing["status"] == 404


def test_static_files_and_health_checks_are_not_logged(client, mongo_db, db):
    client.get("/healthz", HTTP_X_REQUEST_ID="mw-health")
    client.get("/static/css/app.css", HTTP_X_REQUEST_ID="mw-static")
    assert logged(mongo_db, REQUEST_LOG, "mw-health") == []
    assert logged(mongo_db, REQUEST_LOG, "mw-static") == []


def test_nothing_is_logged_when_request_logging_is_off(client, mongo_db, settings, db):
    settings.REQUEST_LOG_ENABLED = False
    assert client.get(reverse("accounts:login"), HTTP_X_REQUEST_ID="mw-off").status_code == 200
    assert logged(mongo_db, REQUEST_LOG, "mw-off") == []


def test_the_client_address_behind_a_trusted_proxy_is_the_one_it_forwarded(client, mongo_db, settings, db):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    client.get(reverse("accounts:login"), HTTP_X_REQUEST_ID="mw-proxy", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.1.2.3")
    [doc] = logged(mongo_db, REQUEST_LOG, "mw-proxy")
    assert doc["ip"] == "10.1.2.3"


@pytest.mark.urls(__name__)
def test_an_unhandled_exception_is_logged_with_traceback_and_signature(mongo_db, resident):
    client = Client(raise_request_exception=False)
    client.force_login(resident)
    response = client.post("/test-only/fail/?secret=1", HTTP_X_REQUEST_ID="mw-boom")
    assert response.status_code == 500
    [doc] = logged(mongo_db, EXCEPTION_LOG, "mw-boom")
    assert doc["exc_type"] == "builtins.ValueError" and doc["message"] == "a bug in a view"
    assert doc["url_name"] == "fail_here" and doc["path"] == "/test-only/fail/" and doc["method"] == "POST"
    assert doc["username"] == "resident" and doc["user_id"] == resident.pk
    assert 'raise ValueError("a bug in a view")' in doc["traceback"]
    assert doc["location"].startswith("tests/audit_logs/test_middleware.py:") and doc["location"].endswith(
        " in fail_here"
    )
    assert len(doc["signature"]) == 40
    [request] = logged(mongo_db, REQUEST_LOG, "mw-boom")
    assert request["status"] == 500


@pytest.mark.urls(__name__)
def test_two_raises_from_the_same_place_share_a_signature_and_another_place_does_not(mongo_db, db):
    client = Client(raise_request_exception=False)
    client.get("/test-only/fail/", HTTP_X_REQUEST_ID="mw-a")
    client.get("/test-only/fail/", HTTP_X_REQUEST_ID="mw-b")
    client.get("/test-only/fail-elsewhere/", HTTP_X_REQUEST_ID="mw-c")
    [a], [b], [c] = (logged(mongo_db, EXCEPTION_LOG, rid) for rid in ("mw-a", "mw-b", "mw-c"))
    assert a["signature"] == b["signature"] != c["signature"]
    assert a["user_id"] is None
