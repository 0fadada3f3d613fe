"""The teacher's page: archive, roles held, residents supervised, the timeline, and a masked phone."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from faculty import services
from faculty.models import AnnualAssessment
from tests.factories.accounts import RoleAssignmentFactory
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.faculty.conftest import years_ago

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "clear"),
    [("supervisor", True), ("office", True), ("secretary", False), ("head", False), ("director", False)],
)
def test_the_phone_is_masked_except_for_the_office_and_the_teacher(client, faculty_personas, teacher, persona, clear):
    client.force_login(faculty_personas[persona])
    html = client.get(reverse("faculty:detail", args=[teacher.uuid])).content.decode()
    phone = teacher.user.phone
    assert (phone in html) is clear
    assert teacher.user.phone_masked in html or clear
    assert teacher.user.id_number not in html


def test_the_page_counts_residents_supervised_now_and_in_total(client, office, org, teacher, supervisor):
    today = timezone.localdate()
    now_a, now_b, before = (ResidentProfileFactory(base=org.internal) for _ in range(3))
    RotationBlockFactory(
        resident=now_a,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today - datetime.timedelta(days=10),
        end_date=today + datetime.timedelta(days=50),
    )
    RotationBlockFactory(
        resident=now_b,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today,
        end_date=today + datetime.timedelta(days=30),
    )
    RotationBlockFactory(
        resident=before,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today - datetime.timedelta(days=200),
        end_date=today - datetime.timedelta(days=100),
    )
    RotationBlockFactory(
        resident=now_a,
        department=org.cardiology,
        supervisor=supervisor,  # the same resident again
        start_date=today - datetime.timedelta(days=400),
        end_date=today - datetime.timedelta(days=300),
    )
    RotationBlockFactory(resident=before, department=org.cardiology, supervisor=None,
                         start_date=today, end_date=today + datetime.timedelta(days=30))  # fmt: skip
    client.force_login(office)
    response = client.get(reverse("faculty:detail", args=[teacher.uuid]))
    assert (response.context["supervision"].now, response.context["supervision"].total) == (2, 3)
    # rotation's timeline source rolls the supervision up on the page
    assert sum(1 for e in response.context["timeline"] if e.kind == "supervision") == 4


def test_the_page_shows_the_teaching_roles_held_and_the_timeline_of_records(client, office, org, teacher, supervisor):
    RoleAssignmentFactory(user=supervisor, role=Role.MENTOR, base=org.internal, valid_from=years_ago(2))
    RoleAssignmentFactory(user=supervisor, role=Role.TEACHING_SECRETARY, department=org.cardiology,
                          valid_from=years_ago(6), valid_until=years_ago(4))  # fmt: skip
    services.training_add(profile=teacher, name="教学查房规范化培训", level="hospital", start_date=years_ago(2),
                          acting_user=office)  # fmt: skip
    services.post_add(profile=teacher, kind="teaching_director", start_date=years_ago(1), acting_user=office)
    services.achievement_add(profile=teacher, kind="paper", title="PBL在带教中的应用", date=years_ago(1),
                             acting_user=office)  # fmt: skip
    services.qualification_grant(profile=teacher, acting_user=office)
    AnnualAssessment.objects.create(faculty=teacher, year=2024, result="pass")

    client.force_login(office)
    response = client.get(reverse("faculty:detail", args=[teacher.uuid]))

    roles = {(r.role, r.valid_until is None) for r in response.context["roles"]}
    assert roles == {(Role.SUPERVISOR, True), (Role.MENTOR, True), (Role.TEACHING_SECRETARY, False)}
    kinds = {e.kind for e in response.context["timeline"]}
    assert {"training", "post", "achievement", "qualification", "assessment"} <= kinds
    html = response.content.decode()
    assert "教学查房规范化培训" in html and "PBL在带教中的应用" in html
    days = [e.day for e in response.context["timeline"]]
    assert days == sorted(days, reverse=True)


def test_a_revoked_qualification_shows_on_the_timeline(client, office, teacher):
    qualification = services.qualification_grant(profile=teacher, acting_user=office)
    services.qualification_revoke(qualification=qualification, reason="停诊", acting_user=office)
    client.force_login(office)
    entries = client.get(reverse("faculty:detail", args=[teacher.uuid])).context["timeline"]
    assert [e.icon for e in entries if e.kind == "qualification"].count("patch-minus") == 1


def test_buttons_follow_what_the_viewer_may_do(client, faculty_personas, teacher):
    urls = {
        "edit": reverse("faculty:edit", args=[teacher.uuid]),
        "qualify": reverse("faculty:qualify", args=[teacher.uuid]),
        "records": reverse("faculty:training_add", args=[teacher.uuid]),
        "assess": reverse("faculty:assessment_add", args=[teacher.uuid]),
    }
    offered = {
        "office": {"edit", "qualify", "records", "assess"},
        "director": {"records"},
        "secretary": {"records"},
        "supervisor": set(),
    }
    for persona, expected in offered.items():
        client.force_login(faculty_personas[persona])
        html = client.get(reverse("faculty:detail", args=[teacher.uuid])).content.decode()
        assert {name for name, url in urls.items() if url in html} == expected, persona


def test_user_input_is_escaped(client, office, teacher):
    services.achievement_add(profile=teacher, kind="other", title="<script>alert(1)</script>", date=years_ago(1),
                             acting_user=office)  # fmt: skip
    client.force_login(office)
    html = client.get(reverse("faculty:detail", args=[teacher.uuid])).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
