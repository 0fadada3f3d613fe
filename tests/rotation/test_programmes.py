"""Programmes as data: loading the shipped YAML, the checks the scheduler relies on, capacities."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Department
from rotation.choices import RequirementKind
from rotation.models import DepartmentMonth, DepartmentSetting, Programme, ProgrammeRequirement
from rotation.services import department_settings
from rotation.services import programmes as services
from tests.factories.accounts import DepartmentFactory, HospitalFactory, SpecialtyBaseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


# ---------------------------------------------------------------- load_programmes against the real YAML
def test_it_loads_the_programmes_of_the_hospitals_bases_and_creates_missing_departments(org, office, audit_events):
    report = services.load_programmes(org.hospital, acting_user=office)

    assert report.created == ["0900 外科", "0100 内科"]
    assert "0200" in report.not_offered  # 儿科: no such base in this hospital
    internal = Programme.objects.get(base=org.internal)
    assert (internal.total_months, internal.confirmed, internal.max_sites, internal.max_site_months) == (
        33,
        False,
        2,
        4,
    )
    surgery = Programme.objects.get(base=org.surgery)
    assert surgery.confirmed and surgery.max_site_departments == 3
    # existing departments are matched (CARD by code, 普通外科 by name), the others created in the main hospital
    first = internal.requirements.first()
    assert first.department == org.cardiology and first.months == 4 and first.position == 0
    assert surgery.requirements.first().department == org.general_surgery
    assert "呼吸内科" in report.departments_created and "骨科" in report.departments_created
    assert "心血管内科" not in report.departments_created and "普通外科" not in report.departments_created
    ortho = Department.objects.get(hospital=org.hospital, code="ORTH")
    assert (ortho.name, ortho.name_en, ortho.base) == ("骨科", "Orthopaedics", org.surgery)
    group = internal.requirements.get(kind=RequirementKind.ELECTIVE)
    assert (group.choose, group.months) == (1, 2)
    assert sorted(group.options.values_list("code", flat=True)) == ["DERM", "GERI", "IMAG", "ONCO", "PRIM"]
    assert internal.requirements.count() == 13
    # both add up: the scheduler may use them
    assert services.check_programme(internal) == [] and services.check_programme(surgery) == []
    assert sum(1 for e in audit_events if e["action"] == "rotation.programme_load") == 2
    assert any(e["action"] == "rotation.department_create" for e in audit_events)


def test_it_gives_every_programme_department_a_default_setting_with_two_per_supervisor_in_emergency(org):
    report = services.load_programmes(org.hospital)

    emergency = DepartmentSetting.objects.get(department__code="EMER")
    cardiology = DepartmentSetting.objects.get(department=org.cardiology)
    assert (emergency.capacity, emergency.residents_per_supervisor) == (10, 2)
    assert (cardiology.capacity, cardiology.residents_per_supervisor) == (10, 3)
    used = Department.objects.filter(hospital=org.hospital).exclude(pk=org.cardiology.pk)
    assert report.settings_created == used.count() + 1  # every department now in a programme


def test_loading_again_changes_nothing(org):
    services.load_programmes(org.hospital)
    counts = (Department.objects.count(), ProgrammeRequirement.objects.count(), DepartmentSetting.objects.count())

    report = services.load_programmes(org.hospital)

    assert report.created == [] and report.departments_created == [] and report.settings_created == 0
    assert report.kept == ["0900 外科", "0100 内科"]
    assert (
        Department.objects.count(),
        ProgrammeRequirement.objects.count(),
        DepartmentSetting.objects.count(),
    ) == counts


def test_replace_puts_back_the_default_requirements_and_keeps_the_programme(programme, org):
    programme_pk = programme.pk

    report = services.load_programmes(org.hospital, replace=True)

    assert report.replaced == ["0100 内科"] and report.created == ["0900 外科"]
    programme.refresh_from_db()
    assert programme.pk == programme_pk and programme.total_months == 33
    assert programme.requirements.count() == 13
    assert services.check_programme(programme) == []


def test_a_department_found_only_at_a_collaborating_site_is_used_there(org):
    infectious = DepartmentFactory(hospital=org.site, base=None, code="INFD", name="感染科")

    services.load_programmes(org.hospital)

    internal = Programme.objects.get(base=org.internal)
    assert internal.requirements.filter(department=infectious).exists()
    assert not Department.objects.filter(hospital=org.hospital, code="INFD").exists()
    assert services.check_programme(internal) == []  # 2 months at 1 site: within 内科's limits


def test_a_department_is_matched_by_its_alias(org):
    cardio = DepartmentFactory(base=org.internal, code="XNK", name="心内科")
    org.cardiology.delete()

    services.load_programmes(org.hospital)

    assert Programme.objects.get(base=org.internal).requirements.first().department == cardio


def test_sub_units_are_created_under_their_parent(org):
    anaesthesia = SpecialtyBaseFactory(hospital=org.hospital, code="1900", name="麻醉科")

    services.load_programmes(org.hospital)

    unit = Department.objects.get(hospital=org.hospital, code="ANGS")
    assert unit.parent.code == "ANES" and unit.base == anaesthesia
    assert services.check_programme(Programme.objects.get(base=anaesthesia)) == []


def test_the_command_prints_the_report_and_is_idempotent(org):
    out = StringIO()
    call_command("load_programmes", "--hospital", "demo", stdout=out)
    assert "Programmes created: 0900 外科、0100 内科." in out.getvalue()
    assert "Departments created in the main hospital:" in out.getvalue()

    again = StringIO()
    call_command("load_programmes", stdout=again)
    assert "Programmes already there, left alone: 0900 外科、0100 内科." in again.getvalue()
    assert "created" not in again.getvalue()


def test_the_command_rejects_an_unknown_hospital(org):
    with pytest.raises(CommandError, match="No hospital with code 'nowhere'"):
        call_command("load_programmes", "--hospital", "nowhere", stdout=StringIO())


# ---------------------------------------------------------------- check_programme
def test_the_fixture_programme_has_no_problems(programme):
    assert services.check_programme(programme) == []


def test_it_reports_a_broken_sum_rule(programme):
    programme.total_months = 8
    programme.save()
    assert services.check_programme(programme) == [
        "The requirements add up to 6 months, but the programme lasts 8 months."
    ]


def test_it_reports_a_group_with_fewer_options_than_residents_choose(programme):
    group = programme.requirements.get(kind=RequirementKind.ELECTIVE)
    group.choose = 3
    group.save()
    problems = services.check_programme(programme)
    assert "Elective group 1 offers 2 departments, but residents choose 3." in problems
    assert "The requirements add up to 8 months, but the programme lasts 6 months." in problems


def test_it_reports_a_department_named_twice(programme, internal_departments):
    group = programme.requirements.get(kind=RequirementKind.ELECTIVE)
    group.options.add(internal_departments["CARD"])
    assert "心血管内科 appears more than once." in services.check_programme(programme)


def test_it_reports_collaborating_site_limits(programme, org):
    site_a = DepartmentFactory(hospital=org.site, base=None, code="INFD", name="感染科")
    other_site = HospitalFactory(code="site2", name="协同二院", kind="collaborating", parent=org.hospital)
    site_b = DepartmentFactory(hospital=other_site, base=None, code="RHEU", name="风湿免疫科")
    for position, department in enumerate([site_a, site_b], start=10):
        ProgrammeRequirement.objects.create(programme=programme, position=position, department=department, months=2)
    programme.total_months, programme.max_site_months = 10, 3
    programme.max_site_departments, programme.max_sites = 1, 1
    programme.save()

    problems = services.check_programme(programme)

    assert "4 months at collaborating sites (at most 3)." in problems
    assert "2 departments at collaborating sites (at most 1)." in problems
    assert "2 collaborating sites (at most 1)." in problems


def test_it_reports_year_minimums_beyond_the_months_or_the_training_years(programme):
    cardiology = programme.requirements.get(department__code="CARD")
    cardiology.year_minimum = {"1": 2, "4": 1}
    cardiology.save()
    problems = services.check_programme(programme)
    assert "心血管内科: training year 4 does not exist (years 1 to 3)." in problems
    assert "心血管内科: 3 months are required in given training years, but it has only 2." in problems


def test_it_reports_a_programme_without_requirements(org):
    empty = Programme.objects.create(base=org.surgery, code="0900", name="外科", total_months=33)
    assert services.check_programme(empty) == ["The programme has no requirements yet."]


def test_programme_problems_checks_many_programmes_in_few_queries(programme, org, django_assert_max_num_queries):
    other = Programme.objects.create(base=org.surgery, code="0900", name="外科", total_months=1)
    ProgrammeRequirement.objects.create(programme=other, department=org.general_surgery, months=2)
    with django_assert_max_num_queries(4):
        problems = services.programme_problems([programme, other])
    assert problems[programme.pk] == []
    assert problems[other.pk] == ["The requirements add up to 2 months, but the programme lasts 1 months."]


# ---------------------------------------------------------------- capacities
def test_capacities_combine_settings_months_and_the_default(internal_departments, org, django_assert_num_queries):
    card, resp = internal_departments["CARD"], internal_departments["RESP"]
    bare = DepartmentFactory(base=org.internal, code="BARE", name="无设置科")
    DepartmentMonth.objects.create(department=card, month=date(2027, 2, 1), closed=True)
    DepartmentMonth.objects.create(department=card, month=date(2027, 3, 1), capacity=6)
    DepartmentMonth.objects.create(department=resp, month=date(2027, 1, 1), minimum=1)

    with django_assert_num_queries(2):
        result = department_settings.capacities([card, resp, bare], date(2027, 1, 15), 3)

    assert result[card.pk] == [(4, 0, False), (0, 0, True), (6, 0, False)]
    assert result[resp.pk] == [(4, 1, False), (4, 0, False), (4, 0, False)]
    assert result[bare.pk] == [(10, 0, False)] * 3


def test_department_capacity_answers_for_the_months_asked(internal_departments):
    card = internal_departments["CARD"]
    DepartmentMonth.objects.create(department=card, month=date(2027, 6, 1), capacity=2)
    assert department_settings.department_capacity(card, [date(2027, 6, 1), date(2027, 1, 1)]) == [
        (2, 0, False),
        (4, 0, False),
    ]
    assert department_settings.department_capacity(card, []) == []


def test_every_default_programme_adds_up_in_the_demo_organisation(db):
    """The demo hospital (accounts.demo) has every base and department of the file, some also at its sites."""
    from accounts.demo import load_programs, seed_org

    org = seed_org(load_programs())
    departments = Department.objects.count()

    report = services.load_programmes(org.hospital)

    assert len(report.created) == 8 and report.departments_created == []
    assert Department.objects.count() == departments
    problems = services.programme_problems(Programme.objects.all())
    assert problems == {p.pk: [] for p in Programme.objects.all()}
    # the main hospital's department comes first where a site has one of the same code
    infectious = Programme.objects.get(code="0100").requirements.get(department__code="INFD").department
    assert infectious.hospital == org.hospital


@pytest.mark.parametrize("persona", ["office", "sysadmin"])
def test_the_admin_lists_the_rotation_models(client, programme, request, persona):
    from django.urls import reverse

    client.force_login(request.getfixturevalue(persona))
    for model in ("programme", "departmentsetting", "departmentmonth", "departmentsupervisor", "preferencewindow",
                  "electivepreference", "rotationblock", "schedulerun", "schedulechange"):  # fmt: skip
        assert client.get(reverse(f"admin:rotation_{model}_changelist")).status_code == 200, model
    assert client.get(reverse("admin:rotation_programme_change", args=[programme.pk])).status_code == 200
