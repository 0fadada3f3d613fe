"""On a phone: the teacher's screen shows the rotating QR; a signed-out resident opens the URL it encodes,
signs in, and lands on the check-in result (签到成功 in Chinese) with the attendance row in place."""

import datetime

import pytest
from django.utils import timezone

from teaching.choices import ActivityStatus, Audience
from teaching.models import Activity, ActivityType, Attendance
from tests.browser.conftest import PASSWORD
from tests.browser.test_pages import PHONE
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def activity(org, resident, supervisor, secretary):
    today = timezone.localdate()
    profile = ResidentProfileFactory(user=resident, base=org.internal)
    RotationBlockFactory(
        resident=profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today - datetime.timedelta(days=10),
        end_date=today + datetime.timedelta(days=30),
    )
    kind = ActivityType.objects.create(hospital=org.hospital, code="XJK", name="小讲课")
    now = timezone.now()
    return Activity.objects.create(
        department=org.cardiology,
        activity_type=kind,
        title="心电图判读",
        teacher=supervisor,
        starts_at=now - datetime.timedelta(minutes=1),
        ends_at=now + datetime.timedelta(minutes=59),
        place="示教室",
        audience=Audience.DEPARTMENT,
        status=ActivityStatus.APPROVED,
        created_by=secretary,
    )


def test_a_resident_scans_the_teachers_code_signs_in_and_is_checked_in(
    browser, live_server, sign_in, artifacts, activity, resident
):
    teacher_phone = browser.new_context(**PHONE)
    resident_phone = browser.new_context(**PHONE)
    try:
        # the teacher's phone shows the code; the QR encodes the scan URL the page also carries
        page = sign_in(teacher_phone.new_page(), "supervisor")
        page.goto(f"{live_server.url}/teaching/activities/{activity.uuid}/code/")
        qr = page.locator("[data-testid=qr]")
        assert qr.locator("svg").count() == 1
        scan_url = qr.get_attribute("data-scan-url")
        assert scan_url.startswith(f"{live_server.url}/teaching/s/")
        page.screenshot(path=str(artifacts / "checkin-code-phone.png"), full_page=True)

        # the resident's camera opens it: not signed in yet, so the login page first
        phone = resident_phone.new_page()
        phone.goto(scan_url)
        assert "/accounts/login/" in phone.url
        phone.fill("input[name=username]", "resident")
        phone.fill("input[name=password]", PASSWORD)
        with phone.expect_navigation():
            phone.click("form button[type=submit]")
        result = phone.locator("#scan-result")
        assert result.get_attribute("data-outcome") == "checked_in"
        title = phone.locator("#scan-title").inner_text()
        assert title in ("签到成功", "Checked in")  # 签到成功 once the zh-hans catalogue has it
        phone.screenshot(path=str(artifacts / "checkin-success-phone.png"), full_page=True)
        assert Attendance.objects.filter(activity=activity, user=resident, purpose="in").count() == 1

        # the teacher's count follows within one rotation
        page.wait_for_function("document.querySelector('#count-in').textContent.trim() === '1'", timeout=15_000)
    finally:
        teacher_phone.close()
        resident_phone.close()
