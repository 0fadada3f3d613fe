"""Checking the rows: every cell, the roles and org units, duplicates in the file and in the database."""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils import translation
from django.utils.translation import gettext as _

from core import crypto
from core.masking import mask_id_number, mask_phone

from ..choices import ROLE_SCOPE, Role, ScopeKind
from ..models import Department, SpecialtyBase, User
from ..validators import normalize_id_number, validate_id_number, validate_phone
from .columns import COLUMNS, ROLE_NAMES, SHEET_ORG, Column
from .scope import _bases, _departments, home_hospitals, importable_roles
from .workbook import RawRow

_RESIDENT_NAMES = {"住院医师", "住培学员", "学员", Role.RESIDENT.value}
_ROLE_SPLIT = re.compile(r"[、,，;；/\s]+")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]+$")


@dataclass(frozen=True)
class PreviewCell:
    column: Column
    display: str
    errors: tuple[str, ...]


@dataclass
class SheetRow:
    """A row after the checks. The clear values sit in `_values`, which templates cannot reach.

    Each import subclasses it with its own `columns`; the preview shows `cells`, identifiers
    masked on the server and errors next to their cell.
    """

    number: int
    _values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    #: the columns of the preview, in order
    columns: ClassVar[tuple[Column, ...]] = ()
    masks: ClassVar[dict[str, Callable[[str], str]]] = {"id_number": mask_id_number, "phone": mask_phone}

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def value(self, key: str) -> str:
        return self._values.get(key, "")

    def add_error(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def display(self, key: str) -> str:
        raw = self._values.get(key, "")
        mask = self.masks.get(key)
        return mask(raw) if mask and raw else raw

    @property
    def cells(self) -> list[PreviewCell]:
        """What the preview shows: identifiers masked on the server, errors next to their cell."""
        return [
            PreviewCell(column, self.display(column.key), tuple(self.errors.get(column.key, ())))
            for column in self.columns
        ]


@dataclass
class CheckedRow(SheetRow):
    roles: list[str] = field(default_factory=list)
    department: Department | None = None
    base: SpecialtyBase | None = None

    columns: ClassVar[tuple[Column, ...]] = COLUMNS

    @property
    def username(self) -> str:
        return self._values.get("username") or self._values.get("staff_number", "")

    def display(self, key: str) -> str:
        if key == "username" and not self._values.get(key):
            return self.username
        return super().display(key)


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

    def confirm_refusal(self, *, valid_only: bool) -> str | None:
        """Why confirming imports nothing, or None: every row is valid, or the office chose the valid ones."""
        if not self.valid_count:
            return _("Nothing was imported: no row is valid.")
        if self.error_count and not valid_only:
            return _(
                "Nothing was imported: %(errors)d rows have errors. Correct the file and upload it again, "
                "or choose to import only the valid rows."
            ) % {"errors": self.error_count}
        return None


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


def check_cells(row: SheetRow, raw: RawRow, columns: Sequence[Column]) -> None:
    """Required cells, lengths, and the ID number, phone and email of the row when those columns exist."""
    keys = {c.key for c in columns}
    for column in columns:
        value = row.value(column.key)
        if column.required and not value:
            row.add_error(column.key, _("This cell is required."))
        elif column.max_length and len(value) > column.max_length:
            row.add_error(column.key, _("At most %(n)d characters.") % {"n": column.max_length})
    if "id_number" in keys:
        id_number = normalize_id_number(row.value("id_number"))
        row._values["id_number"] = id_number
        if "id_number" in raw.numeric:
            row.add_error(
                "id_number",
                _(
                    "Excel stored this ID number as a number and rounded it. "
                    "Format the column as text and type it again."
                ),
            )
        elif id_number and "id_number" not in row.errors:
            collect_errors(row, "id_number", validate_id_number, id_number)
    if "phone" in keys and row.value("phone") and "phone" not in row.errors:
        collect_errors(row, "phone", validate_phone, row.value("phone"))
    if "email" in keys and row.value("email") and "email" not in row.errors:
        try:
            validate_email(row.value("email"))
        except ValidationError:
            row.add_error("email", _("Enter a valid email address."))


def _check_cells(row: CheckedRow, raw: RawRow) -> None:
    check_cells(row, raw, COLUMNS)
    username = row.username
    if username and not _USERNAME_RE.match(username):
        message = _("A username may contain only letters, digits and . _ - @ +.")
        if not row.value("username"):
            message = _("The staff number becomes the username, but %(message)s") % {"message": message}
        row.add_error("username", message)


def collect_errors(row: SheetRow, key: str, validator: Callable[[str], None], value: str) -> None:
    """Run a Django validator and put its messages on the cell."""
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


def mark_duplicates(
    rows: Sequence[SheetRow],
    key: str,
    *,
    normalise: Callable[[str], str] = str,
    value: Callable[[SheetRow], str] | None = None,
    skip: Callable[[SheetRow], bool] | None = None,
) -> set[int]:
    """Flag every row sharing a value of `key` with another row; the numbers of the flagged rows.

    Every one of them is flagged, so "import the valid rows" never picks one at random.
    """
    seen: dict[str, list[SheetRow]] = defaultdict(list)
    for row in rows:
        text = value(row) if value else row.value(key)
        if text:
            seen[normalise(text)].append(row)
    flagged: set[int] = set()
    for same in seen.values():
        if len(same) < 2:
            continue
        for row in same:
            if skip is not None and skip(row):
                continue
            others = ", ".join(str(r.number) for r in same if r is not row)
            row.add_error(key, _("The same value is in row %(rows)s of this file.") % {"rows": others})
            flagged.add(row.number)
    return flagged


def _check_duplicates_in_file(rows: Sequence[CheckedRow]) -> None:
    flagged_numbers = mark_duplicates(rows, "staff_number")
    mark_duplicates(rows, "id_number", normalise=normalize_id_number)
    mark_duplicates(
        rows,
        "username",
        normalise=str.casefold,
        value=lambda row: row.username,
        # the staff number already carries this error
        skip=lambda row: _derived_username(row) and row.number in flagged_numbers,
    )


def _derived_username(row: CheckedRow) -> bool:
    return not row.value("username")


def _check_existing(rows: Sequence[CheckedRow]) -> None:
    """Three queries for the whole file: staff numbers, ID digests, usernames (case-insensitive)."""
    numbers = {r.value("staff_number") for r in rows if r.value("staff_number")}
    usernames = {r.username.casefold() for r in rows if r.username}
    taken_numbers = set(User.objects.filter(staff_number__in=numbers).values_list("staff_number", flat=True))
    taken_digests = existing_id_digests(r.value("id_number") for r in rows)
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


def existing_id_digests(id_numbers: Iterable[str]) -> set[str]:
    """The digests of those ID numbers some account already has, in one query."""
    digests = {crypto.digest(v) for v in id_numbers if v}
    if not digests:
        return set()
    return set(User.objects.filter(id_number_digest__in=list(digests)).values_list("id_number_digest", flat=True))
