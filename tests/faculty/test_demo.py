"""The faculty demo seeder: every demo teacher gets an archive; running it again changes nothing."""

import pytest

from accounts.choices import Role
from accounts.demo import seed_accounts
from accounts.models import RoleAssignment, User
from faculty.demo import seed_faculty
from faculty.models import (
    Achievement,
    AnnualAssessment,
    FacultyProfile,
    FacultyTraining,
    SupervisorQualification,
    TeachingPost,
)
from faculty.selectors import has_faculty_profile

pytestmark = pytest.mark.django_db

MODELS = (FacultyProfile, SupervisorQualification, FacultyTraining, TeachingPost, AnnualAssessment, Achievement)


def _snapshot() -> dict:
    return {
        "counts": {m.__name__: m.objects.count() for m in MODELS},
        "profiles": list(
            FacultyProfile.objects.order_by("user__username").values_list(
                "user__username", "department__code", "title", "teaching_since", "name_initials"
            )
        ),
        "qualifications": list(
            SupervisorQualification.objects.order_by("faculty__user__username", "granted_on").values_list(
                "faculty__user__username", "granted_on", "expires_on", "revoked_on"
            )
        ),
    }


def test_every_demo_teacher_gets_an_archive_and_a_second_run_changes_nothing(mongo_db):
    seed_accounts()
    summary = seed_faculty()
    first = _snapshot()
    assert summary.startswith(f"+{first['counts']['FacultyProfile']} faculty archives")

    assert seed_faculty() == "up to date"
    assert _snapshot() == first

    teachers = set(
        RoleAssignment.objects.filter(
            role__in=(Role.SUPERVISOR, Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD, Role.BASE_DIRECTOR, Role.MENTOR)
        ).values_list("user_id", flat=True)
    )
    assert set(FacultyProfile.objects.values_list("user_id", flat=True)) == teachers
    counts = first["counts"]
    assert counts["SupervisorQualification"] > counts["FacultyProfile"] / 3
    assert counts["FacultyTraining"] >= counts["FacultyProfile"]
    assert counts["AnnualAssessment"] >= counts["FacultyProfile"]
    assert counts["Achievement"] > 0
    assert TeachingPost.objects.filter(kind="teaching_director").count() > 5
    titles = set(FacultyProfile.objects.values_list("title", flat=True))
    assert titles == {"resident", "attending", "associate_chief", "chief"}
    qualified = SupervisorQualification.objects.valid_on().values("faculty").distinct().count()
    lapsed = SupervisorQualification.objects.exclude(pk__in=SupervisorQualification.objects.valid_on()).count()
    assert qualified > counts["FacultyProfile"] / 3 and lapsed > 0

    # the demo personas: the supervisor is a qualified attending of 心血管内科 with a certificate to open
    supervisor = FacultyProfile.objects.get(user__username="supervisor")
    assert supervisor.department.code == "CARD" and supervisor.title == "attending"
    assert supervisor.qualifications.valid_on().exists()
    assert supervisor.trainings.exclude(certificate="").count() == 1
    head = FacultyProfile.objects.get(user__username="head")
    assert head.department.code == "CARD" and head.title in ("chief", "associate_chief")
    assert has_faculty_profile(User.objects.get(username="director"))
    assert not FacultyProfile.objects.filter(user__username__in=["office", "clerk", "resident"]).exists()
