"""The resident list: who opens it, whose rows each person sees, filters, sort, counts, queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from residents.choices import TrainingCategory, TrainingStatus
from tests.conftest import _person
from tests.factories.accounts import DepartmentFactory, UserFactory
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db

URL = "residents:list"


def names(response) -> list[str]:
    return [r.user.real_name for r in response.context["residents"]]


def test_the_list_is_for_people_who_look_after_residents(client, archive_personas):
    expected = {
        "anonymous": LOGIN, "resident": 403, "other_resident": 403, "supervisor": 200, "other_supervisor": 200,
        "mentor": 200, "secretary": 200, "head": 200, "clerk": 403, "director": 200, "other_director": 200,
        "office": 200, "sysadmin": 403, "auditor": 403, "outsider": 403,
    }  # fmt: skip
    assert_access(client, archive_personas, expected, reverse(URL))


@pytest.mark.parametrize(
    "persona, expected",
    [
        ("supervisor", ["李住院"]),
        ("other_supervisor", []),
        ("mentor", ["李住院"]),
        ("secretary", ["李住院"]),
        ("head", ["李住院"]),
        ("director", ["李住院"]),
        ("other_director", ["王外科"]),
        ("office", ["李住院", "王外科"]),
    ],
)
def test_each_person_sees_only_the_residents_in_their_reach(client, archive_personas, persona, expected):
    client.force_login(archive_personas[persona])
    response = client.get(reverse(URL))
    assert sorted(names(response)) == expected
    assert response.context["total"] == len(expected)
    html = response.content.decode()
    for name in {"李住院", "王外科"} - set(expected):
        assert name not in html


def test_a_denied_visit_is_audited(client, archive_personas, audit_events):
    client.force_login(archive_personas["clerk"])
    assert client.get(reverse(URL)).status_code == 403
    assert any(e["action"] == "access.denied" and e["user"]["username"] == "clerk" for e in audit_events)


def test_a_row_shows_the_current_department_the_mentor_and_a_masked_phone(client, archive_personas, resident):
    client.force_login(archive_personas["office"])
    response = client.get(reverse(URL))
    html = response.content.decode()
    row = next(r for r in response.context["residents"] if r.user == resident)
    assert row.current_department.name == "心血管内科"
    assert "心血管内科" in html and "黄导师" in html
    assert resident.phone_masked in html
    assert resident.phone not in html
    assert resident.id_number not in html
    assert reverse("residents:detail", args=[row.uuid]) in html


def test_the_export_button_is_offered_only_to_those_who_may_export(client, archive_personas):
    for persona, offered in [("office", True), ("director", True), ("mentor", False), ("supervisor", False)]:
        client.force_login(archive_personas[persona])
        response = client.get(reverse(URL), {"status": "in_training", "sort": "name"})
        assert response.context["can_export"] is offered
        export = reverse("residents:export") + "?status=in_training&amp;sort=name"
        assert (export in response.content.decode()) is offered


# --- filters, search and sort (as the office, who sees everyone) ------------------------------------------


@pytest.fixture
def cohort_2023(org):
    """Three more residents with distinct attributes, so each filter has something to leave out."""
    today = timezone.localdate()
    icu = DepartmentFactory(base=org.internal, code="ICU", name="重症医学科")
    zhao = ResidentProfileFactory(
        user=UserFactory(real_name="赵延期", staff_number="R2023001"),
        base=org.internal,
        cohort=2023,
        status=TrainingStatus.EXTENDED,
        category=TrainingCategory.OWN,
        training_years=2,
        start_date=datetime.date(2023, 9, 1),
    )
    qian = ResidentProfileFactory(
        user=UserFactory(real_name="钱休学", staff_number="R2023002"),
        base=org.surgery,
        cohort=2023,
        status=TrainingStatus.SUSPENDED,
        category=TrainingCategory.MASTER,
        start_date=datetime.date(2023, 8, 20),
    )
    sun = ResidentProfileFactory(
        user=UserFactory(real_name="孙结业", staff_number="R2022009"),
        base=org.surgery,
        cohort=2022,
        status=TrainingStatus.COMPLETED,
        start_date=datetime.date(2022, 9, 1),
    )
    # 赵延期 rotated in the ICU twice (past and now): still listed once when filtering by it.
    past = {"start_date": datetime.date(2024, 1, 1), "end_date": datetime.date(2024, 2, 28)}
    RotationBlockFactory(resident=zhao, department=icu, **past)
    RotationBlockFactory(resident=zhao, department=icu, start_date=today, end_date=today + datetime.timedelta(days=30))
    RotationBlockFactory(resident=sun, department=org.general_surgery)
    return {"icu": icu, "zhao": zhao, "qian": qian, "sun": sun}


@pytest.fixture
def as_office(client, archive_personas, cohort_2023):
    client.force_login(archive_personas["office"])

    def get(**params):
        return client.get(reverse(URL), params)

    return get


def test_without_filters_the_office_sees_all_five(as_office):
    assert sorted(names(as_office())) == sorted(["李住院", "王外科", "赵延期", "钱休学", "孙结业"])


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"base": "internal"}, ["李住院", "赵延期"]),
        ({"base": "surgery"}, ["孙结业", "王外科", "钱休学"]),
        ({"cohort": "2023"}, ["赵延期", "钱休学"]),
        ({"status": "extended"}, ["赵延期"]),
        ({"category": "master"}, ["钱休学"]),
        ({"training_years": "2"}, ["赵延期"]),
        ({"department": "icu"}, ["赵延期"]),
        ({"department": "cardiology"}, ["李住院"]),
        ({"mentor": "mentor"}, ["李住院"]),
        ({"cohort": "2023", "base": "surgery"}, ["钱休学"]),
    ],
)
def test_each_filter_narrows_the_list(as_office, org, archive_personas, cohort_2023, params, expected):
    values = {
        "internal": org.internal.pk,
        "surgery": org.surgery.pk,
        "icu": cohort_2023["icu"].pk,
        "cardiology": org.cardiology.pk,
        "mentor": archive_personas["mentor"].pk,
    }
    response = as_office(**{k: values.get(v, v) for k, v in params.items()})
    assert sorted(names(response)) == sorted(expected)
    assert response.context["total"] == len(expected)


@pytest.mark.parametrize(
    "q, expected",
    [
        ("lzy", ["李住院"]),  # pinyin initials
        ("LZY", ["李住院"]),
        ("zy", ["李住院", "赵延期"]),  # initials contain: l-zy, zy-q
        ("住院", ["李住院"]),  # part of the name
        ("R2023", ["赵延期", "钱休学"]),  # staff number
        ("r2022009", ["孙结业"]),
        ("nobody", []),
    ],
)
def test_the_search_matches_names_pinyin_initials_and_numbers(as_office, q, expected):
    assert sorted(names(as_office(q=q))) == sorted(expected)


def test_the_filter_form_keeps_what_was_chosen(as_office, org):
    html = as_office(base=org.internal.pk, status="extended", sort="-cohort").content.decode()
    assert f'<option value="{org.internal.pk}" selected>内科</option>' in html
    assert '<option value="extended" selected>' in html
    assert '<option value="-cohort" selected>' in html
    assert '<option value="">专业基地</option>' in html  # the blank choice names the filter on a phone


def test_counts_cover_the_filtered_set_per_status(as_office, org):
    response = as_office(base=org.surgery.pk)
    counts = {value: n for value, _label, n in response.context["status_counts"]}
    assert counts == {"in_training": 1, "extended": 0, "suspended": 1, "withdrawn": 0, "completed": 1}
    assert response.context["total"] == 3
    assert response.context["paginator"].count == 3


def test_sort_orders_by_whitelisted_keys(as_office):
    assert names(as_office(sort="name")) == ["李住院", "钱休学", "孙结业", "王外科", "赵延期"]  # l q s w z
    assert [r.cohort for r in as_office(sort="cohort").context["residents"]] == [2022, 2023, 2023, 2024, 2025]
    assert [r.cohort for r in as_office(sort="-cohort").context["residents"]] == [2025, 2024, 2023, 2023, 2022]
    starts = [r.start_date for r in as_office(sort="-start").context["residents"]]
    assert starts == sorted(starts, reverse=True)
    statuses = [r.status for r in as_office(sort="status").context["residents"]]
    assert statuses == sorted(statuses)


@pytest.mark.parametrize("sort", ["user__password", "-user__id_number_encrypted", "1;drop", "--name", ""])
def test_an_unknown_sort_is_ignored(as_office, sort):
    response = as_office(sort=sort)
    assert response.status_code == 200
    assert names(response) == names(as_office())


def test_an_invalid_filter_value_shows_nothing_and_says_why(as_office):
    response = as_office(status="bogus")
    assert response.status_code == 200
    assert names(response) == []
    assert response.context["filter"].errors


def test_a_filter_outside_the_users_reach_still_shows_only_their_rows(client, archive_personas, org):
    client.force_login(archive_personas["director"])
    assert names(client.get(reverse(URL), {"base": org.surgery.pk})) == []


def test_the_list_pages_by_thirty(client, office, org):
    for i in range(35):
        ResidentProfileFactory(user=UserFactory(real_name=f"学员{i:02d}"), base=org.internal)
    client.force_login(office)
    first = client.get(reverse(URL))
    assert len(first.context["residents"]) == 30 and first.context["total"] == 35
    assert len(client.get(reverse(URL), {"page": 2}).context["residents"]) == 5


# --- queries ----------------------------------------------------------------------------------------------


def _residents(org, n: int, mentor) -> None:
    today = timezone.localdate()
    for i in range(n):
        profile = ResidentProfileFactory(
            user=UserFactory(real_name=f"学员{i}"), base=org.internal if i % 2 else org.surgery, mentor=mentor
        )
        dept = org.cardiology if i % 2 else org.general_surgery
        RotationBlockFactory(resident=profile, department=dept, start_date=today, end_date=today)
        RotationBlockFactory(resident=profile, department=dept)  # a past block, not shown


def _page_queries(client, **params) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(URL), params)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["residents"])


@pytest.mark.parametrize("persona", ["office", "director"])
def test_the_list_runs_the_same_number_of_queries_for_3_and_30_residents(
    client, org, request, persona, django_assert_max_num_queries
):
    user = request.getfixturevalue(persona)
    mentor = _person("mentor", "黄导师", Role.MENTOR, base=org.internal)
    client.force_login(user)
    _residents(org, 3, mentor)
    few, shown_few = _page_queries(client)
    searched_few, _ = _page_queries(client, q="xy", department=org.cardiology.pk, sort="name")
    _residents(org, 27, mentor)
    with django_assert_max_num_queries(20):
        many, shown_many = _page_queries(client)
    searched_many, _ = _page_queries(client, q="xy", department=org.cardiology.pk, sort="name")
    assert shown_many > shown_few
    assert many == few
    assert searched_many == searched_few
