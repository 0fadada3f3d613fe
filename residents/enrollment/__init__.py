"""Enrollment (录取): batches with quotas per base, the admission-list import, accepting registrations.

The import follows the staff import (accounts.imports) and reuses its parts: reading a
sheet into raw rows, the per-cell checks, the encrypted parking of the rows in the session
between preview and confirm, and the initial passwords shown once. Nothing is written until
the office confirms; the confirm step checks the rows again, under a lock on the batch.
"""

from .columns import COLUMNS, MAX_ROWS, SHEET_HELP, SHEET_ROSTER
from .selectors import (
    PendingRegistration,
    QuotaLine,
    batch_residents,
    enrolled_counts,
    pending_registrations,
    quota_lines,
)
from .service import (
    BatchClosed,
    EnrolledResident,
    EnrollmentError,
    QuotaExceeded,
    batch_open,
    batch_toggle,
    batch_update,
    enrollment_import_commit,
    planned_end_date,
    registrations_accept,
)
from .validation import EnrollmentRow, parse_date_cell, validate_rows
from .workbook import read_roster, template_workbook

__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "SHEET_HELP",
    "SHEET_ROSTER",
    "BatchClosed",
    "EnrolledResident",
    "EnrollmentError",
    "EnrollmentRow",
    "PendingRegistration",
    "QuotaExceeded",
    "QuotaLine",
    "batch_open",
    "batch_residents",
    "batch_toggle",
    "batch_update",
    "enrolled_counts",
    "enrollment_import_commit",
    "parse_date_cell",
    "pending_registrations",
    "planned_end_date",
    "quota_lines",
    "read_roster",
    "registrations_accept",
    "template_workbook",
    "validate_rows",
]
