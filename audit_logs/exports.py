"""The audit search as CSV (UTF-8 with BOM, so Excel shows Chinese) or Excel, at most EXPORT_MAX_ROWS rows.

The CSV streams row by row from the MongoDB cursor; the workbook is built in openpyxl's
write-only mode. A truncated export says so in its last row. Cells that a spreadsheet would run
as a formula (=, +, -, @) are neutralised: audit data contains what users typed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from core import mongo

from . import selectors

EXPORT_MAX_ROWS = 50_000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def headers() -> list[str]:
    return [
        _("Seq"),
        _("Time (UTC+8)"),
        _("Username"),
        _("Roles"),
        _("Action"),
        _("Outcome"),
        _("Target type"),
        _("Target ID"),
        _("Target"),
        _("Changes"),
        _("Extra"),
        _("IP"),
        _("Request ID"),
        _("User agent"),
        _("Hash"),
    ]


def _row(event: dict[str, Any]) -> list[Any]:
    at = event["at"]
    return [
        event["seq"],
        at.strftime("%Y-%m-%d %H:%M:%S") if at else "",
        event["username"],
        "、".join(event["roles"]),
        event["action"],
        event["outcome"],
        event["target_type"],
        event["target_id"],
        event["target_repr"],
        "; ".join(f"{c['field']}: {c['old']} → {c['new']}" for c in event["changes"]),
        "; ".join(f"{k}={v}" for k, v in event["extra"]),
        event["ip"],
        event["request_id"],
        event["user_agent"],
        event["hash"],
    ]


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def truncation_note(total: int, limit: int) -> str:
    return _("Export truncated: %(total)s events match, only the newest %(limit)s are included. Narrow the filter.") % {
        "total": total,
        "limit": limit,
    }


def _rows(query: dict[str, Any], *, total: int, limit: int) -> Iterator[list[Any]]:
    yield headers()
    try:
        for event in selectors.iter_audit_events(query, limit=limit):
            yield _row(event)
    except mongo.MongoUnavailable:
        yield [_("Export interrupted: MongoDB became unavailable. The file is incomplete.")]
        return
    if total > limit:
        yield [truncation_note(total, limit)]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_stream(query: dict[str, Any], *, total: int, limit: int = EXPORT_MAX_ROWS) -> Iterable[bytes]:
    writer = csv.writer(_Echo())
    yield "\ufeff".encode()
    for row in _rows(query, total=total, limit=limit):
        yield writer.writerow([_safe(v) for v in row]).encode("utf-8")


def xlsx_bytes(query: dict[str, Any], *, total: int, limit: int = EXPORT_MAX_ROWS) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(_("Audit events"))
    widths = [8, 20, 14, 18, 22, 10, 24, 20, 28, 40, 30, 16, 34, 30, 66]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    for row in _rows(query, total=total, limit=limit):
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text, even "=..." typed by a user
            cells.append(cell)
        ws.append(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
