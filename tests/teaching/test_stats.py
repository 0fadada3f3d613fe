"""Statistics and credits: the arithmetic, compliance per month, the pages, exports, feeds and the demo."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core import timeline
from rotation.choices import LeaveStatus
from rotation.models import LeaveRequest
from teaching.choices import ActivityStatus, Audience, Purpose
from teaching.models import FrequencyRule
from teaching.services import stats
from teaching.services.plans import windows_of
from tests.factories.residents import RotationBlockFactory
from tests.permissions import LOGIN, assert_access

from .test_records_helpers import activity_type, attend, make_activity

D = datetime.date


def at(day: datetime.date, hour: int = 14) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def year_block(org, resident_profile, supervisor):
    """李住院 in 心血管内科 for the whole of last year and this year so far."""
    today = timezone.localdate()
    return RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=D(today.year - 1, 1, 1),
        end_date=today + datetime.timedelta(days=30),
    )


LAST = timezone.localdate().year - 1


def test_credit_needs_both_check_in_and_check_out_and_leave_is_excused(
    org, resident, resident_profile, supervisor, year_block
):
    days = [D(LAST, 3, d) for d in (2, 9, 16, 23, 30)]
    a1, a2, a3, a4, a5 = (make_activity(org.cardiology, supervisor, starts_at=at(d), hours="2.0") for d in days)
    open_one = make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 3, 10)), audience=Audience.OPEN)
    cancelled = make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 3, 11)), status=ActivityStatus.CANCELLED)
    attend(a1, resident)  # credit
    attend(a2, resident, manual=True)  # credit, marked by hand
    attend(a3, resident, Purpose.CHECK_IN)  # no check-out: no credit
    # a4: absent; a5: on approved leave that day (excused)
    LeaveRequest.objects.create(
        resident=resident_profile,
        block=year_block,
        kind="personal",
        start_date=D(LAST, 3, 29),
        end_date=D(LAST, 3, 31),
        days=Decimal(3),
        reason="事假",
        status=LeaveStatus.APPROVED,
    )
    attend(open_one, resident)  # credit, but not expected
    attend(cancelled, resident)  # cancelled: never counts

    result = stats.resident_stats(resident_profile, D(LAST, 1, 1), D(LAST, 12, 31))
    assert result.attended == 3 and result.hours == Decimal("5.0")
    assert result.manual == 1 and result.incomplete == 1
    assert result.expected == 5 and result.excused == 1 and result.expected_attended == 2
    assert result.rate == Decimal("50.0")  # 2 of the 4 not excused
    assert result.by_month == {D(LAST, 3, 1): {"count": 3, "hours": Decimal("5.0")}}
    assert stats.learning_count(resident_profile, D(LAST, 3, 1), D(LAST, 3, 31)) == 3
    assert stats.learning_count(resident_profile, D(LAST, 4, 1), D(LAST, 4, 30)) == 0


def test_department_activities_outside_the_rotation_are_not_expected(org, resident_profile, supervisor):
    RotationBlockFactory(
        resident=resident_profile, department=org.cardiology, start_date=D(LAST, 5, 1), end_date=D(LAST, 5, 31)
    )
    make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 4, 20)))
    make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 5, 20)))
    make_activity(org.general_surgery, supervisor, starts_at=at(D(LAST, 5, 21)))
    expected, excused = stats.expected_activities(resident_profile, D(LAST, 1, 1), D(LAST, 12, 31))
    assert [timezone.localtime(a.starts_at).date() for a in expected] == [D(LAST, 5, 20)] and not excused


def test_teacher_stats_per_type_and_month_with_ratings_from_three(org, supervisor, resident):
    lecture = activity_type(org.hospital)
    rounds = activity_type(org.hospital, code="RND", name="教学查房", hours="2.0")
    a1 = make_activity(org.cardiology, supervisor, kind=lecture, starts_at=at(D(LAST, 1, 5)))
    make_activity(org.cardiology, supervisor, kind=rounds, starts_at=at(D(LAST, 1, 12)), hours="2.0")
    make_activity(org.cardiology, supervisor, kind=rounds, starts_at=at(D(LAST, 2, 3)), hours="2.0")
    make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 2, 4)), status=ActivityStatus.CANCELLED)
    from teaching.models import Rating

    Rating.objects.create(activity=a1, user=resident, scores={"1": 5, "2": 3})
    result = stats.teacher_stats(supervisor, D(LAST, 1, 1), D(LAST, 12, 31))
    assert result.given == 3 and result.hours == Decimal("5.0")
    assert result.by_type == {
        "小讲课": {"count": 1, "hours": Decimal("1.0")},
        "教学查房": {"count": 2, "hours": Decimal("4.0")},
    }
    assert result.by_month[D(LAST, 1, 1)] == {"count": 2, "hours": Decimal("3.0")}
    assert result.average is None  # one rating is not an aggregate


def test_compliance_per_month_met_partly_not_met(org, supervisor):
    lecture = activity_type(org.hospital)
    rounds = activity_type(org.hospital, code="RND", name="教学查房")
    FrequencyRule.objects.create(activity_type=lecture, count=1, per_days=7)  # weekly: 4 a month
    FrequencyRule.objects.create(activity_type=rounds, count=1, per_days=14)  # fortnightly: 2 a month
    FrequencyRule.objects.create(activity_type=rounds, department=org.general_surgery, count=1, per_days=30)
    for day in (3, 10, 17, 24):
        make_activity(org.cardiology, supervisor, kind=lecture, starts_at=at(D(LAST, 3, day)))
    for day in (5, 19):
        make_activity(org.cardiology, supervisor, kind=rounds, starts_at=at(D(LAST, 3, day)))
    make_activity(org.cardiology, supervisor, kind=lecture, starts_at=at(D(LAST, 4, 7)))
    make_activity(org.general_surgery, supervisor, kind=rounds, starts_at=at(D(LAST, 3, 8)))
    for day in (1, 9, 17, 25):  # one in each of March's four weekly periods
        make_activity(org.general_surgery, supervisor, kind=lecture, starts_at=at(D(LAST, 3, day)))
    months = [D(LAST, 3, 1), D(LAST, 4, 1), D(LAST, 5, 1)]
    grid = dict(stats.compliance([org.cardiology, org.general_surgery], months))
    assert [c.state for c in grid[org.cardiology]] == [stats.MET, stats.PARTLY, stats.NOT_MET]
    # The department's own rule (monthly rounds) overrides the hospital-wide fortnightly one.
    assert grid[org.general_surgery][0].state == stats.MET
    assert len(windows_of(D(LAST, 2, 1), 7)) == 4 and len(windows_of(D(LAST, 2, 1), 30)) == 1


def test_department_attendance_rate(org, resident, resident_profile, supervisor, year_block):
    a1 = make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 6, 1)))
    make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 6, 8)))
    attend(a1, resident)
    rates = stats.department_attendance([org.cardiology], D(LAST, 1, 1), D(LAST, 12, 31))
    assert rates[org.cardiology.pk] == {"expected": 2, "attended": 1, "rate": Decimal("50.0")}


# ---------------------------------------------------------------- pages


def test_resident_stats_pages(client, archive_personas, resident_profile, year_block):
    assert_access(
        client,
        archive_personas,
        {"anonymous": LOGIN, "resident": 200, "office": 403},
        reverse("teaching:stats_resident"),
    )
    url = reverse("teaching:stats_resident_profile", args=[resident_profile.uuid])
    expected = {
        "anonymous": LOGIN,
        "resident": 200,
        "other_resident": 404,
        "mentor": 200,
        "director": 200,
        "other_director": 404,
        "office": 200,
        "outsider": 404,
    }
    assert_access(client, archive_personas, expected, url)


def test_teacher_stats_pages(client, org, personas, supervisor):
    make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 6, 1)))
    assert_access(client, personas, {"anonymous": LOGIN, "supervisor": 200}, reverse("teaching:stats_teacher"))
    url = reverse("teaching:stats_teacher_user", args=[supervisor.uuid]) + f"?year={LAST}"
    expected = {
        "anonymous": LOGIN,
        "supervisor": 200,
        "secretary": 200,
        "director": 200,
        "office": 200,
        "other_director": 404,
        "resident": 404,
        "other_resident": 404,
        "outsider": 404,
    }
    assert_access(client, personas, expected, url)
    client.force_login(supervisor)
    page = client.get(url).content.decode()
    assert "心衰的规范化治疗" in page


def test_compliance_page_has_the_chart_and_an_accessible_table(client, org, personas, supervisor):
    lecture = activity_type(org.hospital)
    FrequencyRule.objects.create(activity_type=lecture, count=1, per_days=30)
    make_activity(org.cardiology, supervisor, kind=lecture, starts_at=at(D(LAST, 6, 1)))
    url = reverse("teaching:stats_compliance") + f"?year={LAST}"
    expected = {
        "anonymous": LOGIN,
        "secretary": 200,
        "head": 200,
        "director": 200,
        "office": 200,
        "resident": 403,
        "outsider": 403,
    }
    assert_access(client, personas, expected, url)
    client.force_login(personas["office"])
    page = client.get(url).content.decode()
    assert 'id="compliance-heatmap"' in page and 'data-testid="compliance-table"' in page
    assert 'data-state="met"' in page and "echarts.min.js" in page
    client.force_login(personas["other_director"])
    page = client.get(url).content.decode()
    assert org.cardiology.name not in page and org.general_surgery.name in page


def test_exports_confirm_with_the_password_then_give_a_workbook(client, org, office, supervisor, audit_events):
    from openpyxl import load_workbook

    from tests.conftest import PASSWORD

    make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 6, 1)))
    office.set_password(PASSWORD)
    office.save()
    client.force_login(office)
    for url in (
        reverse("teaching:stats_compliance_export") + f"?year={LAST}",
        reverse("teaching:stats_teacher_export", args=[supervisor.uuid]) + f"?year={LAST}",
    ):
        assert client.get(url).status_code == 200
        response = client.post(url, {"password": PASSWORD})
        assert response.status_code == 200
        import io

        workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        assert workbook.active.max_row > 3
    actions = [e["action"] for e in audit_events]
    assert "teaching.compliance.export" in actions and "teaching.teacher_stats.export" in actions


def test_export_permissions(client, personas, resident_profile, org, supervisor):
    url = reverse("teaching:stats_compliance_export")
    assert_access(client, personas, {"anonymous": LOGIN, "resident": 403, "office": 200}, url)
    url = reverse("teaching:stats_resident_export", args=[resident_profile.uuid])
    assert_access(client, personas, {"other_resident": 404, "resident": 200, "office": 200}, url)


# ---------------------------------------------------------------- feeds and demo


def test_timelines(org, resident, resident_profile, supervisor, year_block):
    from faculty.models import FacultyProfile
    from teaching import timeline as _registered  # noqa: F401  (the lead imports it in apps.ready)

    a1 = make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 6, 1)), hours="1.5")
    attend(a1, resident)
    attend(make_activity(org.cardiology, supervisor, starts_at=at(D(LAST, 6, 8))), resident, Purpose.CHECK_IN)
    entries = timeline.entries(timeline.RESIDENT, resident_profile, resident, kinds=["teaching"])
    assert len(entries) == 1 and entries[0].when == D(LAST, 6, 1) and "1.5" in str(entries[0].detail)
    profile = FacultyProfile(user=supervisor, department=org.cardiology)
    given = timeline.entries(timeline.FACULTY, profile, supervisor, kinds=["teaching"])
    assert len(given) == 2


def test_the_demo_adds_attendance_records_and_ratings_once(org, supervisor, office, resident, year_block):
    from accounts.choices import Role
    from teaching.demo_records import seed_records
    from teaching.models import ActivityRecord, Attendance, Rating
    from tests.conftest import _person
    from tests.factories.residents import ResidentProfileFactory

    for i in range(6):
        user = _person(f"demo{i}", f"演示{i}", Role.RESIDENT, base=org.internal)
        profile = ResidentProfileFactory(user=user, base=org.internal)
        RotationBlockFactory(
            resident=profile,
            department=org.cardiology,
            start_date=timezone.localdate() - datetime.timedelta(days=60),
            end_date=timezone.localdate() + datetime.timedelta(days=10),
        )
    for days in range(2, 30, 3):
        make_activity(org.cardiology, supervisor, starts_at=timezone.now() - datetime.timedelta(days=days))
    seed_records()
    counts = (Attendance.objects.count(), ActivityRecord.objects.count(), Rating.objects.count())
    assert all(counts)
    assert Attendance.objects.filter(method="manual").exclude(reason="").exists()
    ins = set(Attendance.objects.filter(purpose=Purpose.CHECK_IN).values_list("activity_id", "user_id"))
    outs = set(Attendance.objects.filter(purpose=Purpose.CHECK_OUT).values_list("activity_id", "user_id"))
    assert outs < ins  # a few check-ins without a check-out
    assert ActivityRecord.objects.filter(status="rejected").count() == 1
    assert ActivityRecord.objects.filter(status="approved").exists()
    rated = set(Rating.objects.values_list("activity_id", "user_id"))
    assert rated <= outs
    seed_records()
    assert (Attendance.objects.count(), ActivityRecord.objects.count(), Rating.objects.count()) == counts
