"""On a phone: the resident logs the end of a shift in a few taps (what was typed survives a reload),
and the supervisor approves the day's entries with one tap."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

import rotation.nav_caseload  # noqa: F401  (the home panels, as rotation.apps registers them)
from rotation.choices import EntryStatus
from rotation.models import CaseloadEntry
from rotation.services import caseload_progress
from tests.browser.test_pages import PHONE
from tests.factories.residents import RotationBlockFactory
from tests.residents.conftest import mentor, resident_profile  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def block(org, resident_profile, supervisor):  # noqa: F811
    today = timezone.localdate()
    caseload_progress.load_caseload_standards(org.hospital)
    return RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today - datetime.timedelta(days=30),
        end_date=today + datetime.timedelta(days=60),
    )


def test_quick_entry_on_a_phone_and_the_supervisor_approves_the_day(
    browser, live_server, sign_in, artifacts, block, resident, supervisor
):
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    try:
        sign_in(page, "resident")
        with page.expect_navigation():
            page.click("[data-testid=panel-quick-link]")
        assert page.url.endswith(reverse("rotation:caseload_quick"))

        # a procedure from the department's list, three of them
        with page.expect_navigation():
            page.click("a[data-kind=procedure]")
        page.select_option("select[name=standard]", label="12导联心电图操作及书面报告")
        page.fill("input[name=count]", "3")
        # what was typed stays on the phone until it is sent
        page.reload()
        assert page.locator("[data-offline-notice]").is_visible()
        assert page.input_value("input[name=count]") == "3"
        page.screenshot(path=str(artifacts / "caseload-quick-phone.png"), full_page=True)
        with page.expect_navigation():
            page.click("[data-testid=quick-submit]")
        assert "Logged" in page.content() or "已登记" in page.content() or page.url.endswith("saved=1")

        # a disease, default count 1
        with page.expect_navigation():
            page.click("a[data-kind=disease]")
        page.select_option("select[name=standard]", label="心力衰竭")
        with page.expect_navigation():
            page.click("[data-testid=quick-submit]")
        assert page.locator("[data-testid=entry-row]").count() == 2
        assert CaseloadEntry.objects.filter(status=EntryStatus.SUBMITTED).count() == 2
        page.reload()
        assert not page.locator("[data-offline-notice]").is_visible()  # sent, so nothing is restored
    finally:
        phone.close()

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    try:
        sign_in(page, "supervisor")
        with page.expect_navigation():
            page.click("[data-testid=panel-inbox-link]")
        assert page.locator("[data-testid=inbox-resident]").count() == 1
        page.screenshot(path=str(artifacts / "caseload-inbox-phone.png"), full_page=True)
        with page.expect_navigation():
            page.click("[data-testid=approve-day]")
        assert page.locator("[data-testid=inbox-empty]").is_visible()
    finally:
        phone.close()
    assert set(CaseloadEntry.objects.values_list("status", flat=True)) == {EntryStatus.APPROVED}
    ecg = next(line for line in caseload_progress.progress(block).lines if line.standard.name.startswith("12导联"))
    assert ecg.done == 3
