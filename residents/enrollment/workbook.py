"""The admission-list template of a batch, and reading an upload into raw rows."""

import io

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.styles import Alignment
from openpyxl.worksheet.datavalidation import DataValidation

from accounts.imports import RawRow, append_text, bold_row, read_sheet, write_header

from ..models import EnrollmentBatch
from .columns import (
    CATEGORY_NAMES,
    COLUMNS,
    DEGREE_NAMES,
    EDUCATION_NAMES,
    GENDER_NAMES,
    MAX_ROWS,
    SHEET_HELP,
    SHEET_ROSTER,
)
from .selectors import quota_lines

_WIDTHS = {"id_number": 22, "phone": 14, "email": 22, "base": 14, "category": 14, "sending_unit": 20, "school": 20}


def template_workbook(batch: EnrollmentBatch) -> bytes:
    """An empty admission list with Chinese headers, and a help sheet with the bases, quotas and places left."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET_ROSTER
    write_header(ws, COLUMNS, widths=_WIDTHS, text_rows=MAX_ROWS, required_mark="*")

    help_ws = wb.create_sheet(SHEET_HELP)
    for letter, width in zip("ABCDE", (16, 22, 10, 10, 60), strict=True):
        help_ws.column_dimensions[letter].width = width
    lines = [
        _("Admission list of %(batch)s; training starts on %(date)s.")
        % {"batch": batch, "date": batch.start_date.isoformat()},
        _("Fill in one resident per row on the sheet %(sheet)s and keep its first row as it is.")
        % {"sheet": SHEET_ROSTER},
        _("Columns marked * are required. ID numbers and phones must not repeat, in the file or in the system."),
        _("After the upload you see every error first; nothing is saved until you confirm."),
        _(
            "Each admitted resident gets an account whose username is the new student number, and an initial "
            "password shown once after the import; they choose their own password at the first sign-in."
        ),
    ]
    for line in lines:
        help_ws.append([line])
    help_ws.append([])

    help_ws.append([_("Base code"), _("Specialty base"), _("Quota"), _("Enrolled"), _("Places left")])
    bold_row(help_ws)
    first_base_row = help_ws.max_row + 1
    lines_ = quota_lines(batch)
    for line in lines_:
        append_text(help_ws, [line.base.code, line.base.name, line.quota, line.enrolled, line.remaining])
    last_base_row = help_ws.max_row
    help_ws.append([])

    help_ws.append([_("Column"), _("Required"), _("Notes")])
    bold_row(help_ws)
    for column in COLUMNS:
        help_ws.append([column.header, _("yes") if column.required else _("no"), str(column.help)])
    help_ws.append([])

    help_ws.append([_("Column"), _("Write"), _("Meaning")])
    bold_row(help_ws)
    for header, names in (
        ("性别", GENDER_NAMES),
        ("人员类型", CATEGORY_NAMES),
        ("学历", EDUCATION_NAMES),
        ("学位", DEGREE_NAMES),
    ):
        for choice, typed in names.items():
            help_ws.append([header, typed[0], str(choice.label)])
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in help_ws.iter_rows():
        for cell in row:
            cell.alignment = wrap

    # Drop-down lists; a warning only, so a base code or another accepted word still goes in.
    def dropdown(key: str, formula: str) -> None:
        index = next(i for i, c in enumerate(COLUMNS) if c.key == key)
        letter = openpyxl.utils.get_column_letter(index + 1)
        validation = DataValidation(type="list", formula1=formula, allow_blank=True, errorStyle="warning")
        validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        ws.add_data_validation(validation)

    dropdown("gender", '"男,女"')
    dropdown("category", '"' + ",".join(n[0] for n in CATEGORY_NAMES.values()) + '"')
    dropdown("training_years", '"1,2,3"')
    dropdown("fresh_graduate", '"是,否"')
    if lines_:
        dropdown("base", f"'{SHEET_HELP}'!$B${first_base_row}:$B${last_base_row}")

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def read_roster(data: bytes) -> list[RawRow]:
    """The non-empty rows of the admission list as text; file-level problems raise ImportFileError."""
    return read_sheet(
        data,
        columns=COLUMNS,
        sheet=SHEET_ROSTER,
        max_rows=MAX_ROWS,
        too_many=_("The workbook has more than %(n)d residents; split it into smaller files.") % {"n": MAX_ROWS},
        empty=_("The workbook has no residents to import below its header row."),
    )
