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

import io
import json
import re
import secrets
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import openpyxl
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from core import crypto
from core.audit import audit_record
from core.masking import mask_id_number, mask_phone

from .choices import ROLE_SCOPE, Role, ScopeKind, UserStatus
from .models import Department, Hospital, SpecialtyBase, User
from .services import role_assign
from .validators import normalize_id_number, validate_id_number, validate_phone

# --- the file format -------------------------------------------------------------------------

#: Sheet names are part of the format the office knows; the first sheet holds the accounts.
SHEET_ACCOUNTS = "账号"
SHEET_HELP = "说明"
SHEET_ORG = "科室与专业基地"

#: A staff import is a few hundred people; a bigger file is almost always the wrong file.
MAX_ROWS = 2000

#: How long a previewed file waits for confirmation in the session.
PENDING_TTL_SECONDS = 3600

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    help: Promise
    max_length: int = 0
    #: text-formatted in the template, so Excel does not turn 18-digit numbers into 1.1E+17
    as_text: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("staff_number", "工号", True, gettext_lazy("Unique staff number."), 32, as_text=True),
    Column("real_name", "姓名", True, gettext_lazy("Real name."), 50),
    Column(
        "id_number",
        "身份证号",
        True,
        gettext_lazy("18-character resident ID number; the check digit is verified."),
        18,
        as_text=True,
    ),
    Column("phone", "手机号", True, gettext_lazy("11-digit mainland mobile number."), 11, as_text=True),
    Column("email", "邮箱", False, gettext_lazy("Optional."), 254),
    Column(
        "roles",
        "角色",
        True,
        gettext_lazy("One or more roles from the list below, separated by 、 or a comma."),
        200,
    ),
    Column(
        "department",
        "科室",
        False,
        gettext_lazy("Department name or code; required for roles held in a department."),
        100,
    ),
    Column(
        "base",
        "专业基地",
        False,
        gettext_lazy("Specialty base name or code; required for roles held in a base."),
        100,
    ),
    Column("username", "用户名", False, gettext_lazy("Optional; the staff number when left empty."), 150),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

#: The names people type for each role. The first name of each role is the one the template lists.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    Role.SUPERVISOR: ("带教医师", "带教老师", "带教"),
    Role.TEACHING_SECRETARY: ("教学秘书", "科室教学秘书"),
    Role.DEPARTMENT_HEAD: ("科主任", "科室主任"),
    Role.ATTENDANCE_CLERK: ("考勤员",),
    Role.BASE_DIRECTOR: ("专业基地负责人", "基地负责人", "专业基地主任", "基地主任"),
    Role.BASE_SECRETARY: ("基地秘书", "专业基地秘书"),
    Role.MENTOR: ("责任导师", "导师"),
    Role.TRAINING_OFFICE: ("培训管理部门", "培训管理"),
    Role.SYSTEM_ADMIN: ("系统管理员",),
    Role.AUDITOR: ("审计员",),
}
#: Separation of duties (三员分立): only a system administrator creates administrators and auditors.
ADMIN_ONLY_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.AUDITOR})
_RESIDENT_NAMES = {"住院医师", "住培学员", "学员", Role.RESIDENT.value}
_ROLE_SPLIT = re.compile(r"[、,，;；/\s]+")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]+$")


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


@dataclass(frozen=True)
class PreviewCell:
    column: Column
    display: str
    errors: tuple[str, ...]


@dataclass
class CheckedRow:
    """A row after the checks. The clear values sit in `_values`, which templates cannot reach."""

    number: int
    _values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    department: Department | None = None
    base: SpecialtyBase | None = None

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def username(self) -> str:
        return self._values.get("username") or self._values.get("staff_number", "")

    def value(self, key: str) -> str:
        return self._values.get(key, "")

    def add_error(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    @property
    def cells(self) -> list[PreviewCell]:
        """What the preview shows: identifiers masked on the server, errors next to their cell."""
        masks = {"id_number": mask_id_number, "phone": mask_phone}
        cells = []
        for column in COLUMNS:
            raw = self._values.get(column.key, "")
            mask = masks.get(column.key)
            display = mask(raw) if mask and raw else raw
            if column.key == "username" and not raw:
                display = self.username
            cells.append(PreviewCell(column, display, tuple(self.errors.get(column.key, ()))))
        return cells


@dataclass
class ImportPreview:
    rows: list[CheckedRow]
    columns: tuple[Column, ...] = COLUMNS

    @property
    def valid_rows(self) -> list[CheckedRow]:
        return [r for r in self.rows if r.is_valid]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def valid_count(self) -> int:
        return len(self.valid_rows)

    @property
    def error_count(self) -> int:
        return self.total - self.valid_count

    @property
    def is_valid(self) -> bool:
        return bool(self.rows) and self.error_count == 0


@dataclass(frozen=True)
class ImportedAccount:
    user: User
    #: shown once on the result page so the office can hand it out; never stored or logged in clear
    initial_password: str
    roles: tuple[str, ...]

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(r).label) for r in self.roles]


# --- the template ----------------------------------------------------------------------------


def home_hospitals(acting_user: User) -> list[Hospital]:
    """The hospitals the importing admin manages; imported roles and org units stay inside them."""
    ids = acting_user.scope.hospitals(Role.TRAINING_OFFICE, Role.SYSTEM_ADMIN)
    return list(Hospital.objects.filter(pk__in=ids).order_by("kind", "code"))


def importable_roles(acting_user: User) -> list[str]:
    roles = list(ROLE_NAMES)
    if not acting_user.scope.is_system_admin:
        roles = [r for r in roles if r not in ADMIN_ONLY_ROLES]
    return roles


def _departments(hospitals: Sequence[Hospital]):
    ids = [h.pk for h in hospitals]
    return (
        Department.objects.filter(is_active=True)
        .filter(Q(hospital_id__in=ids) | Q(hospital__parent_id__in=ids))
        .select_related("hospital", "base")
        .order_by("hospital__kind", "hospital__code", "code")
    )


def _bases(hospitals: Sequence[Hospital]):
    return (
        SpecialtyBase.objects.filter(is_active=True, hospital__in=hospitals)
        .select_related("hospital")
        .order_by("hospital__code", "code")
    )


def template_workbook(*, acting_user: User) -> bytes:
    """An empty account sheet, the instructions, and the departments and bases the file may name."""
    header_font = Font(bold=True, color="FFFFFF")
    required_fill = PatternFill("solid", fgColor="C0392B")
    optional_fill = PatternFill("solid", fgColor="5D6D7E")
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET_ACCOUNTS
    ws.append([c.header for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = header_font
        cell.fill = required_fill if column.required else optional_fill
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = {"id_number": 22, "roles": 24, "email": 24}.get(column.key, 14)
        if column.as_text:
            # Preformat the cells people fill in, so an ID number typed in stays text.
            for row in range(2, MAX_ROWS + 2):
                ws.cell(row=row, column=index).number_format = "@"
    ws.freeze_panes = "A2"

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
    _bold_row(help_ws, bold)
    for column in COLUMNS:
        help_ws.append([column.header, _("yes") if column.required else _("no"), str(column.help)])
    help_ws.append([])
    help_ws.append([_("Role"), _("Held in"), _("Other accepted names")])
    _bold_row(help_ws, bold)
    for role in importable_roles(acting_user):
        names = ROLE_NAMES[role]
        help_ws.append([names[0], str(ScopeKind(ROLE_SCOPE[role]).label), "、".join((*names[1:], role))])
    for row in help_ws.iter_rows():
        for cell in row:
            cell.alignment = wrap

    org_ws = wb.create_sheet(SHEET_ORG)
    hospitals = home_hospitals(acting_user)
    org_ws.append([_("Department code"), _("Department"), _("Hospital or site"), _("Specialty base")])
    _bold_row(org_ws, bold)
    for department in _departments(hospitals):
        _append_text(org_ws, [department.code, department.name, department.hospital.name, str(department.base or "")])
    org_ws.append([])
    org_ws.append([_("Base code"), _("Specialty base"), _("Hospital")])
    _bold_row(org_ws, bold)
    for base in _bases(hospitals):
        _append_text(org_ws, [base.code, base.name, base.hospital.name])
    for letter, width in zip("ABCD", (16, 24, 24, 24), strict=True):
        org_ws.column_dimensions[letter].width = width

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _append_text(ws, values: list[str]) -> None:
    """openpyxl writes any string starting with "=" as a formula; names from the database stay text."""
    ws.append(values)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _bold_row(ws, font: Font) -> None:
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
    """The non-empty rows of the first sheet as text, keyed by column; file-level problems raise."""
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
        ws = wb[SHEET_ACCOUNTS] if SHEET_ACCOUNTS in wb.sheetnames else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None) or ()
        positions = _header_positions(header)
        rows_read: list[RawRow] = []
        for number, cells in enumerate(rows, start=2):
            row = _raw_row(number, cells, positions)
            if row is None:
                continue
            if len(rows_read) >= MAX_ROWS:
                raise ImportFileError(
                    _("The workbook has more than %(n)d accounts; split it into smaller files.") % {"n": MAX_ROWS}
                )
            rows_read.append(row)
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(unreadable) from exc
    finally:
        wb.close()
    if not rows_read:
        raise ImportFileError(_("The workbook has no accounts to import below its header row."))
    return rows_read


def _header_key(text: Any) -> str | None:
    label = re.split(r"[(（]", str(text or ""))[0]
    label = re.sub(r"[\s*＊]", "", label)
    for column in COLUMNS:
        if label in (column.header, column.key):
            return column.key
    return None


def _header_positions(header: Iterable[Any]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, text in enumerate(header):
        key = _header_key(text)
        if key is None:
            continue  # extra columns (remarks, numbering) are allowed and ignored
        if key in positions:
            raise ImportFileError(_("The column %(column)s appears twice.") % {"column": COLUMN_BY_KEY[key].header})
        positions[key] = index
    missing = [c.header for c in COLUMNS if c.required and c.key not in positions]
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


# --- checking the rows -----------------------------------------------------------------------


class _OrgIndex:
    """Departments or bases by code and by name, inside the admin's hospitals."""

    def __init__(self, objects: Iterable[Department | SpecialtyBase]) -> None:
        self.by_code: dict[str, list] = defaultdict(list)
        self.by_name: dict[str, list] = defaultdict(list)
        for obj in objects:
            self.by_code[obj.code.casefold()].append(obj)
            self.by_name[obj.name.casefold()].append(obj)

    def find(self, text: str) -> list:
        key = text.casefold()
        return self.by_code.get(key) or self.by_name.get(key) or []


def _role_lookup() -> dict[str, str]:
    """Typed names, codes, and the role labels in the current language and in English."""
    lookup: dict[str, str] = {}
    for role, names in ROLE_NAMES.items():
        with translation.override("en"):
            english = str(role.label)
        for name in (*names, role.value, str(role.label), english):
            lookup[name.casefold()] = role
    return lookup


def validate_rows(raw_rows: Sequence[RawRow], *, acting_user: User) -> ImportPreview:
    """Check every cell; the result says for each row what is wrong, and where."""
    hospitals = home_hospitals(acting_user)
    departments = _OrgIndex(_departments(hospitals))
    bases = _OrgIndex(_bases(hospitals))
    grantable = set(importable_roles(acting_user))
    role_lookup = _role_lookup()

    rows = [CheckedRow(number=raw.number, _values=dict(raw.values)) for raw in raw_rows]
    for raw, row in zip(raw_rows, rows, strict=True):
        _check_cells(row, raw)
        _check_roles(row, role_lookup, grantable, departments, bases)
    _check_duplicates_in_file(rows)
    _check_existing(rows)
    return ImportPreview(rows=rows)


def _check_cells(row: CheckedRow, raw: RawRow) -> None:
    for column in COLUMNS:
        value = row.value(column.key)
        if column.required and not value:
            row.add_error(column.key, _("This cell is required."))
        elif column.max_length and len(value) > column.max_length:
            row.add_error(column.key, _("At most %(n)d characters.") % {"n": column.max_length})
    id_number = normalize_id_number(row.value("id_number"))
    row._values["id_number"] = id_number
    if "id_number" in raw.numeric:
        row.add_error(
            "id_number",
            _("Excel stored this ID number as a number and rounded it. Format the column as text and type it again."),
        )
    elif id_number and "id_number" not in row.errors:
        _collect(row, "id_number", validate_id_number, id_number)
    if row.value("phone") and "phone" not in row.errors:
        _collect(row, "phone", validate_phone, row.value("phone"))
    if row.value("email") and "email" not in row.errors:
        try:
            validate_email(row.value("email"))
        except ValidationError:
            row.add_error("email", _("Enter a valid email address."))
    username = row.username
    if username and not _USERNAME_RE.match(username):
        message = _("A username may contain only letters, digits and . _ - @ +.")
        if not row.value("username"):
            message = _("The staff number becomes the username, but %(message)s") % {"message": message}
        row.add_error("username", message)


def _collect(row: CheckedRow, key: str, validator, value: str) -> None:
    try:
        validator(value)
    except ValidationError as exc:
        for message in exc.messages:
            row.add_error(key, message)


def _check_roles(
    row: CheckedRow,
    role_lookup: dict[str, str],
    grantable: set[str],
    departments: _OrgIndex,
    bases: _OrgIndex,
) -> None:
    names = [n for n in _ROLE_SPLIT.split(row.value("roles")) if n]
    unknown = []
    for name in names:
        role = role_lookup.get(name.casefold())
        if name.casefold() in _RESIDENT_NAMES:
            row.add_error("roles", _("Residents register themselves; this import is for staff accounts."))
        elif role is None:
            unknown.append(name)
        elif role not in grantable:
            row.add_error("roles", _("Only a system administrator may grant the role %(role)s.") % {"role": name})
        elif role not in row.roles:
            row.roles.append(role)
    if unknown:
        row.add_error("roles", _("Unknown role: %(roles)s.") % {"roles": "、".join(unknown)})

    row.department = _resolve(
        row,
        "department",
        departments,
        unknown=_("No active department has this name or code; see the sheet %(sheet)s of the template."),
        ambiguous=_("Several departments have this name; use the department code."),
    )
    row.base = _resolve(
        row,
        "base",
        bases,
        unknown=_("No active specialty base has this name or code; see the sheet %(sheet)s of the template."),
        ambiguous=_("Several specialty bases have this name; use the base code."),
    )
    for key, kind, message in (
        ("department", ScopeKind.DEPARTMENT, _("%(roles)s is held in a department: name the department.")),
        ("base", ScopeKind.BASE, _("%(roles)s is held in a specialty base: name the base.")),
    ):
        needing = [
            n
            for n in names
            if role_lookup.get(n.casefold()) in row.roles and ROLE_SCOPE[role_lookup[n.casefold()]] == kind
        ]
        if needing and not row.value(key):
            row.add_error(key, message % {"roles": "、".join(needing)})


def _resolve(row: CheckedRow, key: str, index: _OrgIndex, *, unknown: str, ambiguous: str):
    text = row.value(key)
    if not text:
        return None
    found = index.find(text)
    if len(found) == 1:
        return found[0]
    row.add_error(key, ambiguous if found else unknown % {"sheet": SHEET_ORG})
    return None


def _check_duplicates_in_file(rows: Sequence[CheckedRow]) -> None:
    """Every row sharing a value is flagged, so "import the valid rows" never picks one at random."""
    flagged_numbers: set[int] = set()
    for key, normalise in (
        ("staff_number", str),
        ("id_number", normalize_id_number),
        ("username", str.casefold),
    ):
        seen: dict[str, list[CheckedRow]] = defaultdict(list)
        for row in rows:
            value = row.username if key == "username" else row.value(key)
            if value:
                seen[normalise(value)].append(row)
        for same in seen.values():
            if len(same) < 2:
                continue
            for row in same:
                if key == "username" and _derived_username(row) and row.number in flagged_numbers:
                    continue  # the staff number already carries this error
                others = ", ".join(str(r.number) for r in same if r is not row)
                row.add_error(key, _("The same value is in row %(rows)s of this file.") % {"rows": others})
                if key == "staff_number":
                    flagged_numbers.add(row.number)


def _derived_username(row: CheckedRow) -> bool:
    return not row.value("username")


def _check_existing(rows: Sequence[CheckedRow]) -> None:
    """Three queries for the whole file: staff numbers, ID digests, usernames (case-insensitive)."""
    numbers = {r.value("staff_number") for r in rows if r.value("staff_number")}
    digests = {crypto.digest(r.value("id_number")): r for r in rows if r.value("id_number")}
    usernames = {r.username.casefold() for r in rows if r.username}
    taken_numbers = set(User.objects.filter(staff_number__in=numbers).values_list("staff_number", flat=True))
    taken_digests = set(
        User.objects.filter(id_number_digest__in=list(digests)).values_list("id_number_digest", flat=True)
    )
    taken_usernames = set(
        User.objects.annotate(lowered=Lower("username")).filter(lowered__in=usernames).values_list("lowered", flat=True)
    )
    for row in rows:
        if row.value("staff_number") in taken_numbers:
            row.add_error("staff_number", _("An account with this staff number exists already."))
        if row.value("id_number") and crypto.digest(row.value("id_number")) in taken_digests:
            row.add_error("id_number", _("An account with this ID number exists already."))
        derived_and_flagged = _derived_username(row) and row.value("staff_number") in taken_numbers
        if row.username and row.username.casefold() in taken_usernames and not derived_and_flagged:
            row.add_error("username", _("This username is taken."))


# --- waiting between preview and confirm -----------------------------------------------------

_SESSION_KEY = "accounts.staff_import"


def pending_save(session, *, filename: str, rows: Sequence[RawRow]) -> str:
    """Park the rows in the session, encrypted: they hold ID numbers, and sessions sit in the database."""
    token = secrets.token_urlsafe(16)
    payload = json.dumps({"filename": filename, "rows": [r.to_json() for r in rows]}, ensure_ascii=False)
    session[_SESSION_KEY] = {"token": token, "saved_at": time.time(), "data": crypto.encrypt(payload)}
    return token


def pending_load(session, token: str) -> tuple[str, list[RawRow]] | None:
    """The parked rows for this token, or None when there are none, they expired or the token is stale."""
    pending = session.get(_SESSION_KEY)
    if not pending or not token or not secrets.compare_digest(str(pending.get("token", "")), token):
        return None
    if time.time() - float(pending.get("saved_at", 0)) > PENDING_TTL_SECONDS:
        pending_clear(session)
        return None
    plain = crypto.decrypt(pending.get("data", ""))
    if not plain:
        return None
    payload = json.loads(plain)
    return payload["filename"], [RawRow.from_json(r) for r in payload["rows"]]


def pending_clear(session) -> None:
    session.pop(_SESSION_KEY, None)


# --- writing ---------------------------------------------------------------------------------

#: No 0/O, 1/l/I: the office reads these out or writes them on paper.
_PASSWORD_ALPHABETS = (
    "abcdefghijkmnpqrstuvwxyz",
    "ABCDEFGHJKLMNPQRSTUVWXYZ",
    "23456789",
    "#@%+=?",
)


def initial_password(user: User | None = None) -> str:
    """A random password with every character class, so it passes any configured policy."""
    length = max(10, settings.PASSWORD_MIN_LENGTH)
    everything = "".join(_PASSWORD_ALPHABETS)
    for _attempt in range(20):
        chars = [secrets.choice(a) for a in _PASSWORD_ALPHABETS]
        chars += [secrets.choice(everything) for _position in range(length - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        try:
            validate_password(password, user)
        except ValidationError:
            continue
        return password
    raise RuntimeError("could not generate a password that passes AUTH_PASSWORD_VALIDATORS")


@transaction.atomic
def staff_import_commit(
    *, rows: Sequence[CheckedRow], acting_user: User, source: str = "", skipped: int = 0
) -> list[ImportedAccount]:
    """Create one active account per checked row, with its roles, all or nothing.

    Imported people get a random initial password and `must_change_password`, so the first
    sign-in leads straight to choosing their own (PasswordChangeRequiredMiddleware).
    """
    if not rows or any(not r.is_valid for r in rows):
        raise ValueError("staff_import_commit takes only rows that passed validate_rows()")
    hospitals = home_hospitals(acting_user)
    hospital = hospitals[0] if hospitals else None
    created: list[ImportedAccount] = []
    for row in rows:
        user = User(
            username=row.username,
            staff_number=row.value("staff_number"),
            real_name=row.value("real_name"),
            phone=row.value("phone"),
            email=row.value("email"),
            status=UserStatus.ACTIVE,
            must_change_password=True,
        )
        user.id_number = row.value("id_number")
        password = initial_password(user)
        user.set_password(password)
        user.save()
        for role in row.roles:
            scope = {
                ScopeKind.HOSPITAL: {"hospital": hospital},
                ScopeKind.BASE: {"base": row.base},
                ScopeKind.DEPARTMENT: {"department": row.department},
            }[ROLE_SCOPE[role]]
            role_assign(user=user, role=role, acting_user=acting_user, **scope)
        audit_record(
            action="account.import",
            target=user,
            acting_user=acting_user,
            changes={"status": [None, user.status], "id_number": [None, user.id_number], "phone": [None, user.phone]},
            staff_number=user.staff_number,
            roles=",".join(row.roles),
            row=row.number,
            source=source,
        )
        created.append(ImportedAccount(user=user, initial_password=password, roles=tuple(row.roles)))
    audit_record(
        action="account.import_batch",
        acting_user=acting_user,
        created=len(created),
        skipped=skipped,
        source=source,
    )
    return created
