import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core import mongo
from core.uploads import DOCUMENT_EXTENSIONS, validate_upload
from notices import services
from notices.models import Notice, NoticeAttachment
from tests.notices.conftest import PDF, PNG, docx_bytes, upload

pytestmark = pytest.mark.django_db

HTML = b"<!DOCTYPE html><html><body><script>fetch('/accounts/')</script></body></html>"


def _form(**overrides):
    return {"title": "师资培训通知", "body": "请各科室推荐带教老师参加。", **overrides}


def _stored_files(media_root):
    """What the upload storage (GridFS) holds."""
    return [grid_out.filename for grid_out in mongo.bucket().find({})]


def test_an_html_page_named_png_is_refused_with_a_clear_message_and_nothing_is_saved(client, office, media_root):
    client.force_login(office)
    response = client.post(reverse("notices:create"), _form(attachments=upload("排班表.png", HTML, "image/png")))
    assert response.status_code == 200
    errors = response.context["form"].errors["attachments"]
    assert errors == ["“排班表.png”的内容不是 PNG 文件。请上传原始文件。"]
    assert "的内容不是 PNG 文件" in response.content.decode()
    assert not Notice.objects.exists() and not NoticeAttachment.objects.exists()
    assert _stored_files(media_root) == []


def test_an_html_page_named_pdf_is_refused_by_the_service_too(make_notice, office, media_root):
    notice = make_notice(publish=False)
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(notice=notice, file=upload("通知.pdf", HTML), acting_user=office)
    assert exc.value.code == "content"
    assert not NoticeAttachment.objects.exists() and _stored_files(media_root) == []


def test_an_oversize_file_is_refused(client, office, settings, media_root):
    settings.UPLOAD_MAX_BYTES = 1024
    client.force_login(office)
    big = upload("大文件.pdf", PDF + b"0" * 2048, "application/pdf")
    response = client.post(reverse("notices:create"), _form(attachments=big))
    assert response.status_code == 200
    [error] = response.context["form"].errors["attachments"]
    assert "文件最大不能超过 1.0\xa0KB" in error
    assert not Notice.objects.exists() and _stored_files(media_root) == []


def test_a_forbidden_extension_is_refused():
    with pytest.raises(ValidationError) as exc:
        validate_upload(upload("setup.exe", b"MZ\x90\x00"), allowed_extensions=DOCUMENT_EXTENSIONS)
    assert exc.value.code == "extension"
    assert "支持的类型：doc, docx, gif" in exc.value.messages[0]


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("a.pdf", PDF, "application/pdf"),
        ("a.png", PNG, "image/png"),
        ("a.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        ("a.gif", b"GIF89a\x01\x00", "image/gif"),
        ("a.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("a.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "application/vnd.ms-excel"),
        ("说明.txt", "住培说明：请按时参加。".encode(), "text/plain"),
    ],
)
def test_real_files_are_accepted_with_a_content_type_from_their_extension(name, content, content_type):
    assert validate_upload(upload(name, content), allowed_extensions=DOCUMENT_EXTENSIONS) == content_type


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.txt", HTML),
        ("a.txt", "中文".encode("gbk")),
        ("a.docx", b"PK\x03\x04not really a zip"),
        ("a.xlsx", docx_bytes()),  # a Word package renamed .xlsx
        ("a.jpg", PNG),
        ("a.webp", b"RIFF\x00\x00\x00\x00WAVEfmt "),
        ("a.doc", PDF),
        ("a.pdf", b""),
    ],
)
def test_content_that_does_not_match_the_extension_is_refused(name, content):
    with pytest.raises(ValidationError):
        validate_upload(upload(name, content), allowed_extensions=DOCUMENT_EXTENSIONS)


def test_a_zip_that_is_not_an_office_document_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", HTML)
    with pytest.raises(ValidationError):
        validate_upload(upload("a.docx", buffer.getvalue()), allowed_extensions=DOCUMENT_EXTENSIONS)


def test_a_permitted_user_downloads_a_document_as_an_attachment(client, make_notice, org, resident, other_resident):
    notice = make_notice(bases=[org.internal], attachments=[upload("轮转安排表.docx", docx_bytes(), "text/html")])
    attachment = notice.attachments.get()
    assert attachment.original_name == "轮转安排表.docx"
    assert attachment.file.name.startswith("notices/") and "轮转" not in attachment.file.name
    url = reverse("notices:attachment", args=[attachment.uuid])

    client.force_login(resident)
    response = client.get(url)
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == docx_bytes()
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E8%BD%AE%E8%BD%AC%E5%AE%89%E6%8E%92%E8%A1%A8.docx"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "text/html" not in response["Content-Type"]

    client.force_login(other_resident)
    assert client.get(url).status_code == 404


def test_a_pdf_opens_inline(client, make_notice, resident):
    notice = make_notice(attachments=[upload("notice.pdf", PDF)])
    client.force_login(resident)
    response = client.get(reverse("notices:attachment", args=[notice.attachments.get().uuid]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="notice.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF


def test_several_files_can_be_attached_in_one_submit(client, office, audit_events):
    client.force_login(office)
    files = [upload("a.pdf", PDF), upload("b.png", PNG)]
    response = client.post(reverse("notices:create"), _form(attachments=files))
    assert response.status_code == 302
    notice = Notice.objects.get()
    assert sorted(notice.attachments.values_list("original_name", flat=True)) == ["a.pdf", "b.png"]
    assert [e["action"] for e in audit_events if e["action"].startswith("notice.")] == [
        "notice.create",
        "notice.attachment_add",
        "notice.attachment_add",
    ]


def test_removing_an_attachment_deletes_its_file_and_is_audited(
    client, make_notice, office, media_root, audit_events, django_capture_on_commit_callbacks
):
    notice = make_notice(publish=False, attachments=[upload("a.pdf", PDF)])
    assert len(_stored_files(media_root)) == 1
    client.force_login(office)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notices:attachment_remove", args=[notice.attachments.get().uuid]))
    assert not notice.attachments.exists() and _stored_files(media_root) == []
    assert "notice.attachment_remove" in [e["action"] for e in audit_events]
