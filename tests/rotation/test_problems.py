"""Building the scheduler's problem from the database: windows, requirements, electives,
capacities, re-planning pins, leave pins and the entry <-> schedule round trip."""

import datetime

import pytest

from residents.models import ResidentProfile
from rotation.models import DepartmentMonth, ElectivePreference, ScheduleRun
from rotation.scheduling.problem import FREE, LEAVE, month_index
from rotation.services.problems import (
    build_problem,
    entries_from_schedule,
    pins,
    schedule_from_blocks,
    schedule_from_entries,
)
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

TODAY = datetime.date(2026, 11, 15)


def _build(org, residents=None, replan=False, today=TODAY):
    residents = residents if residents is not None else ResidentProfile.objects.all()
    return build_problem(hospital=org.hospital, residents=residents, replan=replan, today=today)


def test_windows_requirements_and_electives_follow_the_programme(
    org, programme, internal_departments, resident_profile
):
    problem, index = _build(org)

    assert index.residents == [resident_profile.pk]
    resident = problem.residents[0]
    assert resident.start == month_index(datetime.date(2025, 9, 1))
    assert resident.length == 36  # 2025-09 … 2028-08 inclusive
    assert problem.first_month == resident.start and problem.horizon == 36
    d = internal_departments
    by_id = {index.departments[r.department]: r.months for r in resident.requirements}
    assert by_id == {d["CARD"].pk: 2, d["RESP"].pk: 2, d["GAST"].pk: 1}
    (group,) = resident.electives
    assert group.choose == 1 and group.months_each == 1
    assert {index.departments[o] for o in group.options} == {d["NEPH"].pk, d["ENDO"].pk}
    # without a ranking the default preference is the options' order
    assert resident.preferences == (group.options,)
    assert resident.pinned == {} and resident.previous == {}
    assert index.warnings == []


def test_a_ranking_orders_the_preferences(org, programme, internal_departments, resident_profile):
    group = programme.requirements.get(kind="elective")
    d = internal_departments
    ElectivePreference.objects.create(resident=resident_profile, requirement=group, department=d["ENDO"], rank=1)
    ElectivePreference.objects.create(resident=resident_profile, requirement=group, department=d["NEPH"], rank=2)

    problem, index = _build(org)

    (ranked,) = problem.residents[0].preferences
    assert [index.departments[i] for i in ranked] == [d["ENDO"].pk, d["NEPH"].pk]


def test_capacities_come_from_settings_and_month_exceptions(org, programme, internal_departments, resident_profile):
    d = internal_departments
    DepartmentMonth.objects.create(department=d["RESP"], month=datetime.date(2026, 2, 1), closed=True)
    DepartmentMonth.objects.create(department=d["GAST"], month=datetime.date(2026, 3, 1), capacity=1, minimum=1)

    problem, index = _build(org)

    resp, gast = index.department_index[d["RESP"].pk], index.department_index[d["GAST"].pk]
    assert problem.cap(resp, month_index(datetime.date(2026, 1, 1))) == 4
    assert problem.cap(resp, month_index(datetime.date(2026, 2, 1))) == 0
    assert problem.cap(gast, month_index(datetime.date(2026, 3, 1))) == 1
    assert problem.minimum[gast][month_index(datetime.date(2026, 3, 1)) - problem.first_month] == 1


def test_other_residents_blocks_take_places_off_the_capacity(org, programme, internal_departments, resident_profile):
    outsider_profile = ResidentProfileFactory(base=org.internal, cohort=2024)
    RotationBlockFactory(
        resident=outsider_profile,
        department=org.cardiology,
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 2, 28),
    )

    problem, index = _build(org, ResidentProfile.objects.filter(pk=resident_profile.pk))

    card = index.department_index[org.cardiology.pk]
    assert problem.cap(card, month_index(datetime.date(2026, 1, 1))) == 3
    assert problem.cap(card, month_index(datetime.date(2026, 3, 1))) == 4


def test_replanning_pins_started_blocks_in_full_and_keeps_future_ones_as_previous(
    org, programme, internal_departments, resident_profile
):
    d = internal_departments
    RotationBlockFactory(
        resident=resident_profile,
        department=d["CARD"],
        start_date=datetime.date(2026, 10, 1),
        end_date=datetime.date(2026, 12, 31),  # started: pinned through December, not cut at today
    )
    RotationBlockFactory(
        resident=resident_profile,
        department=d["RESP"],
        start_date=datetime.date(2027, 1, 1),
        end_date=datetime.date(2027, 2, 28),
    )

    problem, index = _build(org, replan=True)

    resident = problem.residents[0]
    card, resp = index.department_index[d["CARD"].pk], index.department_index[d["RESP"].pk]
    oct_, nov, dec = (month_index(datetime.date(2026, m, 1)) for m in (10, 11, 12))
    assert resident.pinned == {oct_: card, nov: card, dec: card}
    jan, feb = month_index(datetime.date(2027, 1, 1)), month_index(datetime.date(2027, 2, 1))
    assert resident.previous[jan] == resp and resident.previous[feb] == resp
    assert resident.previous[month_index(datetime.date(2027, 3, 1))] == FREE
    assert oct_ not in resident.previous

    plain, _index = _build(org, replan=False)
    assert plain.residents[0].pinned == {} and plain.residents[0].previous == {}


def test_residents_without_a_usable_programme_are_left_out_with_a_warning(
    org, programme, internal_departments, resident_profile, other_profile
):
    problem, index = _build(org)

    assert index.residents == [resident_profile.pk]
    (warning,) = index.warnings
    assert warning["kind"] == "excluded" and warning["resident"] == other_profile.pk
    assert warning["reason"] == "no_programme"


def test_a_programme_with_problems_excludes_its_residents(org, programme, internal_departments, resident_profile):
    group = programme.requirements.get(kind="elective")
    group.choose = 3  # more than the two options
    group.save()

    problem, index = _build(org)

    assert problem.residents == []
    assert index.warnings[0]["reason"] == "programme_problems" and index.warnings[0]["detail"]


def test_registered_leave_pins_win_over_blocks(org, programme, internal_departments, resident_profile):
    def leave(resident_ids, first_month, count):
        assert first_month == datetime.date(2025, 9, 1) and count == 36
        return {resident_ids[0]: {3: LEAVE}}  # 2025-12

    pins.register(leave)
    try:
        problem, _index = _build(org)
    finally:
        pins.unregister(leave)

    assert problem.residents[0].pinned == {month_index(datetime.date(2025, 12, 1)): LEAVE}


def test_entries_and_blocks_round_trip_to_the_same_schedule(
    org, programme, internal_departments, resident_profile, office
):
    problem, index = _build(org)
    d = internal_departments
    card, gast = index.department_index[d["CARD"].pk], index.department_index[d["GAST"].pk]
    schedule = [[FREE] * 36]
    schedule[0][0:2] = [card, card]
    schedule[0][5] = gast
    schedule[0][6] = LEAVE
    run = ScheduleRun.objects.create(hospital=org.hospital, created_by=office)

    entries = entries_from_schedule(run, problem, index, schedule)
    assert len(entries) == 36
    assert entries[0].department_id == d["CARD"].pk and entries[0].month == datetime.date(2025, 9, 1)
    assert entries[6].kind == "leave" and entries[3].kind == "free"
    for entry in entries:
        entry.save()
    assert schedule_from_entries(index, run.entries.all(), problem) == schedule
    assert schedule_from_entries(index, run.entries.all()) == schedule

    block = RotationBlockFactory(
        resident=resident_profile,
        department=d["CARD"],
        start_date=datetime.date(2025, 9, 1),
        end_date=datetime.date(2025, 10, 31),
    )
    from_blocks = schedule_from_blocks(index, [block], problem)
    assert from_blocks[0][:3] == [card, card, FREE]
