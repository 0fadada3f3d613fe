"""Programme pages: the office edits, base managers read their own base's programme, nobody else sees one."""

import pytest
from django.urls import reverse

from rotation.choices import RequirementKind
from rotation.models import Programme, ProgrammeRequirement
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

EVERYONE_ELSE = [
    "resident",
    "other_resident",
    "supervisor",
    "secretary",
    "head",
    "clerk",
    "sysadmin",
    "auditor",
    "outsider",
]


def edit_data(programme: Programme, **fields) -> dict:
    """The edit form as the browser posts it, with the stored requirements and two empty extra rows."""
    data = {
        "programme-name": programme.name,
        "programme-total_months": programme.total_months,
        "programme-source": programme.source,
        "programme-max_sites": programme.max_sites or "",
        "programme-max_site_departments": programme.max_site_departments or "",
        "programme-max_site_months": programme.max_site_months or "",
    }
    if programme.confirmed:
        data["programme-confirmed"] = "on"
    requirements = list(programme.requirements.all())
    for i, r in enumerate(requirements):
        data.update(
            {
                f"req-{i}-id": r.pk,
                f"req-{i}-position": r.position,
                f"req-{i}-kind": r.kind,
                f"req-{i}-department": r.department_id or "",
                f"req-{i}-options": [o.pk for o in r.options.all()],
                f"req-{i}-months": r.months,
                f"req-{i}-choose": r.choose,
                f"req-{i}-max_runs": r.max_runs,
                f"req-{i}-year_minimum": ", ".join(f"{y}:{m}" for y, m in r.year_minimum.items()),
            }
        )
    for i in range(len(requirements), len(requirements) + 2):  # the browser posts the empty rows' defaults
        data |= {f"req-{i}-position": 0, f"req-{i}-kind": "mandatory", f"req-{i}-choose": 1, f"req-{i}-max_runs": 1}
    data.update(
        {
            "req-TOTAL_FORMS": len(requirements) + 2,
            "req-INITIAL_FORMS": len(requirements),
            "req-MIN_NUM_FORMS": 0,
            "req-MAX_NUM_FORMS": 1000,
        }
    )
    data.update(fields)
    return data


# ---------------------------------------------------------------- who may open what
def test_list_permissions(client, personas, programme):
    expected = {"anonymous": LOGIN, "office": 200, "director": 200, "other_director": 200}
    expected |= {name: 403 for name in EVERYONE_ELSE}
    assert_access(client, personas, expected, reverse("rotation:programme_list"))


def test_detail_permissions(client, personas, programme):
    expected = {"anonymous": LOGIN, "office": 200, "director": 200, "other_director": 404}
    expected |= {name: 404 for name in EVERYONE_ELSE}
    assert_access(client, personas, expected, reverse("rotation:programme_detail", args=[programme.uuid]))


def test_edit_permissions(client, personas, programme):
    expected = {"anonymous": LOGIN, "office": 200, "director": 403, "other_director": 404}
    expected |= {name: 404 for name in EVERYONE_ELSE}
    url = reverse("rotation:programme_edit", args=[programme.uuid])
    assert_access(client, personas, expected, url)
    assert_access(client, personas, {**expected, "office": 302}, url, method="post", data=edit_data(programme))


def test_create_permissions(client, personas, programme, org):
    expected = {"anonymous": LOGIN, "office": 200, "other_director": 403, "director": 404}
    expected |= {name: 404 for name in EVERYONE_ELSE}
    assert_access(client, personas, expected, reverse("rotation:programme_create", args=[org.surgery.uuid]))


def test_load_permissions(client, personas, org):
    expected = {"anonymous": LOGIN, "director": 403, "other_director": 403} | {name: 403 for name in EVERYONE_ELSE}
    url = reverse("rotation:programme_load")
    assert_access(client, personas, expected, url, method="post")
    assert not Programme.objects.exists()
    assert_access(client, personas, {"office": 405}, url)  # GET does nothing


# ---------------------------------------------------------------- what they see
def test_the_list_shows_each_base_with_its_problems(login, office, programme, org):
    programme.total_months = 7
    programme.save()
    page = login(office).get(reverse("rotation:programme_list")).content.decode()
    assert "内科" in page and "1 problem" in page
    assert reverse("rotation:programme_create", args=[org.surgery.uuid]) in page  # 外科 has none yet
    assert 'data-testid="load-form"' in page


def test_a_base_director_sees_only_their_base_and_cannot_load(
    login, director, programme, org, django_assert_max_num_queries
):
    client = login(director)
    with django_assert_max_num_queries(25):  # constant: the page's own queries plus navigation and badges
        page = client.get(reverse("rotation:programme_list")).content.decode()
    assert "内科" in page and "外科" not in page and 'data-testid="load-form"' not in page
    detail = client.get(reverse("rotation:programme_detail", args=[programme.uuid])).content.decode()
    assert "肾内科" in detail and reverse("rotation:programme_edit", args=[programme.uuid]) not in detail


def test_the_detail_shows_requirements_groups_limits_and_problems(login, office, programme):
    cardiology = programme.requirements.get(department__code="CARD")
    cardiology.year_minimum = {"1": 1}
    cardiology.save()
    programme.max_site_months = 4
    programme.total_months = 9
    programme.save()
    page = login(office).get(reverse("rotation:programme_detail", args=[programme.uuid])).content.decode()
    assert page.count('data-testid="mandatory-row"') == 3 and page.count('data-testid="group-row"') == 1
    assert "Choose 1, 1 months each" in page and "year 1: ≥ 1" in page and "0 / 4" in page
    assert "The requirements add up to 6 months, but the programme lasts 9 months." in page


def test_the_office_loads_the_default_programmes(login, office, org, audit_events):
    response = login(office).post(reverse("rotation:programme_load"), follow=True)
    assert "Programmes created: 0900 外科、0100 内科." in response.content.decode()
    assert Programme.objects.count() == 2
    again = login(office).post(reverse("rotation:programme_load"), follow=True).content.decode()
    assert "Programmes already there, left alone" in again and Programme.objects.count() == 2


def test_the_office_creates_an_empty_programme_then_adds_requirements(login, office, org):
    client = login(office)
    response = client.post(
        reverse("rotation:programme_create", args=[org.surgery.uuid]),
        {"programme-name": "x", "name": "外科", "total_months": 3, "source": ""},
    )
    programme = Programme.objects.get(base=org.surgery)
    assert response.url == reverse("rotation:programme_edit", args=[programme.uuid])
    assert (programme.code, programme.total_months) == ("0900", 3)

    data = edit_data(programme)
    data |= {
        "req-0-position": 0,
        "req-0-kind": "mandatory",
        "req-0-department": org.general_surgery.pk,
        "req-0-months": 3,
    }
    response = client.post(reverse("rotation:programme_edit", args=[programme.uuid]), data, follow=True)
    assert "The programme was saved." in response.content.decode()
    assert services_check(programme) == []
    # a second create goes to the existing programme
    again = client.get(reverse("rotation:programme_create", args=[org.surgery.uuid]))
    assert again.url == reverse("rotation:programme_detail", args=[programme.uuid])


def services_check(programme):
    from rotation.services.programmes import check_programme

    return check_programme(programme)


# ---------------------------------------------------------------- editing
def test_the_office_edits_months_adds_a_group_and_deletes_a_requirement(
    login, office, programme, internal_departments, audit_events
):
    d = internal_departments
    gast = programme.requirements.get(department=d["GAST"])
    data = edit_data(programme)
    index = {v: k.split("-")[1] for k, v in data.items() if k.endswith("-id")}
    data[f"req-{index[gast.pk]}-DELETE"] = "on"
    cardiology = programme.requirements.get(department=d["CARD"])
    data[f"req-{index[cardiology.pk]}-months"] = 3
    data[f"req-{index[cardiology.pk]}-year_minimum"] = "1:2"
    data |= {"req-4-position": 10, "req-4-kind": "elective", "req-4-months": 1, "req-4-choose": 1,
             "req-4-options": [d["GAST"].pk, d["RESP"].pk], "req-4-department": ""}  # fmt: skip
    # the new group names 呼吸内科 again: saved, with the problem shown
    response = login(office).post(reverse("rotation:programme_edit", args=[programme.uuid]), data, follow=True)

    page = response.content.decode()
    assert "The programme was saved." in page
    assert "呼吸内科 appears more than once." in page
    assert not ProgrammeRequirement.objects.filter(pk=gast.pk).exists()
    cardiology.refresh_from_db()
    assert (cardiology.months, cardiology.year_minimum) == (3, {"1": 2})
    group = programme.requirements.filter(kind=RequirementKind.ELECTIVE).get(position=10)
    assert set(group.options.all()) == {d["GAST"], d["RESP"]}
    event = next(e for e in audit_events if e["action"] == "rotation.programme_update")
    assert event["changes"]["requirements"] == {"added": 1, "removed": 1, "saved": 3}


def test_breaking_the_sum_rule_is_saved_with_the_problem_shown(login, office, programme):
    response = login(office).post(
        reverse("rotation:programme_edit", args=[programme.uuid]),
        edit_data(programme, **{"programme-total_months": 12}),
        follow=True,
    )
    page = response.content.decode()
    assert "The programme was saved." in page
    assert "The requirements add up to 6 months, but the programme lasts 12 months." in page
    programme.refresh_from_db()
    assert programme.total_months == 12


def test_bad_input_saves_nothing_and_keeps_what_was_typed(login, office, programme, internal_departments):
    data = edit_data(programme, **{"programme-name": "内科（新）"})
    data |= {"req-4-position": 5, "req-4-kind": "mandatory", "req-4-department": "", "req-4-months": 2}  # no department
    data["req-0-year_minimum"] = "first year: two"
    data |= {"req-5-position": 6, "req-5-kind": "elective", "req-5-months": 1, "req-5-choose": 1}  # no options

    response = login(office).post(reverse("rotation:programme_edit", args=[programme.uuid]), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved: please correct the marked fields." in page
    assert "Choose the department of a mandatory requirement." in page
    assert "Choose the departments residents pick from." in page
    assert "Write the months per training year as" in page
    assert 'value="内科（新）"' in page and 'value="first year: two"' in page
    programme.refresh_from_db()
    assert programme.name == "内科" and programme.requirements.count() == 4


def test_a_training_year_outside_one_to_three_is_refused(login, office, programme):
    data = edit_data(programme)
    data["req-0-year_minimum"] = "4:1"
    page = login(office).post(reverse("rotation:programme_edit", args=[programme.uuid]), data).content.decode()
    assert "Training year 4 does not exist: use 1, 2 or 3." in page


def test_options_outside_the_hospital_are_refused(login, office, programme, org):
    from tests.factories.accounts import DepartmentFactory, HospitalFactory, SpecialtyBaseFactory

    elsewhere = DepartmentFactory(base=SpecialtyBaseFactory(hospital=HospitalFactory(code="other")), name="外院科")
    data = edit_data(programme)
    data["req-3-options"] = [elsewhere.pk]
    page = login(office).post(reverse("rotation:programme_edit", args=[programme.uuid]), data).content.decode()
    assert "Select a valid choice" in page
    assert not programme.requirements.filter(options=elsewhere).exists()


def test_the_edit_page_reads_the_departments_once(login, office, programme, django_assert_max_num_queries):
    client = login(office)
    url = reverse("rotation:programme_edit", args=[programme.uuid])
    with django_assert_max_num_queries(22):
        page = client.get(url).content.decode()
    assert page.count('data-testid="requirement-form"') == 6 and page.count(">肾内科</option>") == 12
