"""`manage.py seed_demo`: a realistic demo hospital, the same after every run, with working demo logins."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q
from django.urls import reverse

from accounts.choices import Role, SiteKind, UserStatus
from accounts.demo import DEMO_PASSWORD
from accounts.models import Department, Hospital, RoleAssignment, SpecialtyBase, User
from accounts.services import REGISTRATION_WORKFLOW
from accounts.validators import validate_id_number
from approvals.models import ApprovalRequest
from approvals.selectors import inbox_for

pytestmark = pytest.mark.django_db


def _seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "hospitals": Hospital.objects.count(),
        "bases": SpecialtyBase.objects.count(),
        "departments": Department.objects.count(),
        "users": User.objects.count(),
        "role assignments": RoleAssignment.objects.count(),
        "approval requests": ApprovalRequest.objects.count(),
    }


def _people() -> list[tuple]:
    return list(
        User.objects.order_by("username").values_list(
            "username", "real_name", "id_number_digest", "phone", "staff_number", "password", "status"
        )
    )


def _holders(role: str) -> Count:
    return Count("role_assignments", filter=Q(role_assignments__role=role))


def test_running_it_twice_changes_nothing_and_creates_no_duplicates():
    first_output = _seed()
    counts, people = _counts(), _people()

    second_output = _seed()

    assert _counts() == counts
    assert _people() == people
    assert "up to date" not in first_output
    assert "accounts" in second_output and "up to date" in second_output


def test_it_builds_a_hospital_with_sites_bases_departments_and_three_cohorts():
    _seed()

    hospital = Hospital.objects.get(code="demo", kind=SiteKind.MAIN)
    assert hospital.name == "华东示范大学附属第一医院"
    assert hospital.sites.filter(kind=SiteKind.COLLABORATING).count() == 2
    assert Department.objects.filter(hospital__kind=SiteKind.COLLABORATING).exists()
    assert {"0100", "0900", "0200", "0700", "1600"} <= set(SpecialtyBase.objects.values_list("code", flat=True))
    assert SpecialtyBase.objects.count() >= 5
    assert Department.objects.count() >= 25
    assert Department.objects.get(hospital=hospital, code="CARD").base.code == "0100"
    assert Department.objects.get(hospital=hospital, code="ANGS").parent.code == "ANES"

    residents = RoleAssignment.objects.filter(role=Role.RESIDENT)
    assert residents.count() >= 140
    cohorts = {day.year for day in residents.values_list("valid_from", flat=True)}
    assert cohorts == {2023, 2024, 2025}
    assert set(residents.values_list("valid_from__month", "valid_from__day")) == {(9, 1)}
    assert residents.values("base").distinct().count() >= 5

    staffed = Department.objects.annotate(
        supervisors=_holders(Role.SUPERVISOR),
        secretaries=_holders(Role.TEACHING_SECRETARY),
        heads=_holders(Role.DEPARTMENT_HEAD),
        clerks=_holders(Role.ATTENDANCE_CLERK),
    )
    for department in staffed:
        assert 2 <= department.supervisors <= 3, department
        assert department.secretaries == department.heads == department.clerks == 1, department
    for base in SpecialtyBase.objects.all():
        roles = set(base.role_assignments.values_list("role", flat=True))
        assert {Role.BASE_DIRECTOR, Role.BASE_SECRETARY, Role.MENTOR} <= roles, base

    for user in User.objects.all():
        validate_id_number(user.id_number)
        assert re.fullmatch(r"1[3-9]\d{9}", user.phone), user.username
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", user.real_name), user.username


PERSONAS = {
    "resident": {(Role.RESIDENT, "0100")},
    "supervisor": {(Role.SUPERVISOR, "CARD")},
    "secretary": {(Role.TEACHING_SECRETARY, "CARD")},
    "head": {(Role.DEPARTMENT_HEAD, "CARD"), (Role.SUPERVISOR, "CARD")},
    "clerk": {(Role.ATTENDANCE_CLERK, "CARD")},
    "director": {(Role.BASE_DIRECTOR, "0100")},
    "office": {(Role.TRAINING_OFFICE, "demo")},
    "sysadmin": {(Role.SYSTEM_ADMIN, "demo")},
    "auditor": {(Role.AUDITOR, "demo")},
}


def test_the_personas_hold_their_roles_the_office_has_registrations_to_review_and_resident_signs_in(client):
    output = _seed()

    for username, expected in PERSONAS.items():
        user = User.objects.get(username=username, status=UserStatus.ACTIVE)
        held = {(a.role, a.scope_object.code) for a in user.role_assignments.all()}
        assert held == expected, username
        assert username in output
    resident = RoleAssignment.objects.get(user__username="resident")
    assert resident.valid_from.year == 2024

    office = User.objects.get(username="office")
    registrations = inbox_for(office).filter(workflow=REGISTRATION_WORKFLOW)
    assert registrations.count() >= 5  # beside leave, attendance and plans waiting for the office
    assert {r.submitter.status for r in registrations} == {UserStatus.PENDING}

    response = client.post(reverse("accounts:login"), {"username": "resident", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_another_password_resets_every_demo_account_and_a_weak_one_is_refused(client):
    _seed()
    _seed(password="Another#2026")

    response = client.post(reverse("accounts:login"), {"username": "head", "password": "Another#2026"})
    assert response.status_code == 302
    with pytest.raises(CommandError):
        _seed(password="password")
