"""Schedule runs end to end through the views: generate (the task runs eagerly), review the draft,
publish version 1, generate again, compare, publish version 2; infeasible instances explain why."""

import datetime

import pytest
from django.urls import reverse

from notices.models import Notification
from residents.models import ResidentProfile
from rotation.models import DepartmentMonth, DepartmentSetting, RotationBlock, ScheduleRun
from rotation.scheduling import solver
from rotation.services import runs
from rotation.services.problems import validate_entries
from tests.factories.residents import ResidentProfileFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

START = datetime.date(2027, 3, 1)  # windows in the future: every block is still to come
END = datetime.date(2028, 2, 29)


@pytest.fixture
def fast_solver(monkeypatch):
    """The form's shortest time limit is 10 s; tests give the solver one second."""
    real = solver.solve
    monkeypatch.setattr(solver, "solve", lambda problem, **kwargs: real(problem, **{**kwargs, "time_limit": 3}))


@pytest.fixture
def cohort(org, programme, resident_profile):
    """李住院 and two more 内科 residents with a 12-month window starting 2027-03."""
    resident_profile.start_date, resident_profile.planned_end_date = START, END
    resident_profile.save()
    others = [ResidentProfileFactory(base=org.internal, start_date=START, planned_end_date=END) for _ in range(2)]
    return [resident_profile, *others]


def _generate(client, django_capture_on_commit_callbacks, **data) -> ScheduleRun:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("rotation:run_new"), {"scope": "hospital", "time_limit": 10, **data})
    assert response.status_code == 302, response.content.decode()[:2000]
    run = ScheduleRun.objects.order_by("-pk").first()
    assert response["Location"] == reverse("rotation:run_detail", args=[run.uuid])
    return run


def test_generate_review_publish_regenerate_compare_and_supersede(
    client,
    login,
    office,
    org,
    internal_departments,
    cohort,
    other_profile,
    secretary,
    head,
    fast_solver,
    django_capture_on_commit_callbacks,
    audit_events,
):
    login(office)
    assert client.get(reverse("rotation:run_new")).status_code == 200

    run = _generate(client, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == "draft", (run.message, run.explanation)
    assert run.previous is None and run.version is None
    assert run.stats["residents"] == 3 and run.stats["overflow"] == 0
    assert run.stats["imbalance_sum"] >= run.stats["lower_bound_sum"]
    assert run.entries.count() == 3 * 12
    assert validate_entries(run) == []
    # 王外科's base has no programme: left out with a warning, not an error
    assert any(w["kind"] == "excluded" and w["resident"] == other_profile.pk for w in run.warnings)

    page = client.get(reverse("rotation:run_detail", args=[run.uuid])).content.decode()
    assert 'data-testid="run-figures"' in page and 'data-testid="heatmap"' in page
    assert "王外科 was left out" in page
    assert 'data-testid="publish-button"' in page
    assert "心血管内科" in page
    grid = client.get(reverse("rotation:run_grid", args=[run.uuid])).content.decode()
    assert grid.count('data-testid="grid-row"') == 3 and "李住院" in grid
    neph = internal_departments["NEPH"]
    in_neph = set(run.entries.filter(department=neph).values_list("resident__uuid", flat=True))
    filtered = client.get(reverse("rotation:run_grid", args=[run.uuid]), {"department": neph.pk}).content.decode()
    assert filtered.count('data-testid="grid-row"') == len(in_neph)
    assert all(str(uuid) in filtered for uuid in in_neph)
    invalid = client.get(reverse("rotation:run_grid", args=[run.uuid]), {"base": org.surgery.pk}).content.decode()
    assert 'data-testid="grid-row"' not in invalid and "Select a valid choice" in invalid

    # publishing needs the confirmation box
    response = client.post(reverse("rotation:run_publish", args=[run.uuid]), follow=True)
    assert "Tick the box" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "draft" and not RotationBlock.objects.exists()

    client.post(reverse("rotation:run_publish", args=[run.uuid]), {"confirm": "1"})
    run.refresh_from_db()
    assert run.status == "published" and run.version == 1 and run.published_by == office
    blocks = RotationBlock.objects.filter(resident=cohort[0])
    assert blocks.exists() and all(b.run_id == run.pk for b in blocks)
    # consecutive months of one department form one block, ending on the month's last day
    card = blocks.get(department=internal_departments["CARD"])
    assert card.start_date.day == 1 and (card.end_date + datetime.timedelta(days=1)).day == 1
    assert (card.end_date.year * 12 + card.end_date.month) - (card.start_date.year * 12 + card.start_date.month) == 1
    assert (
        sum(1 for _ in RotationBlock.objects.filter(resident__in=cohort)) == 3 * 4
    )  # 3 mandatory departments and 1 elective each
    assert Notification.objects.filter(user=cohort[0].user, kind="rotation.published").exists()
    assert Notification.objects.filter(user=secretary, kind="rotation.published").exists()
    assert Notification.objects.filter(user=head, kind="rotation.published").exists()
    assert any(e["action"] == "rotation.run.publish" for e in audit_events)

    # publishing twice changes nothing
    response = client.post(reverse("rotation:run_publish", args=[run.uuid]), {"confirm": "1"}, follow=True)
    assert "Only a draft can be published" in response.content.decode()
    assert ScheduleRun.objects.filter(version__isnull=False).count() == 1

    # 李住院's cardiology months close: the next run must move them
    for month in (card.start_date, card.end_date.replace(day=1)):
        DepartmentMonth.objects.create(department=internal_departments["CARD"], month=month, closed=True)
    supervisor_kept = RotationBlock.objects.filter(resident=cohort[1]).first()
    supervisor_kept.supervisor = secretary
    supervisor_kept.save()

    second = _generate(client, django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert second.status == "draft", (second.message, second.explanation)
    assert second.previous == run
    assert second.stats["replan"] is True and second.stats["changed_residents"] >= 1

    compare = client.get(reverse("rotation:run_compare", args=[second.uuid])).content.decode()
    assert 'data-testid="changed-resident"' in compare and "李住院" in compare
    assert 'data-testid="department-differences"' in compare
    comparison = runs.compare(second, run)
    moved = next(c for c in comparison.residents if c.resident == cohort[0])
    assert any(m.old == internal_departments["CARD"] for m in moved.months)
    grid = client.get(reverse("rotation:run_grid", args=[second.uuid])).content.decode()
    assert "rot-changed" in grid

    client.post(reverse("rotation:run_publish", args=[second.uuid]), {"confirm": "1"})
    second.refresh_from_db()
    run.refresh_from_db()
    assert second.version == 2 and second.status == "published"
    assert run.status == "superseded"
    assert not RotationBlock.objects.filter(
        resident=cohort[0], department=internal_departments["CARD"], start_date=card.start_date
    ).exists()
    assert all(b.run_id == second.pk for b in RotationBlock.objects.filter(resident__in=cohort))
    # an identical block keeps its supervisor
    if RotationBlock.objects.filter(pk=supervisor_kept.pk).exists():
        assert RotationBlock.objects.get(pk=supervisor_kept.pk).supervisor == secretary


def test_an_infeasible_instance_explains_which_department_and_months(
    client, login, office, org, internal_departments, programme, fast_solver, django_capture_on_commit_callbacks
):
    DepartmentSetting.objects.filter(department=internal_departments["CARD"]).update(capacity=1)
    end = datetime.date(2027, 8, 31)  # six months: exactly the programme, no slack
    for _ in range(4):
        ResidentProfileFactory(base=org.internal, start_date=START, planned_end_date=end)
    login(office)

    run = _generate(client, django_capture_on_commit_callbacks)

    run.refresh_from_db()
    assert run.status == "infeasible" and not run.entries.exists()
    page = client.get(reverse("rotation:run_detail", args=[run.uuid])).content.decode()
    assert 'data-testid="explanation"' in page
    assert "心血管内科 needs 8 resident-months in 2027-03 – 2027-08 but its capacity allows 6" in page
    assert "Traceback" not in page and 'data-testid="publish-button"' not in page
    # an infeasible run cannot be published
    client.post(reverse("rotation:run_publish", args=[run.uuid]), {"confirm": "1"})
    run.refresh_from_db()
    assert run.status == "infeasible"
    client.post(reverse("rotation:run_discard", args=[run.uuid]))
    run.refresh_from_db()
    assert run.status == "discarded"


def test_bad_generate_input_gives_a_clear_message_and_queues_nothing(client, login, office, org, programme):
    login(office)
    cases = [
        ({"scope": "base", "time_limit": 60}, "Choose the specialty base to schedule."),
        ({"scope": "cohort", "time_limit": 60}, "Enter the cohort"),
        ({"scope": "hospital", "time_limit": 5}, "greater than or equal to 10"),
        ({"scope": "hospital", "time_limit": 301}, "less than or equal to 300"),
        ({"scope": "hospital", "time_limit": "abc"}, "Enter a whole number"),
        ({"scope": "galaxy", "time_limit": 60}, "Select a valid choice"),
    ]
    for data, message in cases:
        response = client.post(reverse("rotation:run_new"), data)
        assert response.status_code == 200
        assert message in response.content.decode(), data
    assert not ScheduleRun.objects.exists()


def test_a_second_generation_waits_for_the_first(office, org, programme):
    runs.start_run(hospital=org.hospital, scope="hospital", acting_user=office)
    with pytest.raises(runs.RunError, match="already being generated"):
        runs.start_run(hospital=org.hospital, scope="hospital", acting_user=office)
    with pytest.raises(runs.RunError, match="another hospital"):
        from tests.factories.accounts import SpecialtyBaseFactory

        runs.start_run(hospital=org.hospital, scope="base", base=SpecialtyBaseFactory(), acting_user=office)


def test_an_internal_error_fails_the_run_without_a_stack_trace(
    client, login, office, org, cohort, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(problem, **kwargs):
        raise RuntimeError("boom in the solver")

    monkeypatch.setattr(solver, "solve", broken)
    login(office)
    run = _generate(client, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == "failed"
    page = client.get(reverse("rotation:run_detail", args=[run.uuid])).content.decode()
    assert "internal error" in page and "boom" not in page and "RuntimeError" not in page


def test_the_progress_partial_polls_while_running_and_reloads_when_done(client, login, office, org):
    run = ScheduleRun.objects.create(hospital=org.hospital, created_by=office, status="running", progress=0.4)
    login(office)
    url = reverse("rotation:run_progress", args=[run.uuid])
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page and "40%" in page
    detail = client.get(reverse("rotation:run_detail", args=[run.uuid])).content.decode()
    assert 'data-testid="run-progress"' in detail
    run.status = "draft"
    run.save()
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"


def test_a_cohort_run_schedules_only_that_cohort(office, org, cohort, fast_solver, django_capture_on_commit_callbacks):
    ResidentProfile.objects.filter(pk=cohort[2].pk).update(cohort=2026)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.start_run(hospital=org.hospital, scope="cohort", cohort=2026, time_limit=10, acting_user=office)
    run.refresh_from_db()
    assert run.status == "draft"
    assert set(run.entries.values_list("resident_id", flat=True)) == {cohort[2].pk}
