"""Issue 7 end to end, through the pages: plan → approve → calendar → check-in and check-out by two residents →
record upload → review → statistics. The clock is a fixed instant in this month that the test moves forward."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from approvals.choices import RequestStatus
from rotation.months import month_start
from teaching import nav_plans, workflows  # noqa: F401  (the lead imports them in apps.ready)
from teaching.choices import ActivityStatus, PlanStatus, Purpose, RecordStatus
from teaching.models import Activity, ActivityRecord, ActivityType, Attendance
from teaching.services import plans, types
from tests.conftest import _person
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SCAN = re.compile(r'data-scan-url="[^"]*?(/teaching/s/[^/"]+/)"')


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def kinds(org):
    types.ensure_defaults(org.hospital)
    return {t.name: t for t in ActivityType.objects.filter(hospital=org.hospital)}


class Clock:
    def __init__(self, moment):
        self.moment = moment

    def __call__(self):
        return self.moment


@pytest.fixture
def clock(monkeypatch):
    """Day 10 of this month, 15:00 in Shanghai; tests set clock.moment to move it."""
    day = month_start(timezone.localdate()) + datetime.timedelta(days=9)
    moment = datetime.datetime.combine(day, datetime.time(15), tzinfo=timezone.get_current_timezone())
    fixed = Clock(moment)
    monkeypatch.setattr(timezone, "now", fixed)
    return fixed


@pytest.fixture
def second_resident(org, supervisor, current_block):
    user = _person("resident2", "何住院", Role.RESIDENT, base=org.internal)
    profile = ResidentProfileFactory(user=user, base=org.internal, cohort=2025)
    RotationBlockFactory(
        resident=profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=current_block.start_date,
        end_date=current_block.end_date,
    )
    return user


def decide(client, plan, user, code=302):
    request = plans.approval_request_for(plan)
    client.force_login(user)
    assert client.get(reverse("approvals:detail", args=[request.uuid])).status_code == 200
    response = client.post(
        reverse("approvals:decide", args=[request.uuid]), {"decision": "approve", "version": request.version}
    )
    assert response.status_code == code
    return request


def scan_from_code_page(client, teacher, activity, purpose):
    client.force_login(teacher)
    page = client.get(reverse("teaching:checkin_code", args=[activity.uuid]), {"purpose": purpose})
    assert page.status_code == 200
    found = SCAN.search(page.content.decode())
    assert found, "the code page shows the scan URL"
    return found.group(1)


def test_plan_to_statistics_through_the_pages(
    client, clock, org, kinds, secretary, supervisor, head, office, resident, current_block, second_resident
):
    assert current_block.start_date <= timezone.localdate() <= current_block.end_date
    month = month_start(timezone.localdate())

    # the secretary opens this month's plan, adds a short session, submits
    client.force_login(secretary)
    response = client.post(reverse("teaching:plans_open", args=[org.cardiology.uuid]), {"month": f"{month:%Y-%m}"})
    plan = org.cardiology.teaching_plans.get(month=month)
    assert response.status_code == 302 and response.url == reverse("teaching:plans_detail", args=[plan.uuid])
    form = {
        "title": "心衰的分级与用药",
        "activity_type": kinds["小讲课"].pk,
        "teacher": supervisor.pk,
        "date": timezone.localdate().isoformat(),
        "start": "15:00",
        "end": "15:30",
        "place": "示教室",
        "audience": "department",
        "hours": "1.5",
    }
    response = client.post(reverse("teaching:plans_activity_new", args=[plan.uuid]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    activity = Activity.objects.get(plan=plan)
    assert activity.status == ActivityStatus.PLANNED
    assert client.post(reverse("teaching:plans_submit", args=[plan.uuid])).status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING

    # the head, then the office, approve through the approvals pages
    decide(client, plan, head)
    request = decide(client, plan, office)
    request.refresh_from_db()
    plan.refresh_from_db()
    activity.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert plan.status == PlanStatus.APPROVED and activity.status == ActivityStatus.APPROVED

    # both residents see it on the calendar and open it
    for user in (resident, second_resident):
        client.force_login(user)
        page = client.get(reverse("teaching:calendar"), {"view": "list", "month": f"{month:%Y-%m}"})
        assert page.status_code == 200 and activity.title in page.content.decode()
        assert client.get(reverse("teaching:activity_detail", args=[activity.uuid])).status_code == 200

    # check-in: the teacher's code page, both residents scan it
    url = scan_from_code_page(client, supervisor, activity, "in")
    for user in (resident, second_resident):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and b'data-outcome="checked_in"' in response.content

    # the clock moves to the end: check-out
    clock.moment = activity.ends_at
    url = scan_from_code_page(client, supervisor, activity, "out")
    for user in (resident, second_resident):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and b'data-outcome="checked_out"' in response.content

    assert Attendance.objects.filter(activity=activity).count() == 4
    for user in (resident, second_resident):
        purposes = set(Attendance.objects.filter(activity=activity, user=user).values_list("purpose", flat=True))
        assert purposes == {Purpose.CHECK_IN, Purpose.CHECK_OUT}

    # the teacher uploads the record, the office accepts it
    clock.moment = activity.ends_at + datetime.timedelta(minutes=30)
    client.force_login(supervisor)
    response = client.post(
        reverse("teaching:records_detail", args=[activity.uuid]),
        {"summary": "讲解了心衰的分级与用药。", "photos": [SimpleUploadedFile("现场.png", PNG, "image/png")]},
    )
    assert response.status_code == 302
    record = ActivityRecord.objects.get(activity=activity)
    assert record.status == RecordStatus.SUBMITTED and record.files.count() == 1
    client.force_login(office)
    response = client.post(reverse("teaching:records_review", args=[activity.uuid]), {"decision": "accept"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == RecordStatus.APPROVED

    # statistics: both residents credited 1.5 hours, the teacher gave one activity
    for user in (resident, second_resident):
        client.force_login(user)
        page = client.get(reverse("teaching:stats_resident"))
        assert page.status_code == 200
        result = page.context["stats"]
        assert (result.attended, result.hours, result.incomplete) == (1, activity.hours, 0)
        assert [row[0] for row in result.activities] == [activity] and result.activities[0][1].credited
        assert activity.title in page.content.decode()
        assert 'data-testid="hours">1.5<' in page.content.decode()
    client.force_login(supervisor)
    page = client.get(reverse("teaching:stats_teacher"))
    assert page.status_code == 200
    result = page.context["stats"]
    assert (result.given, result.hours) == (1, activity.hours) and result.activities == [activity]
    assert activity.title in page.content.decode()
