"""Notices made the way the office makes them (through the services), and a throw-away media folder."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from notices import services

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32


def docx_bytes() -> bytes:
    """The smallest Word package the upload check accepts; the same bytes on every call (fixed zip dates)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document/>")):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2025, 9, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def media_root(mongo_db):
    """Uploads live in GridFS (the embedded server): start every test with an empty bucket."""
    return mongo_db


@pytest.fixture
def make_notice(org, office):
    """make_notice(title=..., roles=[...], bases=[...], publish=True, attachments=[...])"""

    def _make(
        title="关于2025级住院医师入科教育安排的通知",
        *,
        body="<p>请按时参加。</p>",
        roles=(),
        bases=(),
        pinned=False,
        publish=True,
        attachments=(),
    ):
        notice = services.notice_create(
            hospital=org.hospital,
            title=title,
            body=body,
            audience_roles=list(roles),
            audience_bases=list(bases),
            is_pinned=pinned,
            attachments=list(attachments),
            acting_user=office,
        )
        if publish:
            notice = services.notice_publish(notice=notice, acting_user=office)
        return notice

    return _make
