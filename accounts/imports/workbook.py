"""The template workbook and reading an upload into raw rows."""

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import openpyxl
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..choices import ROLE_SCOPE, ScopeKind
from ..models import User
from .columns import COLUMNS, MAX_ROWS, ROLE_NAMES, SHEET_ACCOUNTS, SHEET_HELP, SHEET_ORG, Column
from .scope import _bases, _departments, home_hospitals, importable_roles


class ImportFileError(Exception):
    """The upload as a whole cannot be read; there are no rows to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RawRow:
    """One non-empty line of the sheet, as text, before any check."""

    number: int
    values: dict[str, str]
    #: cells Excel stored as numbers: harmless for phones, fatal for ID numbers (rounded to 15 digits)
    numeric: frozenset[str] = frozenset()

    def to_json(self) -> list[Any]:
        return [self.number, self.values, sorted(self.numeric)]

    @classmethod
    def from_json(cls, data: list[Any]) -> "RawRow":
        return cls(number=int(data[0]), values=dict(data[1]), numeric=frozenset(data[2]))


# --- the template ----------------------------------------------------------------------------


def template_workbook(*, acting_user: User) -> bytes:
    """An empty account sheet, the instructions, and the departments and bases the file may name."""
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET_ACCOUNTS
    write_header(ws, COLUMNS, widths={"id_number": 22, "roles": 24, "email": 24}, text_rows=MAX_ROWS)

    help_ws = wb.create_sheet(SHEET_HELP)
    help_ws.column_dimensions["A"].width = 18
    help_ws.column_dimensions["B"].width = 10
    help_ws.column_dimensions["C"].width = 70
    lines = [
        _("Fill in one account per row on the sheet %(sheet)s and keep its first row as it is.")
        % {"sheet": SHEET_ACCOUNTS},
        _("Red columns are required. Staff numbers, ID numbers and usernames must be new."),
        _("After the upload you see every error first; nothing is saved until you confirm."),
        _(
            "Each imported person gets an initial password, shown once after the import, "
            "and chooses their own password at the first sign-in."
        ),
        _("The sheet %(sheet)s lists the departments and specialty bases you can name.") % {"sheet": SHEET_ORG},
    ]
    for line in lines:
        help_ws.append([line])
    help_ws.append([])
    help_ws.append([_("Column"), _("Required"), _("Notes")])
    bold_row(help_ws, bold)
    for column in COLUMNS:
        help_ws.append([column.header, _("yes") if column.required else _("no"), str(column.help)])
    help_ws.append([])
    help_ws.append([_("Role"), _("Held in"), _("Other accepted names")])
    bold_row(help_ws, bold)
    for role in importable_roles(acting_user):
        names = ROLE_NAMES[role]
        help_ws.append([names[0], str(ScopeKind(ROLE_SCOPE[role]).label), "、".join((*names[1:], role))])
    for row in help_ws.iter_rows():
        for cell in row:
            cell.alignment = wrap

    org_ws = wb.create_sheet(SHEET_ORG)
    hospitals = home_hospitals(acting_user)
    org_ws.append([_("Department code"), _("Department"), _("Hospital or site"), _("Specialty base")])
    bold_row(org_ws, bold)
    for department in _departments(hospitals):
        append_text(org_ws, [department.code, department.name, department.hospital.name, str(department.base or "")])
    org_ws.append([])
    org_ws.append([_("Base code"), _("Specialty base"), _("Hospital")])
    bold_row(org_ws, bold)
    for base in _bases(hospitals):
        append_text(org_ws, [base.code, base.name, base.hospital.name])
    for letter, width in zip("ABCD", (16, 24, 24, 24), strict=True):
        org_ws.column_dimensions[letter].width = width

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_header(
    ws,
    columns: Sequence[Column],
    *,
    widths: dict[str, int] | None = None,
    text_rows: int = MAX_ROWS,
    required_mark: str = "",
) -> None:
    """The header row of a template sheet: required columns red (and marked), text columns preformatted as text.

    Reading ignores a trailing * and anything in brackets, so marks and hints in headers are safe.
    """
    header_font = Font(bold=True, color="FFFFFF")
    required_fill = PatternFill("solid", fgColor="C0392B")
    optional_fill = PatternFill("solid", fgColor="5D6D7E")
    ws.append([c.header + (required_mark if c.required else "") for c in columns])
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = header_font
        cell.fill = required_fill if column.required else optional_fill
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = (widths or {}).get(column.key, 14)
        if column.as_text:
            # Preformat the cells people fill in, so an ID number typed in stays text.
            for row in range(2, text_rows + 2):
                ws.cell(row=row, column=index).number_format = "@"
    ws.freeze_panes = "A2"


def append_text(ws, values: list[Any]) -> None:
    """openpyxl writes any string starting with "=" as a formula; names from the database stay text."""
    ws.append(values)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def bold_row(ws, font: Font | None = None) -> None:
    font = font or Font(bold=True)
    for cell in ws[ws.max_row]:
        cell.font = font


# --- reading the upload ----------------------------------------------------------------------


def check_upload(*, name: str, size: int) -> None:
    """Refuse what is obviously not a workbook before reading a byte of it."""
    lowered = name.lower()
    if lowered.endswith(".xls"):
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be read. Open the file in Excel or WPS and save it as .xlsx.")
        )
    if not lowered.endswith(".xlsx"):
        raise ImportFileError(_("Upload an Excel workbook (.xlsx), such as the template on this page."))
    if size > settings.UPLOAD_MAX_BYTES:
        raise ImportFileError(
            _("This file is larger than %(size)s.") % {"size": filesizeformat(settings.UPLOAD_MAX_BYTES)}
        )


def read_workbook(data: bytes) -> list[RawRow]:
    """The non-empty rows of the account sheet as text, keyed by column; file-level problems raise."""
    return read_sheet(
        data,
        columns=COLUMNS,
        sheet=SHEET_ACCOUNTS,
        max_rows=MAX_ROWS,
        too_many=_("The workbook has more than %(n)d accounts; split it into smaller files.") % {"n": MAX_ROWS},
        empty=_("The workbook has no accounts to import below its header row."),
    )


def read_sheet(
    data: bytes, *, columns: Sequence[Column], sheet: str, max_rows: int, too_many: str, empty: str
) -> list[RawRow]:
    """The non-empty rows of `sheet` (else the first sheet) as text, keyed by the keys of `columns`.

    `too_many` and `empty` are what the user reads when the file has more than `max_rows`
    rows, or none below the header; every other file-level problem has a generic message.
    """
    unreadable = _(
        "This file is not a readable Excel workbook (.xlsx). Save it as .xlsx in Excel or WPS and upload it again."
    )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ImportFileError(unreadable)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file; all mean the same to the user
        raise ImportFileError(unreadable) from exc
    try:
        ws = wb[sheet] if sheet in wb.sheetnames else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None) or ()
        positions = _header_positions(header, columns)
        rows_read: list[RawRow] = []
        for number, cells in enumerate(rows, start=2):
            row = _raw_row(number, cells, positions)
            if row is None:
                continue
            if len(rows_read) >= max_rows:
                raise ImportFileError(too_many)
            rows_read.append(row)
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(unreadable) from exc
    finally:
        wb.close()
    if not rows_read:
        raise ImportFileError(empty)
    return rows_read


def _header_key(text: Any, columns: Sequence[Column]) -> str | None:
    label = re.split(r"[(（]", str(text or ""))[0]
    label = re.sub(r"[\s*＊]", "", label)
    for column in columns:
        if label in (column.header, column.key):
            return column.key
    return None


def _header_positions(header: Iterable[Any], columns: Sequence[Column]) -> dict[str, int]:
    by_key = {c.key: c for c in columns}
    positions: dict[str, int] = {}
    for index, text in enumerate(header):
        key = _header_key(text, columns)
        if key is None:
            continue  # extra columns (remarks, numbering) are allowed and ignored
        if key in positions:
            raise ImportFileError(_("The column %(column)s appears twice.") % {"column": by_key[key].header})
        positions[key] = index
    missing = [c.header for c in columns if c.required and c.key not in positions]
    if missing:
        raise ImportFileError(
            _("The first row lacks the columns %(columns)s. Start from the template on this page.")
            % {"columns": "、".join(missing)}
        )
    return positions


def _raw_row(number: int, cells: Sequence[Any], positions: dict[str, int]) -> RawRow | None:
    values: dict[str, str] = {}
    numeric: set[str] = set()
    for key, index in positions.items():
        value = cells[index] if index < len(cells) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            numeric.add(key)
        values[key] = _as_text(value)
    if not any(values.values()):
        return None
    return RawRow(number=number, values=values, numeric=frozenset(numeric))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()
