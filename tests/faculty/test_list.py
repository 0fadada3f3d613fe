"""The faculty list: filters, pinyin search, sort, counts, and a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from faculty.choices import TeachingPostKind, Title
from faculty.models import SupervisorQualification, TeachingPost
from tests.factories.accounts import DepartmentFactory, UserFactory
from tests.faculty.conftest import FacultyProfileFactory, years_ago

pytestmark = pytest.mark.django_db

URL = "/faculty/"


@pytest.fixture
def staff(org, teacher, surgeon_profile, office):
    """张带教 (attending, qualified), 王刀 (associate chief, qualification expired), 欧阳明 (chief in a
    second 内科 department, never qualified, 教学主任), 陈小医 (住院医师 in cardiology, revoked)."""
    nephrology = DepartmentFactory(base=org.internal, code="NEPH", name="肾内科")
    ouyang = FacultyProfileFactory(
        user=UserFactory(username="ouyang", real_name="欧阳明", staff_number="T0099"),
        department=nephrology, title=Title.CHIEF, teaching_since=years_ago(12),
    )  # fmt: skip
    junior = FacultyProfileFactory(
        user=UserFactory(username="junior", real_name="陈小医", staff_number="T0100"),
        department=org.cardiology, title=Title.RESIDENT_PHYSICIAN, teaching_since=years_ago(1),
    )  # fmt: skip
    SupervisorQualification.objects.create(faculty=teacher, granted_on=years_ago(1), expires_on=years_ago(-2))
    SupervisorQualification.objects.create(faculty=surgeon_profile, granted_on=years_ago(5), expires_on=years_ago(2))
    SupervisorQualification.objects.create(
        faculty=junior, granted_on=years_ago(1), expires_on=years_ago(-2), revoked_on=years_ago(0, days=30)
    )
    TeachingPost.objects.create(faculty=ouyang, kind=TeachingPostKind.TEACHING_DIRECTOR, start_date=years_ago(3))
    TeachingPost.objects.create(  # held once, not now
        faculty=teacher, kind=TeachingPostKind.TEACHING_DIRECTOR, start_date=years_ago(5), end_date=years_ago(4)
    )
    return {"nephrology": nephrology, "ouyang": ouyang, "junior": junior}


def names(client, **params) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return [t.user.real_name for t in response.context["teachers"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"张带教", "王刀", "欧阳明", "陈小医"}),
        ({"title": Title.CHIEF}, {"欧阳明"}),
        ({"qualification": "valid"}, {"张带教"}),
        ({"qualification": "lapsed"}, {"王刀", "陈小医"}),
        ({"qualification": "never"}, {"欧阳明"}),
        ({"post": TeachingPostKind.TEACHING_DIRECTOR}, {"欧阳明"}),
        ({"q": "张"}, {"张带教"}),
        ({"q": "zdj"}, {"张带教"}),
        ({"q": "ZD"}, {"张带教"}),
        ({"q": "ym"}, {"欧阳明"}),
        ({"q": "T0100"}, {"陈小医"}),
        ({"q": "nobody"}, set()),
    ],
)
def test_the_office_filters_and_searches(client, office, staff, params, expected):
    client.force_login(office)
    assert set(names(client, **params)) == expected


def test_department_and_base_filters(client, office, org, staff):
    client.force_login(office)
    assert set(names(client, department=org.cardiology.pk)) == {"张带教", "陈小医"}
    assert set(names(client, base=org.internal.pk)) == {"张带教", "陈小医", "欧阳明"}
    assert set(names(client, base=org.surgery.pk)) == {"王刀"}


def test_a_department_the_user_cannot_see_is_not_offered(client, secretary, org, staff):
    client.force_login(secretary)
    response = client.get(URL)
    offered = list(response.context["filter"].form.fields["department"].queryset)
    assert offered == [org.cardiology]
    # asking for it anyway filters nothing in: the value is ignored and the list stays in scope
    assert set(names(client, department=org.general_surgery.pk)) == {"张带教", "陈小医"}


def test_the_counts_give_total_and_qualified_now(client, office, staff):
    client.force_login(office)
    response = client.get(URL)
    assert response.context["counts"] == {"total": 4, "qualified": 1}
    response = client.get(URL, {"base": response.context["filter"].form.fields["base"].queryset.get(code="0100").pk})
    assert response.context["counts"] == {"total": 3, "qualified": 1}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["陈小医", "欧阳明", "王刀", "张带教"]),  # by pinyin initials: cxy, oym, wd, zdj
        ("-name", ["张带教", "王刀", "欧阳明", "陈小医"]),
        ("-title", ["欧阳明", "王刀", "张带教", "陈小医"]),
        ("title", ["陈小医", "张带教", "王刀", "欧阳明"]),
        # 王刀 and 张带教 both started three years ago: the tie falls back to the name
        ("teaching_since", ["欧阳明", "王刀", "张带教", "陈小医"]),
        ("-teaching_since", ["陈小医", "王刀", "张带教", "欧阳明"]),
        ("department", ["陈小医", "张带教", "王刀", "欧阳明"]),  # CARD, GS, NEPH; then by name
    ],
)
def test_sorting_by_the_whitelisted_keys(client, office, staff, sort, expected):
    client.force_login(office)
    assert names(client, sort=sort) == expected


def test_an_unknown_sort_key_is_ignored(client, office, staff):
    client.force_login(office)
    assert len(names(client, sort="user__password")) == 4


def test_rows_show_department_title_and_qualification(client, office, staff, teacher):
    client.force_login(office)
    html = client.get(URL).content.decode()
    assert "心血管内科" in html and "肾内科" in html
    assert reverse("faculty:detail", args=[teacher.uuid]) in html
    assert years_ago(-2).strftime("%Y-%m-%d") in html  # 张带教 qualified until


def _teachers(org, n: int, start: int) -> None:
    for i in range(start, start + n):
        profile = FacultyProfileFactory(
            user=UserFactory(username=f"t{i}", real_name=f"教师{i}"), department=org.cardiology
        )
        SupervisorQualification.objects.create(faculty=profile, granted_on=years_ago(1), expires_on=years_ago(-2))
        TeachingPost.objects.create(faculty=profile, kind=TeachingPostKind.SUPERVISOR, start_date=years_ago(2))


def _count_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["office", "director"])
def test_the_number_of_queries_does_not_grow_with_the_number_of_teachers(client, org, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    _teachers(org, 3, 0)
    client.get(URL)  # warm up: the rule row, content types
    few = _count_queries(client)
    few_filtered = _count_queries(client, qualification="valid", q="js", sort="-title")
    _teachers(org, 27, 3)
    many = _count_queries(client)
    many_filtered = _count_queries(client, qualification="valid", q="js", sort="-title")
    response = client.get(URL)
    assert len(response.context["teachers"]) == 30
    assert many == few
    assert many_filtered == few_filtered


def test_the_list_pages_by_thirty(client, org, office):
    _teachers(org, 31, 0)
    client.force_login(office)
    response = client.get(URL)
    assert len(response.context["teachers"]) == 30 and response.context["counts"]["total"] == 31
    assert len(client.get(URL, {"page": 2}).context["teachers"]) == 1


def test_the_menu_and_the_list_offer_opening_an_archive_only_to_the_office(client, office, director, staff):
    client.force_login(office)
    assert reverse("faculty:create") in client.get(URL).content.decode()
    client.force_login(director)
    assert reverse("faculty:create") not in client.get(URL).content.decode()
