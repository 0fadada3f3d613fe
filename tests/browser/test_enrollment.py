"""The training office enrolls a small batch from Excel and opens a new resident's archive, on a phone."""

import io

import openpyxl
import pytest

from accounts.models import User
from residents.models import ResidentProfile
from tests.browser.test_pages import PHONE
from tests.factories.accounts import make_id_number
from tests.factories.residents import EnrollmentBatchFactory, EnrollmentQuotaFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADERS = ["姓名*", "性别*", "身份证号*", "手机号*", "邮箱", "专业基地*", "人员类型*", "派送单位", "培训年限"]


def _admission_list(tmp_path) -> tuple[str, list[str]]:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "录取名单"
    ws.append(HEADERS)
    ids = [make_id_number(701, born="19990412"), make_id_number(702, born="20000815")]
    ws.append(["欧阳新", "男" if int(ids[0][16]) % 2 else "女", ids[0], "13700000701", "", "内科", "社会人", "", "3"])
    ws.append(
        [
            "司马青",
            "男" if int(ids[1][16]) % 2 else "女",
            ids[1],
            "13700000702",
            "",
            "外科",
            "委培单位人",
            "某县人民医院",
            "3",
        ]
    )
    path = tmp_path / "录取名单.xlsx"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(buffer.getvalue())
    return str(path), ids


def test_the_office_imports_a_batch_and_opens_a_new_archive_on_a_phone(
    browser, live_server, sign_in, org, office, artifacts, tmp_path
):
    batch = EnrollmentBatchFactory(hospital=org.hospital, year=2026, name="2026年招录")
    EnrollmentQuotaFactory(batch=batch, base=org.internal, quota=5)
    EnrollmentQuotaFactory(batch=batch, base=org.surgery, quota=5)
    upload, ids = _admission_list(tmp_path)

    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in(page, "office")
        page.goto(f"{live_server.url}/residents/enrollment/{batch.uuid}/")
        with page.expect_navigation():
            page.click(f"a[href$='/residents/enrollment/{batch.uuid}/import/']")
        page.set_input_files("input[type=file][name=file]", upload)
        with page.expect_navigation():
            page.click("form[enctype='multipart/form-data'] button[type=submit]")

        # The preview: both rows checked, identifiers masked, nothing written yet.
        preview = page.content()
        assert "欧阳新" in preview and "司马青" in preview
        assert ids[0] not in preview and ids[0][:3] + "*" in preview
        assert not ResidentProfile.objects.exists()
        page.screenshot(path=str(artifacts / "enrollment-preview-phone.png"), full_page=True)

        with page.expect_navigation():
            page.click("form[action$='/import/confirm/'] button[type=submit]")
        result = page.locator("[data-testid=import-result]")
        assert result.locator("tbody tr").count() == 2
        assert ResidentProfile.objects.count() == 2
        assert User.objects.get(real_name="欧阳新").must_change_password

        with page.expect_navigation():
            result.get_by_role("link", name="司马青").click()
        archive = page.content()
        assert "司马青" in page.locator("h1").first.inner_text()
        assert "外科" in archive and "某县人民医院" in archive
        assert ids[1] not in archive, "the full ID number is never on the page before a reveal"
        scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width, f"horizontal scroll on a phone: {scroll_width}px > {inner_width}px"
        page.screenshot(path=str(artifacts / "enrollment-new-archive-phone.png"), full_page=True)
    finally:
        context.close()
