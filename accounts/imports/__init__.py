"""Staff accounts from an Excel workbook: the template, reading, row checks and the commit.

The office fills in a fixed template whose headers are Chinese: the workbook is a form that
people in the hospital pass around, so its column names are part of the file format, like the
role names they type (带教医师, 教学秘书, ...). Everything we *say* about the file (errors,
instructions) goes through gettext.

Nothing is written until every row has been checked: the admin first sees a preview with the
errors of each cell, then either imports a file without errors, or explicitly chooses to import
only the valid rows. Between the two steps the rows wait, encrypted, in the admin's session;
the confirm step checks them again because the database may have changed meanwhile.
"""

from .columns import (
    ADMIN_ONLY_ROLES,
    COLUMN_BY_KEY,
    COLUMNS,
    EMAIL,
    ID_NUMBER,
    MAX_ROWS,
    PHONE,
    REAL_NAME,
    ROLE_NAMES,
    SHEET_ACCOUNTS,
    SHEET_HELP,
    SHEET_ORG,
    XLSX_CONTENT_TYPE,
    Column,
)
from .forms import WorkbookUploadForm
from .scope import home_hospitals, importable_roles
from .service import (
    PENDING_TTL_SECONDS,
    SESSION_KEY,
    ImportedAccount,
    account_from_row,
    initial_password,
    pending_clear,
    pending_load,
    pending_save,
    staff_import_commit,
)
from .validation import (
    CheckedRow,
    ImportPreview,
    PreviewCell,
    SheetRow,
    check_cells,
    collect_errors,
    existing_id_digests,
    mark_duplicates,
    validate_rows,
)
from .workbook import (
    ImportFileError,
    RawRow,
    append_text,
    bold_row,
    check_upload,
    read_sheet,
    read_workbook,
    template_workbook,
    write_header,
)

__all__ = [
    "ADMIN_ONLY_ROLES",
    "COLUMNS",
    "COLUMN_BY_KEY",
    "EMAIL",
    "ID_NUMBER",
    "MAX_ROWS",
    "PHONE",
    "REAL_NAME",
    "PENDING_TTL_SECONDS",
    "SESSION_KEY",
    "ROLE_NAMES",
    "SHEET_ACCOUNTS",
    "SHEET_HELP",
    "SHEET_ORG",
    "XLSX_CONTENT_TYPE",
    "CheckedRow",
    "Column",
    "ImportFileError",
    "ImportPreview",
    "ImportedAccount",
    "PreviewCell",
    "RawRow",
    "SheetRow",
    "WorkbookUploadForm",
    "account_from_row",
    "append_text",
    "bold_row",
    "check_cells",
    "check_upload",
    "collect_errors",
    "existing_id_digests",
    "home_hospitals",
    "importable_roles",
    "initial_password",
    "mark_duplicates",
    "pending_clear",
    "pending_load",
    "pending_save",
    "read_sheet",
    "read_workbook",
    "staff_import_commit",
    "template_workbook",
    "validate_rows",
    "write_header",
]
