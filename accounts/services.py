"""Writes to accounts: registration, activation, roles, reveals. Each audits what it changes."""

from datetime import date

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from approvals.services import approval_submit
from core.audit import audit_record

from .choices import Role, UserStatus
from .models import RoleAssignment, SpecialtyBase, User

REGISTRATION_WORKFLOW = "accounts.registration"


@transaction.atomic
def registration_submit(
    *,
    username: str,
    password: str,
    real_name: str,
    id_number: str,
    phone: str,
    email: str,
    base: SpecialtyBase,
) -> User:
    """An applicant registers; the account stays pending until the training office approves it."""
    user = User(
        username=username,
        real_name=real_name,
        phone=phone,
        email=email,
        status=UserStatus.PENDING,
        applied_base=base,
    )
    user.id_number = id_number
    validate_password(password, user)
    user.set_password(password)
    user.save()
    audit_record(action="account.register", target=user, acting_user=user, changes={"status": [None, user.status]})
    approval_submit(
        workflow=REGISTRATION_WORKFLOW,
        target=user,
        title=f"{real_name} · {base.name}",
        acting_user=user,
        subject=user,
        base=base,
        hospital=base.hospital,
    )
    return user


def registration_approved(*, request, acting_user: User) -> None:
    user: User = request.target
    user_activate(user=user, acting_user=acting_user)
    if user.applied_base_id:
        role_assign(user=user, role=Role.RESIDENT, base=user.applied_base, acting_user=acting_user)


def registration_rejected(*, request, acting_user: User) -> None:
    user: User = request.target
    old = user.status
    user.status = UserStatus.DISABLED
    user.save(update_fields=["status", "is_active"])
    audit_record(action="account.reject", target=user, acting_user=acting_user, changes={"status": [old, user.status]})


def user_activate(*, user: User, acting_user: User) -> User:
    old = user.status
    user.status = UserStatus.ACTIVE
    user.save(update_fields=["status", "is_active"])
    audit_record(
        action="account.activate", target=user, acting_user=acting_user, changes={"status": [old, user.status]}
    )
    return user


@transaction.atomic
def role_assign(
    *,
    user: User,
    role: str,
    acting_user: User | None,
    hospital=None,
    base=None,
    department=None,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> RoleAssignment:
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user,
        role=role,
        hospital=hospital,
        base=base,
        department=department,
        valid_until=valid_until,
        defaults={"valid_from": valid_from or timezone.localdate(), "granted_by": acting_user},
    )
    if created:
        audit_record(
            action="role.assign",
            target=user,
            acting_user=acting_user,
            changes={"role": [None, f"{role}@{assignment.scope_object}"]},
        )
    return assignment


def id_number_reveal(*, user: User, subject: User) -> str:
    """Only the roles in REVEAL_ROLES see a full ID number, and each look is audited (ASVS 8.3.5)."""
    audit_record(action="pii.reveal", target=subject, acting_user=user, field="id_number")
    return subject.id_number


def password_set(*, user: User, password: str) -> None:
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    audit_record(action="auth.password_set", target=user, acting_user=user)
