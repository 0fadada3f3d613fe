"""Uploads in, downloads out: the one place that decides what a file really is and how it is served.

`validate_upload()` checks the size, the extension against the caller's allow-list, and the
first bytes of the content, so an HTML page renamed `.png` or `.pdf` never gets stored.
`serve_file()` streams a stored file back through an authorised view with a content type
from a fixed allow-list: images and PDF inline, everything else as a download, never HTML.

Both only use the `File`/`FieldFile` interface (`chunks()`, `open()`, `seek()`), so moving
media to another Django `Storage` (GridFS, see the logs issue) changes no caller.
"""

import codecs
import os
import unicodedata
import zipfile
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

#: extension -> the content type we serve it with (the browser's claim is never trusted).
CONTENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "txt": "text/plain",
}

IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "webp"})
OFFICE_EXTENSIONS = frozenset({"docx", "xlsx", "pptx", "doc", "xls", "ppt"})
#: What a notice, a plan or a record may carry as attachments.
DOCUMENT_EXTENSIONS = frozenset({"pdf", "txt"}) | IMAGE_EXTENSIONS | OFFICE_EXTENSIONS

#: Types a browser may show in the page; everything else is downloaded as octet-stream.
INLINE_CONTENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "docx": (_ZIP,),
    "xlsx": (_ZIP,),
    "pptx": (_ZIP,),
    "doc": (_OLE,),
    "xls": (_OLE,),
    "ppt": (_OLE,),
}
#: The folder every OOXML package of that kind has inside its zip.
_OOXML_PART = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
#: Markup a browser would render as a page if it ever got the chance.
_HTML_MARKERS = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<svg",
    b"<?xml",
    b"<meta",
    b"<a ",
)


def extension_of(name: str) -> str:
    return os.path.splitext(name or "")[1].lstrip(".").lower()


def clean_filename(name: str, *, max_length: int = 200) -> str:
    """The name to show and offer on download: no folders, no control characters, not too long."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    name = name.lstrip(".") or "file"
    if len(name) > max_length:
        stem, ext = os.path.splitext(name)
        name = stem[: max_length - len(ext)] + ext
    return name


def validate_upload(file, *, allowed_extensions: Iterable[str], max_bytes: int | None = None) -> str:
    """Refuse a file that is too big, has a forbidden extension or whose content is not what it says.

    Returns the content type to store and serve it with, derived from the checked extension.
    """
    max_bytes = settings.UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    allowed = {e.lower().lstrip(".") for e in allowed_extensions}
    name = getattr(file, "name", "") or ""
    size = file.size
    if size is None or size == 0:
        raise ValidationError(_("“%(name)s” is empty."), code="empty", params={"name": clean_filename(name)})
    if size > max_bytes:
        raise ValidationError(
            _("“%(name)s” is %(size)s; files may be at most %(limit)s."),
            code="too_large",
            params={"name": clean_filename(name), "size": filesizeformat(size), "limit": filesizeformat(max_bytes)},
        )
    extension = extension_of(name)
    if extension not in allowed or extension not in CONTENT_TYPES:
        raise ValidationError(
            _("“%(name)s” is not an accepted file type. Accepted: %(allowed)s."),
            code="extension",
            params={"name": clean_filename(name), "allowed": ", ".join(sorted(allowed & set(CONTENT_TYPES)))},
        )
    if not _content_matches(file, extension):
        raise ValidationError(
            _("The content of “%(name)s” is not a %(ext)s file. Please upload the original document."),
            code="content",
            params={"name": clean_filename(name), "ext": extension.upper()},
        )
    return CONTENT_TYPES[extension]


def _head(file, length: int = 2048) -> bytes:
    file.seek(0)
    head = file.read(length)
    file.seek(0)
    return head


def _content_matches(file, extension: str) -> bool:
    head = _head(file)
    if extension == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if extension == "txt":
        return _is_plain_text(file, head)
    if not head.startswith(_MAGIC[extension]):
        return False
    if extension in _OOXML_PART:
        return _is_ooxml(file, _OOXML_PART[extension])
    return True


def _is_ooxml(file, part: str) -> bool:
    """A real Word/Excel/PowerPoint package, not any zip renamed: read the zip directory only."""
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        file.seek(0)
    return "[Content_Types].xml" in names and any(n.startswith(part) for n in names)


def _is_plain_text(file, head: bytes) -> bool:
    """UTF-8 all the way through, and not a web page in disguise."""
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_MARKERS) or b"<script" in head.lower():
        return False
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        file.seek(0)
        for chunk in file.chunks():
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        file.seek(0)
    return True


def serve_file(field_file, *, filename: str, content_type: str) -> FileResponse:
    """Stream a stored file to an already authorised user. Never read into memory, never HTML.

    Images and PDF open in the browser; any other type is sent as application/octet-stream
    with `Content-Disposition: attachment` (RFC 5987 `filename*` for non-ASCII names).
    """
    inline = content_type in INLINE_CONTENT_TYPES
    safe_type = content_type if inline else "application/octet-stream"
    field_file.open("rb")
    response = FileResponse(
        field_file, as_attachment=not inline, filename=clean_filename(filename), content_type=safe_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # Even an inline image may not run anything or load anything if opened on its own.
    if safe_type.startswith("image/"):
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response
