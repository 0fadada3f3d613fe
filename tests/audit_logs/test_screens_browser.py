"""The traffic dashboard in a real browser: ECharts draws from the json_script data and fits a phone."""

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core import mongo

from .screen_data import CST, stats

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install chromium fonts-noto-cjk to run browser tests"),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": ARGS}


def test_the_dashboard_draws_its_charts_on_a_phone_and_follows_the_window(
    browser, live_server, client, auditor, mongo_db, settings
):
    now = datetime.now(CST)
    mongo.collection("request_stats_hourly").insert_many(
        [
            stats((now - timedelta(hours=h)).strftime("%Y-%m-%dT%H"), page, role, count=10 + h, errors=h % 3)
            for h in range(24)
            for page, role in [("approvals:inbox", "resident"), ("core:home", "training_office")]
        ]
    )
    client.force_login(auditor)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(**PHONE)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server.url}/audit/traffic/")
        for chart in ("chart-requests", "chart-p95", "chart-pages", "chart-roles"):
            page.wait_for_selector(f"#{chart} canvas")
        width = page.evaluate("document.querySelector('#chart-requests canvas').getBoundingClientRect().width")
        assert 300 < width <= 390
        scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width, f"horizontal scroll on a phone: {scroll_width}px > {inner_width}px"
        page.wait_for_timeout(1500)  # let the animations finish before the screenshot
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "auditor-traffic-phone.png"), full_page=True)

        page.set_viewport_size({"width": 800, "height": 900})
        page.wait_for_function(
            "document.querySelector('#chart-requests canvas').getBoundingClientRect().width > 600", timeout=3000
        )
        assert errors == []
    finally:
        context.close()


def test_the_audit_log_fits_a_phone(browser, live_server, client, auditor, mongo_db, settings):
    from .screen_data import audit_event, cst, insert_events

    insert_events(
        *[
            audit_event(n, at=cst(2026, 1, 1, 8, n), changes={"status": ["submitted", "approved"]}, extra={"k": "v"})
            for n in range(1, 30)
        ]
    )
    client.force_login(auditor)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(**PHONE)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        for path, name in [("/audit/", "auditor-events-phone.png"), ("/audit/events/29/", "auditor-event-phone.png")]:
            page.goto(f"{live_server.url}{path}")
            scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll_width <= inner_width, f"{path}: horizontal scroll on a phone: {scroll_width} > {inner_width}"
            page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        assert "2026-01-01 08:29:00" in page.content()
    finally:
        context.close()
