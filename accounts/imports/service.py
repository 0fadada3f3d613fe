"""Parking the rows between preview and confirm, and creating the accounts."""

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from core import crypto
from core.audit import audit_record

from ..choices import ROLE_SCOPE, Role, ScopeKind, UserStatus
from ..models import User
from ..services import role_assign
from .scope import home_hospitals
from .validation import CheckedRow, SheetRow
from .workbook import RawRow

#: How long a previewed file waits for confirmation in the session.
PENDING_TTL_SECONDS = 3600


@dataclass(frozen=True)
class ImportedAccount:
    user: User
    #: shown once on the result page so the office can hand it out; never stored or logged in clear
    initial_password: str
    roles: tuple[str, ...]

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(r).label) for r in self.roles]


# --- waiting between preview and confirm -----------------------------------------------------

#: The staff import's place in the session; other imports pass their own `key`.
SESSION_KEY = "accounts.staff_import"


def pending_save(session, *, filename: str, rows: Sequence[RawRow], key: str = SESSION_KEY) -> str:
    """Park the rows in the session, encrypted: they hold ID numbers, and sessions sit in the database."""
    token = secrets.token_urlsafe(16)
    payload = json.dumps({"filename": filename, "rows": [r.to_json() for r in rows]}, ensure_ascii=False)
    session[key] = {"token": token, "saved_at": time.time(), "data": crypto.encrypt(payload)}
    return token


def pending_load(session, token: str, *, key: str = SESSION_KEY) -> tuple[str, list[RawRow]] | None:
    """The parked rows for this token, or None when there are none, they expired or the token is stale."""
    pending = session.get(key)
    if not pending or not token or not secrets.compare_digest(str(pending.get("token", "")), token):
        return None
    if time.time() - float(pending.get("saved_at", 0)) > PENDING_TTL_SECONDS:
        pending_clear(session, key=key)
        return None
    plain = crypto.decrypt(pending.get("data", ""))
    if not plain:
        return None
    payload = json.loads(plain)
    return payload["filename"], [RawRow.from_json(r) for r in payload["rows"]]


def pending_clear(session, *, key: str = SESSION_KEY) -> None:
    session.pop(key, None)


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


def account_from_row(row: SheetRow, *, username: str, staff_number: str) -> tuple[User, str]:
    """Save an active account for a checked row, with a random initial password; return both.

    `must_change_password` makes the first sign-in lead straight to choosing their own
    (PasswordChangeRequiredMiddleware); the password itself is shown once and never stored in clear.
    """
    user = User(
        username=username,
        staff_number=staff_number,
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
    return user, password


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
        user, password = account_from_row(row, username=row.username, staff_number=row.value("staff_number"))
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
