"""Checking the admission list: every cell, the base and its quota, duplicates in the file and in the database."""

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl.utils.datetime import from_excel

from accounts.imports import (
    Column,
    ImportPreview,
    RawRow,
    SheetRow,
    check_cells,
    existing_id_digests,
    mark_duplicates,
)
from accounts.models import SpecialtyBase, User
from accounts.validators import normalize_id_number
from core import crypto

from ..choices import Gender
from ..models import EnrollmentBatch
from .columns import (
    CATEGORY_NAMES,
    COLUMNS,
    DEFAULT_TRAINING_YEARS,
    DEGREE_NAMES,
    EDUCATION_NAMES,
    GENDER_NAMES,
    NO_NAMES,
    SHEET_HELP,
    TRAINING_YEARS,
    YES_NAMES,
)
from .selectors import QuotaLine, quota_lines


@dataclass
class EnrollmentRow(SheetRow):
    """One admitted resident after the checks, with the typed words turned into choices."""

    base: SpecialtyBase | None = None
    gender: str = ""
    birth_date: date | None = None
    category: str = ""
    training_years: int = DEFAULT_TRAINING_YEARS
    education_level: str = ""
    degree: str = ""
    graduation_date: date | None = None
    fresh_graduate: bool = False

    columns: ClassVar[tuple[Column, ...]] = COLUMNS


def enrollment_preview(rows: list[EnrollmentRow]) -> ImportPreview:
    return ImportPreview(rows=rows, columns=COLUMNS)  # type: ignore[arg-type]


def validate_rows(raw_rows: Sequence[RawRow], *, batch: EnrollmentBatch) -> ImportPreview:
    """Check every cell against this batch; the result says for each row what is wrong, and where.

    The quota comes last: only rows that are otherwise valid take places, in file order, so
    "import the valid rows" imports exactly the rows within the quota.
    """
    lines = quota_lines(batch)
    in_batch = _BaseIndex(line.base for line in lines)
    elsewhere = _BaseIndex(SpecialtyBase.objects.filter(hospital_id=batch.hospital_id, is_active=True))
    lookups = {
        "gender": _lookup(GENDER_NAMES),
        "category": _lookup(CATEGORY_NAMES),
        "education_level": _lookup(EDUCATION_NAMES),
        "degree": _lookup(DEGREE_NAMES),
    }

    rows = [EnrollmentRow(number=raw.number, _values=dict(raw.values)) for raw in raw_rows]
    for raw, row in zip(raw_rows, rows, strict=True):
        check_cells(row, raw, COLUMNS)
        _check_choices(row, lookups)
        _check_identity(row)
        _check_training(row, raw, in_batch, elsewhere, batch)
    mark_duplicates(rows, "id_number", normalise=normalize_id_number)
    mark_duplicates(rows, "phone")
    _check_existing(rows)
    _check_quota(rows, lines)
    return enrollment_preview(rows)


# --- the words people type -------------------------------------------------------------------


def _lookup(names: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Typed names, codes, and the labels in the current language and in English."""
    lookup: dict[str, str] = {}
    for choice, typed in names.items():
        with translation.override("en"):
            english = str(choice.label)
        for name in (*typed, choice.value, str(choice.label), english):
            lookup[name.casefold()] = choice.value
    return lookup


def _check_choices(row: EnrollmentRow, lookups: dict[str, dict[str, str]]) -> None:
    messages = {
        "gender": _("Write 男 or 女."),
        "category": _("Write 本单位人, 委培单位人, 社会人 or 专硕研究生."),
        "education_level": _("Write 专科, 本科, 硕士研究生 or 博士研究生."),
        "degree": _("Write 无, 学士, 硕士 or 博士."),
    }
    for key, lookup in lookups.items():
        text = row.value(key)
        if not text or key in row.errors:
            continue
        choice = lookup.get(text.casefold())
        if choice is None:
            row.add_error(key, messages[key])
        else:
            setattr(row, key, choice)

    text = row.value("fresh_graduate")
    if text:
        folded = text.casefold()
        if folded in {n.casefold() for n in YES_NAMES}:
            row.fresh_graduate = True
        elif folded not in {n.casefold() for n in NO_NAMES}:
            row.add_error("fresh_graduate", _("Write 是 or 否."))


def _check_identity(row: EnrollmentRow) -> None:
    """Birth date and gender come from a valid ID number; a typed gender must agree with it."""
    id_number = row.value("id_number")
    if not id_number or "id_number" in row.errors:
        return
    row.birth_date = birth_date_of(id_number)
    from_id = gender_of(id_number)
    if row.gender and row.gender != from_id:
        row.add_error(
            "gender",
            _("The ID number belongs to a person of gender %(gender)s.") % {"gender": Gender(from_id).label},
        )
    row.gender = from_id


def birth_date_of(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def gender_of(id_number: str) -> str:
    """The 17th character of a resident ID number is odd for men, even for women (GB 11643)."""
    return Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE


# --- base, category, years, dates ------------------------------------------------------------


class _BaseIndex:
    """Bases by code and by name."""

    def __init__(self, bases: Iterable[SpecialtyBase]) -> None:
        self.by_code: dict[str, list[SpecialtyBase]] = defaultdict(list)
        self.by_name: dict[str, list[SpecialtyBase]] = defaultdict(list)
        for base in bases:
            self.by_code[base.code.casefold()].append(base)
            self.by_name[base.name.casefold()].append(base)

    def find(self, text: str) -> list[SpecialtyBase]:
        key = text.casefold()
        return self.by_code.get(key) or self.by_name.get(key) or []


_YEARS_RE = re.compile(r"^(\d+)\s*年?$")


def _check_training(
    row: EnrollmentRow, raw: RawRow, in_batch: _BaseIndex, elsewhere: _BaseIndex, batch: EnrollmentBatch
) -> None:
    text = row.value("base")
    if text and "base" not in row.errors:
        found = in_batch.find(text)
        if len(found) == 1:
            row.base = found[0]
        elif found:
            row.add_error("base", _("Several bases of this batch have this name; use the base code."))
        elif elsewhere.find(text):
            row.add_error(
                "base",
                _("This specialty base has no quota in this batch; see the sheet %(sheet)s of the template.")
                % {"sheet": SHEET_HELP},
            )
        else:
            row.add_error(
                "base",
                _("No specialty base has this name or code; see the sheet %(sheet)s of the template.")
                % {"sheet": SHEET_HELP},
            )

    if row.category == "entrusted" and not row.value("sending_unit"):
        row.add_error("sending_unit", _("A resident entrusted by a sending unit needs the sending unit."))

    years = row.value("training_years")
    if years and "training_years" not in row.errors:
        match = _YEARS_RE.match(years)
        if match and int(match.group(1)) in TRAINING_YEARS:
            row.training_years = int(match.group(1))
        else:
            row.add_error("training_years", _("Training lasts 1, 2 or 3 years."))

    text = row.value("graduation_date")
    if text and "graduation_date" not in row.errors:
        day = parse_date_cell(text, numeric="graduation_date" in raw.numeric)
        if day is None:
            row.add_error("graduation_date", _("Write a date such as 2026-06-30, or a month such as 2026-06."))
        elif not 1950 <= day.year <= batch.year + 1:
            row.add_error("graduation_date", _("This graduation date is not plausible."))
        else:
            row.graduation_date = day


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?$")


def parse_date_cell(text: str, *, numeric: bool = False) -> date | None:
    """A date as people type it in Excel or WPS: 2026-06-30, 2026/6/30, 2026年6月, 20260630, or an Excel date."""
    text = text.strip()
    if "T" in text:  # a date cell read by openpyxl: 2026-06-30T00:00:00
        text = text.split("T", 1)[0]
    try:
        if text.isdigit():
            if len(text) == 8:
                return date(int(text[:4]), int(text[4:6]), int(text[6:]))
            if len(text) == 6:
                return date(int(text[:4]), int(text[4:]), 1)
            if numeric and len(text) == 5:
                return from_excel(int(text)).date()
            return None
        match = _DATE_RE.match(text)
        if not match:
            return None
        year, month, day = match.groups()
        return date(int(year), int(month), int(day or 1))
    except (ValueError, OverflowError, TypeError):
        return None


# --- the database and the quota ----------------------------------------------------------------


def _check_existing(rows: Sequence[EnrollmentRow]) -> None:
    """Two queries for the whole file: is the ID number taken, and is its owner enrolled already."""
    taken = existing_id_digests(r.value("id_number") for r in rows if "id_number" not in r.errors)
    if not taken:
        return
    enrolled = set(
        User.objects.filter(id_number_digest__in=list(taken), resident_profile__isnull=False).values_list(
            "id_number_digest", flat=True
        )
    )
    for row in rows:
        if "id_number" in row.errors or not row.value("id_number"):
            continue
        digest = crypto.digest(row.value("id_number"))
        if digest in enrolled:
            row.add_error("id_number", _("This person is in the database and enrolled already."))
        elif digest in taken:
            row.add_error(
                "id_number",
                _(
                    "An account with this ID number is in the database already. "
                    "If the person registered themselves, accept the registration on the batch page."
                ),
            )


def _check_quota(rows: Sequence[EnrollmentRow], lines: Sequence[QuotaLine]) -> None:
    """Otherwise valid rows take the remaining places of their base in file order; the rest are marked."""
    by_base = {line.base.pk: line for line in lines}
    taken: Counter[int] = Counter()
    for row in rows:
        if not row.is_valid or row.base is None:
            continue
        line = by_base[row.base.pk]
        taken[line.base.pk] += 1
        if taken[line.base.pk] > line.remaining:
            row.add_error(
                "base",
                _(
                    "Beyond the quota of %(base)s: %(quota)d places, %(enrolled)d enrolled already, "
                    "%(remaining)d left for the rows above."
                )
                % {
                    "base": line.base.name,
                    "quota": line.quota,
                    "enrolled": line.enrolled,
                    "remaining": line.remaining,
                },
            )
