"""Who may open each faculty page: a matrix per view, fed with the personas of tests/conftest.py.

The teacher is 张带教 (心血管内科, 内科 base). Outside the scope a page does not exist (404); inside it,
an action the role may not take is a 403.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from faculty import services
from faculty.models import Achievement, TeachingPost
from tests.faculty.conftest import PDF, upload
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db

EVERYONE = ["anonymous", "resident", "other_resident", "supervisor", "secretary", "head", "clerk", "director",
            "other_director", "office", "sysadmin", "auditor", "outsider"]  # fmt: skip

#: Who sees 张带教's archive: herself, her department's secretary and head, her base's director, the office.
SEES_TEACHER = {
    "anonymous": LOGIN, "resident": 404, "other_resident": 404, "supervisor": 200, "secretary": 200, "head": 200,
    "clerk": 404, "director": 200, "other_director": 404, "office": 200, "sysadmin": 404, "auditor": 404,
    "outsider": 404,
}  # fmt: skip


def only(allowed: dict[str, int], base: dict = SEES_TEACHER) -> dict:
    """Everyone who sees the teacher gets a 403 except `allowed`; the rest keep their 404 / login."""
    return {name: allowed.get(name, 403 if code == 200 else code) for name, code in base.items()}


def test_the_list_is_for_the_office_the_bases_and_the_departments(client, faculty_personas):
    expected = {
        "anonymous": LOGIN, "resident": 403, "other_resident": 403, "supervisor": 403, "secretary": 200,
        "head": 200, "clerk": 403, "director": 200, "other_director": 200, "office": 200, "sysadmin": 403,
        "auditor": 403, "outsider": 403,
    }  # fmt: skip
    assert_access(client, faculty_personas, expected, reverse("faculty:list"))


@pytest.mark.parametrize(
    ("persona", "names"),
    [
        ("secretary", ["张带教"]),
        ("head", ["张带教"]),
        ("director", ["张带教"]),
        ("other_director", ["王刀"]),
        ("office", ["张带教", "王刀"]),
    ],
)
def test_each_manager_lists_only_the_teachers_in_their_reach(client, faculty_personas, persona, names):
    client.force_login(faculty_personas[persona])
    response = client.get(reverse("faculty:list"))
    assert sorted(t.user.real_name for t in response.context["teachers"]) == sorted(names)
    html = response.content.decode()
    for name in {"张带教", "王刀"} - set(names):
        assert name not in html


def test_the_teacher_page_is_seen_by_herself_her_department_her_base_and_the_office(client, faculty_personas, teacher):
    assert_access(client, faculty_personas, SEES_TEACHER, reverse("faculty:detail", args=[teacher.uuid]))


def test_a_surgeon_is_seen_by_the_surgery_base_and_the_office_only(client, faculty_personas, surgeon_profile):
    expected = {
        "anonymous": LOGIN, "resident": 404, "other_resident": 404, "supervisor": 404, "secretary": 404,
        "head": 404, "clerk": 404, "director": 404, "other_director": 200, "office": 200, "sysadmin": 404,
        "auditor": 404, "outsider": 404,
    }  # fmt: skip
    assert_access(client, faculty_personas, expected, reverse("faculty:detail", args=[surgeon_profile.uuid]))


def test_an_unknown_teacher_is_a_404_and_the_miss_is_audited(client, office, audit_events):
    client.force_login(office)
    url = reverse("faculty:detail", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(url).status_code == 404
    assert any(e["action"] == "access.not_found" for e in audit_events)


@pytest.mark.parametrize("name", ["faculty:edit", "faculty:qualify"])
def test_only_the_office_edits_and_grants(client, faculty_personas, teacher, name):
    assert_access(client, faculty_personas, only({"office": 200}), reverse(name, args=[teacher.uuid]))


def test_only_the_office_assesses(client, faculty_personas, teacher):
    url = reverse("faculty:assessment_add", args=[teacher.uuid])
    assert_access(client, faculty_personas, only({"office": 200}), url)


@pytest.mark.parametrize("name", ["faculty:training_add", "faculty:post_add", "faculty:achievement_add"])
def test_records_are_kept_by_the_office_the_department_and_the_base(client, faculty_personas, teacher, name):
    expected = only({"office": 200, "secretary": 200, "head": 200, "director": 200})
    assert_access(client, faculty_personas, expected, reverse(name, args=[teacher.uuid]))


def test_the_certificate_opens_for_whoever_sees_the_teacher(client, faculty_personas, teacher, office, media):
    training = services.training_add(
        profile=teacher, name="师资培训班", level="provincial", start_date=teacher.teaching_since,
        certificate=upload("证书.pdf", PDF), acting_user=office,
    )  # fmt: skip
    assert_access(client, faculty_personas, SEES_TEACHER, reverse("faculty:training_certificate", args=[training.uuid]))


def test_removing_a_record_is_for_record_keepers(client, faculty_personas, teacher, office):
    keepers = ("office", "secretary", "head", "director")

    def new_post():
        return services.post_add(profile=teacher, kind="teaching_director", start_date=teacher.teaching_since,
                                 acting_user=office)  # fmt: skip

    post = new_post()
    url = reverse("faculty:post_delete", args=[teacher.uuid, post.pk])
    others = {name: code for name, code in only({}).items() if name not in keepers}
    assert_access(client, faculty_personas, others, url, method="post")
    assert TeachingPost.objects.filter(pk=post.pk).exists()
    for keeper in keepers:
        post = new_post()
        url = reverse("faculty:post_delete", args=[teacher.uuid, post.pk])
        assert_access(client, faculty_personas, {keeper: 302}, url, method="post")
        assert not TeachingPost.objects.filter(pk=post.pk).exists(), keeper


def test_a_record_of_another_teacher_cannot_be_reached_through_this_teacher(
    client, faculty_personas, teacher, surgeon_profile, office
):
    achievement = services.achievement_add(profile=surgeon_profile, kind="award", title="优秀带教老师",
                                           date=surgeon_profile.teaching_since, acting_user=office)  # fmt: skip
    client.force_login(faculty_personas["director"])  # keeps 张带教's records, not 王刀's
    response = client.post(reverse("faculty:achievement_delete", args=[teacher.uuid, achievement.pk]))
    assert response.status_code == 404
    assert Achievement.objects.filter(pk=achievement.pk).exists()


def test_revoking_is_for_the_office(client, faculty_personas, teacher, office):
    qualification = services.qualification_grant(profile=teacher, acting_user=office)
    url = reverse("faculty:revoke", args=[qualification.uuid])
    assert_access(client, faculty_personas, only({"office": 200}), url)


def test_opening_an_archive_is_for_the_office(client, faculty_personas):
    expected = {name: 403 for name in EVERYONE} | {"anonymous": LOGIN, "office": 200}
    assert_access(client, faculty_personas, expected, reverse("faculty:create"))


def test_the_export_is_for_the_office_and_the_bases(client, faculty_personas):
    expected = {name: 403 for name in EVERYONE} | {
        "anonymous": LOGIN, "office": 200, "director": 200, "other_director": 200,
    }  # fmt: skip
    assert_access(client, faculty_personas, expected, reverse("faculty:export"))


def test_my_archive_leads_a_teacher_to_her_page_and_others_nowhere(client, faculty_personas, teacher):
    expected = {name: 404 for name in EVERYONE} | {"anonymous": LOGIN, "supervisor": 302}
    assert_access(client, faculty_personas, expected, reverse("faculty:mine"))
    client.force_login(faculty_personas["supervisor"])
    assert client.get(reverse("faculty:mine"))["Location"] == reverse("faculty:detail", args=[teacher.uuid])


def test_the_menu_shows_faculty_to_managers_and_my_archive_to_teachers(client, faculty_personas, surgeon):
    people = {**faculty_personas, "surgeon": surgeon}
    for persona, entries in [
        ("supervisor", {"faculty:mine"}),
        ("secretary", {"faculty:list"}),
        ("office", {"faculty:list"}),
        ("resident", set()),
        ("surgeon", {"faculty:mine"}),
    ]:
        client.force_login(people[persona])
        response = client.get(reverse("core:home"))
        urls = {item["url"] for item in response.context["nav_items"]}
        shown = {name for name in ("faculty:list", "faculty:mine") if reverse(name) in urls}
        assert shown == entries, persona


def test_the_menu_asks_the_database_about_an_archive_at_most_once(client, faculty_personas, teacher):
    client.force_login(faculty_personas["supervisor"])
    with CaptureQueriesContext(connection) as first:
        client.get(reverse("core:home"))
    with CaptureQueriesContext(connection) as later:
        client.get(reverse("core:home"))
    asked = [q["sql"] for q in first.captured_queries if "faculty_facultyprofile" in q["sql"]]
    assert len(asked) == 1
    assert not [q["sql"] for q in later.captured_queries if "faculty_facultyprofile" in q["sql"]]
    client.force_login(faculty_personas["resident"])  # no teaching role: never asked
    with CaptureQueriesContext(connection) as resident:
        client.get(reverse("core:home"))
    assert not [q["sql"] for q in resident.captured_queries if "faculty_facultyprofile" in q["sql"]]
