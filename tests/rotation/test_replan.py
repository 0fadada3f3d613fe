"""Re-planning after a long leave: the resident on leave moves, everybody else keeps their published months."""

import datetime

import pytest

from rotation.choices import EntryKind, RunScope, RunStatus
from rotation.models import ScheduleEntry
from rotation.scheduling.problem import LEAVE, month_index
from rotation.services import runs
from rotation.services.problems import pins, validate_entries
from tests.factories.residents import ResidentProfileFactory

pytestmark = pytest.mark.django_db

START = datetime.date(2027, 3, 1)
END = datetime.date(2028, 2, 29)
LEAVE_MONTHS = [datetime.date(2027, m, 1) for m in (4, 5, 6, 7)]


@pytest.fixture
def cohort(org, programme, resident_profile):
    resident_profile.start_date, resident_profile.planned_end_date = START, END
    resident_profile.save()
    return [resident_profile] + [
        ResidentProfileFactory(base=org.internal, start_date=START, planned_end_date=END) for _ in range(5)
    ]


def _generate(office, org, captured) -> object:
    with captured(execute=True):
        run = runs.start_run(hospital=org.hospital, scope=RunScope.HOSPITAL, time_limit=10, acting_user=office)
    run.refresh_from_db()
    assert run.status == RunStatus.DRAFT, (run.message, run.explanation)
    return run


def _months(run) -> dict[int, dict[datetime.date, int | None]]:
    result: dict[int, dict] = {}
    for resident_id, month, department_id in run.entries.values_list("resident_id", "month", "department_id"):
        result.setdefault(resident_id, {})[month] = department_id
    return result


def test_a_long_leave_moves_only_the_resident_on_leave(
    office, org, internal_departments, cohort, monkeypatch, django_capture_on_commit_callbacks
):
    from rotation.scheduling import solver

    real = solver.solve
    monkeypatch.setattr(solver, "solve", lambda problem, **kw: real(problem, **{**kw, "time_limit": 2}))
    first = _generate(office, org, django_capture_on_commit_callbacks)
    runs.publish_run(first, acting_user=office)
    on_leave = cohort[0]
    before = _months(first)

    def leave(resident_ids, first_month, count):
        base = month_index(first_month)
        return {on_leave.pk: {month_index(m) - base: LEAVE for m in LEAVE_MONTHS}}

    pins.register(leave)
    try:
        second = _generate(office, org, django_capture_on_commit_callbacks)
        assert validate_entries(second) == []  # with the leave pinned, as the run saw it
    finally:
        pins.unregister(leave)

    after = _months(second)
    assert second.stats["replan"] is True
    leave_kinds = set(
        ScheduleEntry.objects.filter(run=second, resident=on_leave, month__in=LEAVE_MONTHS).values_list(
            "kind", flat=True
        )
    )
    assert leave_kinds == {EntryKind.LEAVE}
    changed = {resident for resident in after if after[resident] != before[resident]}
    assert changed <= {on_leave.pk}
    assert second.stats["changed_residents"] == 1
    assert 4 <= second.stats["changed_months"] <= 12  # the leave months and the months they displace
