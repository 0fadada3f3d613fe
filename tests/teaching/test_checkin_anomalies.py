"""The office's anomaly report: check-in without check-out, shared devices, refused scans, bursts from one IP."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from teaching.choices import ActivityStatus, Audience, Method, Purpose
from teaching.models import Activity, ActivityType, Attendance, ScanFailure
from teaching.services import checkin
from tests.conftest import _person


@pytest.fixture
def past_activity(org, supervisor, secretary):
    kind = ActivityType.objects.create(hospital=org.hospital, code="JXCF", name="教学查房")
    start = timezone.now() - datetime.timedelta(days=1)
    return Activity.objects.create(
        department=org.cardiology,
        activity_type=kind,
        title="教学查房：心衰",
        teacher=supervisor,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        place="病房",
        audience=Audience.DEPARTMENT,
        status=ActivityStatus.APPROVED,
        created_by=secretary,
    )


def attend(activity, user, purpose, *, at, device="", ip=None, method=Method.SCAN):
    return Attendance.objects.create(
        activity=activity, user=user, purpose=purpose, at=at, device=device, ip=ip, method=method
    )


def test_the_report_finds_each_kind_of_anomaly(client, org, office, past_activity):
    people = [_person(f"r{i}", f"住院{i}", Role.RESIDENT, base=org.internal) for i in range(6)]
    start = past_activity.starts_at
    # r0 checked in, never out; r1 and r2 share one phone; r0..r5 scanned from one address within 50 s
    for i, person in enumerate(people):
        attend(
            past_activity,
            person,
            Purpose.CHECK_IN,
            at=start + datetime.timedelta(seconds=10 * i),
            ip="10.0.0.1",
            device="shared" if i in (1, 2) else f"d{i}",
        )
        if i:
            attend(past_activity, person, Purpose.CHECK_OUT, at=past_activity.ends_at, device=f"d{i}")
    checkin.scan_refuse(reason="bad_signature", activity=past_activity, ip="10.0.0.9")
    checkin.scan_refuse(reason="expired", activity=past_activity)
    checkin.scan_refuse(reason="expired", activity=past_activity)

    report = checkin.anomalies(Activity.objects.all())
    assert [(a, [u.username for u in us]) for a, us in report.no_check_out] == [(past_activity, ["r0"])]
    assert [(a, d, [u.username for u in us]) for a, d, us in report.shared_devices] == [
        (past_activity, "shared", ["r1", "r2"])
    ]
    assert [(reason, count) for reason, _label, count in report.refused] == [("expired", 2), ("bad_signature", 1)]
    assert [(a, ip, scans, users) for a, ip, scans, users, _ in report.bursts] == [(past_activity, "10.0.0.1", 6, 6)]

    client.force_login(office)
    response = client.get(reverse("teaching:checkin_anomalies"))
    body = response.content.decode()
    assert response.status_code == 200
    assert reverse("teaching:checkin_attendance", args=[past_activity.uuid]) in body
    assert 'data-reason="expired"' in body and "10.0.0.1" in body


def test_manual_marks_and_slow_scans_are_no_burst(org, past_activity):
    people = [_person(f"s{i}", f"慢{i}", Role.RESIDENT, base=org.internal) for i in range(6)]
    for i, person in enumerate(people):
        attend(
            past_activity,
            person,
            Purpose.CHECK_IN,
            at=past_activity.starts_at + datetime.timedelta(minutes=i),
            ip="10.0.0.2",
        )
    report = checkin.anomalies(Activity.objects.all())
    assert report.bursts == []


def test_the_date_filter_narrows_the_report(client, office, past_activity, resident):
    attend(past_activity, resident, Purpose.CHECK_IN, at=past_activity.starts_at)
    client.force_login(office)
    old = (timezone.localdate() - datetime.timedelta(days=60)).isoformat()
    older = (timezone.localdate() - datetime.timedelta(days=50)).isoformat()
    body = client.get(reverse("teaching:checkin_anomalies"), {"date_from": old, "date_to": older}).content.decode()
    assert past_activity.title not in body
    body = client.get(reverse("teaching:checkin_anomalies")).content.decode()
    assert past_activity.title in body


def test_refused_scans_are_kept_with_reason_ip_and_device(past_activity):
    failure = checkin.scan_refuse(reason="outside_window", activity=past_activity, ip="10.1.1.1", device="abc")
    assert ScanFailure.objects.get() == failure and (failure.ip, failure.device) == ("10.1.1.1", "abc")
