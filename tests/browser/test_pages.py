"""What a resident sees on a phone, and an office clerk approving a registration."""

import pytest

from accounts.choices import UserStatus
from accounts.models import User
from accounts.services import registration_submit
from approvals.models import ApprovalRequest
from tests.factories.accounts import make_id_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A resident's phone in China: the browser asks for Chinese, as the hospital's phones do.
CHINA = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
PHONE = {
    **CHINA,
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {**CHINA, "viewport": {"width": 1280, "height": 900}}


def test_a_resident_signs_in_on_a_phone_and_sees_the_chinese_home_page(
    browser, live_server, sign_in, resident, artifacts
):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in(page, "resident")
        assert page.url.rstrip("/") == live_server.url

        assert page.locator("html").get_attribute("lang") == "zh-hans"
        assert "李住院" in page.locator("h1").first.inner_text()
        # the stylesheet arrived (served by WhiteNoise from the finders), so Bootstrap laid the page out
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
        scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width, f"horizontal scroll on a phone: {scroll_width}px > {inner_width}px"
        page.screenshot(path=str(artifacts / "resident-home-phone.png"), full_page=True)
    finally:
        context.close()


def test_the_office_approves_a_pending_registration_from_the_inbox(
    browser, live_server, sign_in, org, office, artifacts
):
    applicant = registration_submit(
        username="linxs",
        password="Xinsheng#2025",
        real_name="林新生",
        id_number=make_id_number(601),
        phone="13912345601",
        email="lin@example.cn",
        base=org.internal,
    )
    request = ApprovalRequest.objects.get(target_id=str(applicant.pk))
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    try:
        sign_in(page, "office")
        page.goto(f"{live_server.url}/approvals/")
        with page.expect_navigation():
            page.click(f"a[href$='/approvals/{request.uuid}/']")
        page.screenshot(path=str(artifacts / "office-registration-pending.png"), full_page=True)

        with page.expect_navigation():
            page.click("button[name=decision][value=approve]")

        applicant.refresh_from_db()
        assert applicant.status == UserStatus.ACTIVE
        assert User.objects.get(username="linxs").is_active
        badge = page.locator("[data-testid=status]").first
        assert "text-bg-success" in badge.get_attribute("class")
        assert badge.inner_text().strip() == ApprovalRequest.objects.get(pk=request.pk).get_status_display()
        page.screenshot(path=str(artifacts / "office-registration-approved.png"), full_page=True)
    finally:
        context.close()
