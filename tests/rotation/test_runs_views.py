"""Who may open the scheduling pages, and a grid that costs the same queries for 3 or 30 residents."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rotation.models import ScheduleEntry, ScheduleRun
from tests.factories.residents import ResidentProfileFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NOBODY = ["resident", "other_resident", "supervisor", "secretary", "head", "clerk", "sysadmin", "auditor", "outsider"]


def _with_entries(run, residents, department, months=3):
    ScheduleEntry.objects.bulk_create(
        ScheduleEntry(run=run, resident=r, month=datetime.date(2027, 3 + m, 1), department=department)
        for r in residents
        for m in range(months)
    )
    return run


@pytest.fixture
def draft(org, office, resident_profile):
    run = ScheduleRun.objects.create(hospital=org.hospital, created_by=office, status="draft")
    return _with_entries(run, [resident_profile], org.cardiology)


@pytest.fixture
def published_internal(org, office, resident_profile):
    run = ScheduleRun.objects.create(
        hospital=org.hospital, created_by=office, status="published", version=1, scope="base", base=org.internal
    )
    return _with_entries(run, [resident_profile], org.cardiology)


def _matrix(default, **overrides):
    expected = {"anonymous": LOGIN, **dict.fromkeys(NOBODY, default)}
    expected.update(overrides)
    return expected


def test_the_run_list_and_the_generate_form(client, personas):
    assert_access(
        client,
        personas,
        _matrix(403, director=200, other_director=200, office=200),
        reverse("rotation:runs"),
    )
    assert_access(
        client,
        personas,
        _matrix(403, director=403, other_director=403, office=200),
        reverse("rotation:run_new"),
    )
    assert_access(
        client,
        personas,
        _matrix(403, director=403, other_director=403),
        reverse("rotation:run_new"),
        method="post",
        data={"scope": "hospital", "time_limit": 60},
    )


@pytest.mark.parametrize("name", ["run_detail", "run_progress", "run_grid", "run_compare"])
def test_drafts_are_the_offices_only(client, personas, draft, name):
    assert_access(
        client,
        personas,
        _matrix(404, director=404, other_director=404, office=200),
        reverse(f"rotation:{name}", args=[draft.uuid]),
    )


@pytest.mark.parametrize("name", ["run_detail", "run_progress", "run_grid", "run_compare"])
def test_base_managers_read_published_versions_of_their_base(client, personas, published_internal, name):
    assert_access(
        client,
        personas,
        _matrix(404, director=200, other_director=404, office=200),
        reverse(f"rotation:{name}", args=[published_internal.uuid]),
    )


@pytest.mark.parametrize("name", ["run_publish", "run_discard"])
def test_only_the_office_publishes_or_discards(client, personas, draft, published_internal, name):
    # a draft does not exist for the base; a published version does, but they may not act on it
    assert_access(
        client,
        personas,
        _matrix(404, director=404, other_director=404),
        reverse(f"rotation:{name}", args=[draft.uuid]),
        method="post",
    )
    assert_access(
        client,
        personas,
        _matrix(404, director=403, other_director=404),
        reverse(f"rotation:{name}", args=[published_internal.uuid]),
        method="post",
    )
    draft.refresh_from_db()
    published_internal.refresh_from_db()
    assert draft.status == "draft" and published_internal.status == "published"


def test_actions_answer_only_to_post(client, login, office, draft):
    login(office)
    assert client.get(reverse("rotation:run_publish", args=[draft.uuid])).status_code == 405


def test_base_managers_see_only_their_residents_rows(client, login, director, org, office, resident_profile):
    surgeon = ResidentProfileFactory(base=org.surgery)
    run = ScheduleRun.objects.create(hospital=org.hospital, created_by=office, status="published", version=1)
    _with_entries(run, [resident_profile, surgeon], org.cardiology)
    login(director)
    page = client.get(reverse("rotation:run_grid", args=[run.uuid])).content.decode()
    assert str(resident_profile.uuid) in page and str(surgeon.uuid) not in page
    page = client.get(reverse("rotation:run_detail", args=[run.uuid])).content.decode()
    assert 'data-testid="publish-button"' not in page and 'data-testid="discard-button"' not in page


def _grid_queries(client, run) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("rotation:run_grid", args=[run.uuid]))
    assert response.status_code == 200
    return len(queries)


def test_the_grid_costs_the_same_queries_for_3_or_30_residents(client, login, office, org):
    login(office)
    small = ScheduleRun.objects.create(hospital=org.hospital, created_by=office, status="draft")
    _with_entries(small, [ResidentProfileFactory(base=org.internal) for _ in range(3)], org.cardiology)
    large = ScheduleRun.objects.create(hospital=org.hospital, created_by=office, status="published", version=1)
    _with_entries(large, [ResidentProfileFactory(base=org.internal) for _ in range(30)], org.cardiology)
    previous_small = ScheduleRun.objects.create(
        hospital=org.hospital, created_by=office, status="superseded", version=2
    )
    small.previous = previous_small
    small.save()
    large.previous = previous_small
    large.save()

    few, many = _grid_queries(client, small), _grid_queries(client, large)

    assert few == many
    page = client.get(reverse("rotation:run_grid", args=[large.uuid])).content.decode()
    assert page.count('data-testid="grid-row"') == 30
