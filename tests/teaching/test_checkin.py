"""QR check-in and check-out through the views: refused scans are logged and record nothing, a held scan
survives the login and goes to whoever signed in, a second scan changes nothing, manual marks need a reason."""

import datetime
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from teaching.choices import ActivityStatus, Audience, Method, Purpose
from teaching.models import Activity, ActivityType, Attendance, ScanFailure
from teaching.services import checkin, tokens
from tests.conftest import _person
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.permissions import LOGIN, assert_access


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def activity(org, supervisor, secretary, current_block):
    kind = ActivityType.objects.create(hospital=org.hospital, code="XJK", name="小讲课")
    now = timezone.now()
    return Activity.objects.create(
        department=org.cardiology,
        activity_type=kind,
        title="心电图判读",
        teacher=supervisor,
        starts_at=now - datetime.timedelta(minutes=2),
        ends_at=now + datetime.timedelta(minutes=58),
        place="示教室",
        audience=Audience.DEPARTMENT,
        status=ActivityStatus.APPROVED,
        created_by=secretary,
    )


def scan_url(activity, purpose=Purpose.CHECK_IN, now=None, **kwargs):
    return reverse("teaching:checkin_scan", args=[tokens.issue(activity, purpose, now or timezone.now(), **kwargs)])


def refused(audit_events, reason):
    return [e for e in audit_events if e["action"] == "teaching.scan_refused" and e["extra"]["reason"] == reason]


# --- a good scan ----------------------------------------------------------------------------------------------


def test_a_signed_in_resident_checks_in(client, english, activity, resident, audit_events):
    client.force_login(resident)
    response = client.get(scan_url(activity), REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 200
    assert b'id="scan-result"' in response.content and b'data-outcome="checked_in"' in response.content
    assert b"Checked in" in response.content
    row = Attendance.objects.get()
    assert (row.user, row.purpose, row.method, row.ip) == (resident, "in", Method.SCAN, "10.0.0.7")
    assert len(row.device) == 32 and "zp_device" in response.cookies
    cookie = response.cookies["zp_device"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) == 365 * 24 * 3600
    assert any(e["action"] == "teaching.scan" for e in audit_events)


def test_the_device_cookie_keeps_one_device_id_across_scans(client, activity, resident):
    client.force_login(resident)
    client.get(scan_url(activity))
    first = Attendance.objects.get().device
    Attendance.objects.all().delete()
    response = client.get(scan_url(activity))
    assert "zp_device" not in response.cookies  # already set, not renewed
    assert Attendance.objects.get().device == first


def test_a_second_scan_says_already_checked_in_and_changes_nothing(client, english, activity, resident):
    client.force_login(resident)
    client.get(scan_url(activity))
    at = Attendance.objects.get().at
    response = client.get(scan_url(activity))
    assert b'data-outcome="already"' in response.content and b"Already checked in" in response.content
    assert Attendance.objects.count() == 1 and Attendance.objects.get().at == at


def test_check_out_without_check_in_is_recorded_but_flagged(client, activity, resident):
    activity.starts_at = timezone.now() - datetime.timedelta(minutes=60)
    activity.ends_at = timezone.now() + datetime.timedelta(minutes=2)
    activity.save()
    client.force_login(resident)
    response = client.get(scan_url(activity, Purpose.CHECK_OUT))
    assert b'data-outcome="checked_out"' in response.content and b'data-testid="no-check-in"' in response.content
    assert Attendance.objects.get().purpose == "out"


# --- refused scans: a clear page, a ScanFailure, an audit event, nothing recorded -----------------------------


def _assert_refused(response, audit_events, reason, status):
    assert response.status_code == status
    assert f'data-reason="{reason}"'.encode() in response.content
    assert not Attendance.objects.exists()
    assert ScanFailure.objects.filter(reason=reason).count() == 1
    events = refused(audit_events, reason)
    assert len(events) == 1 and events[0]["outcome"] == "denied"
    return events[0]


def test_a_forged_token_is_refused(client, english, activity, resident, audit_events):
    client.force_login(resident)
    good = tokens.issue(activity, Purpose.CHECK_IN, timezone.now())
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    response = client.get(reverse("teaching:checkin_scan", args=[forged]), REMOTE_ADDR="10.9.9.9")
    event = _assert_refused(response, audit_events, "bad_signature", 400)
    assert b"Not a valid code" in response.content
    assert event["extra"]["ip"] == "10.9.9.9" and event["extra"]["device"]
    assert ScanFailure.objects.get().user == resident


def test_a_token_built_like_the_old_platform_without_the_key_is_refused(client, activity, resident, audit_events):
    """The provincial platform's code is the activity id and the clock: ours needs the server's MAC."""
    client.force_login(resident)
    window = tokens._b36(tokens.window_of(timezone.now()))
    made_up = f"{tokens._b36(activity.pk)}.i.{window}.abcdef.{'A' * 22}"
    response = client.get(reverse("teaching:checkin_scan", args=[made_up]))
    _assert_refused(response, audit_events, "bad_signature", 400)


def test_an_expired_token_is_refused(client, english, activity, resident, audit_events):
    client.force_login(resident)
    response = client.get(scan_url(activity, now=timezone.now() - datetime.timedelta(seconds=25)))
    _assert_refused(response, audit_events, "expired", 400)
    assert b"This code has expired" in response.content and b"scan the one on the screen now" in response.content
    assert ScanFailure.objects.get().activity == activity


def test_a_photo_of_the_code_replayed_later_is_refused(client, activity, resident, audit_events):
    url = scan_url(activity)  # someone photographs it and sends it around
    client.force_login(resident)
    later = timezone.now() + datetime.timedelta(minutes=1)
    from unittest import mock

    with mock.patch("teaching.views_checkin.timezone.now", return_value=later):
        response = client.get(url)
    _assert_refused(response, audit_events, "expired", 400)


def test_a_token_tampered_to_name_another_activity_is_refused(client, activity, resident, audit_events):
    other = Activity.objects.create(
        **{
            f.name: getattr(activity, f.name)
            for f in Activity._meta.concrete_fields
            if f.name not in ("id", "uuid", "created_at", "updated_at")
        }
    )
    client.force_login(resident)
    token = tokens.issue(other, Purpose.CHECK_IN, timezone.now())
    pieces = token.split(".")
    pieces[0] = tokens._b36(activity.pk)
    response = client.get(reverse("teaching:checkin_scan", args=[".".join(pieces)]))
    _assert_refused(response, audit_events, "bad_signature", 400)


def test_a_check_in_token_tampered_into_a_check_out_is_refused(client, activity, resident, audit_events):
    client.force_login(resident)
    pieces = tokens.issue(activity, Purpose.CHECK_IN, timezone.now()).split(".")
    pieces[1] = "o"
    response = client.get(reverse("teaching:checkin_scan", args=[".".join(pieces)]))
    _assert_refused(response, audit_events, "bad_signature", 400)


def test_a_check_out_code_is_not_a_check_in(client, activity, resident, audit_events):
    """A genuine check-out code at the start is a check-out scan, outside the check-out window: refused."""
    client.force_login(resident)
    response = client.get(scan_url(activity, Purpose.CHECK_OUT))
    _assert_refused(response, audit_events, "outside_window", 403)


def test_a_scan_outside_the_check_in_window_is_refused(client, english, activity, resident, audit_events):
    activity.starts_at = timezone.now() + datetime.timedelta(minutes=30)
    activity.ends_at = activity.starts_at + datetime.timedelta(hours=1)
    activity.save()
    client.force_login(resident)
    response = client.get(scan_url(activity))
    _assert_refused(response, audit_events, "outside_window", 403)
    assert b"Not the time to scan" in response.content


def test_the_windows_are_settings(client, settings, activity, resident):
    activity.starts_at = timezone.now() - datetime.timedelta(minutes=15)
    activity.save()
    client.force_login(resident)
    assert client.get(scan_url(activity)).status_code == 403
    settings.TEACHING_CHECKIN_AFTER_MINUTES = 20
    assert client.get(scan_url(activity)).status_code == 200


def test_a_resident_of_another_base_cannot_check_in(client, activity, other_resident, other_profile, audit_events):
    client.force_login(other_resident)
    response = client.get(scan_url(activity))
    _assert_refused(response, audit_events, "not_in_audience", 403)


def test_a_cancelled_activity_takes_no_scans(client, activity, resident, audit_events):
    activity.status = ActivityStatus.CANCELLED
    activity.save()
    client.force_login(resident)
    _assert_refused(client.get(scan_url(activity)), audit_events, "not_approved", 403)


def test_an_open_activity_takes_the_hospitals_residents(client, org, activity, other_resident, other_profile):
    activity.audience = Audience.OPEN
    activity.save()
    client.force_login(other_resident)
    assert client.get(scan_url(activity)).status_code == 200
    assert Attendance.objects.get().user == other_resident


# --- the held scan -------------------------------------------------------------------------------------------


def test_a_held_scan_survives_the_login_and_goes_to_who_signed_in(client, english, activity, resident):
    response = client.get(scan_url(activity))
    complete = reverse("teaching:checkin_complete")
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert response["Location"].endswith("next=" + complete)
    assert not Attendance.objects.exists()
    login = client.post(
        reverse("accounts:login") + f"?next={complete}", {"username": "resident", "password": "Zhupei#2025"}
    )
    assert login.status_code == 302 and login["Location"] == complete
    response = client.get(complete)
    assert b'data-outcome="checked_in"' in response.content
    assert Attendance.objects.get().user == resident
    # the hold is spent: opening the page again records nothing more
    again = client.get(complete)
    assert again.status_code == 410 and Attendance.objects.count() == 1


def test_a_slow_login_keeps_the_moment_of_the_scan(client, activity, resident):
    """The code was valid when opened; the window check uses that moment, not the login's."""
    client.get(scan_url(activity))
    client.force_login(resident)
    from unittest import mock

    with mock.patch("teaching.views_checkin.timezone.now", return_value=timezone.now() + datetime.timedelta(minutes=3)):
        client.get(reverse("teaching:checkin_complete"))
    assert Attendance.objects.get().at < timezone.now()


def test_a_hold_past_its_time_is_refused(client, activity, resident, audit_events):
    client.get(scan_url(activity))
    cache.clear()  # the hold's TTL passed
    client.force_login(resident)
    response = client.get(reverse("teaching:checkin_complete"))
    assert response.status_code == 410 and not Attendance.objects.exists()
    assert ScanFailure.objects.get().reason == "hold_expired"


def test_an_invalid_token_is_refused_before_any_login(client, activity, audit_events):
    response = client.get(reverse("teaching:checkin_scan", args=["1.i.2.x.forged"]))
    assert response.status_code == 400 and not Attendance.objects.exists()
    assert ScanFailure.objects.get().user is None


# --- rate limits -------------------------------------------------------------------------------------------


def test_scans_beyond_the_per_ip_limit_get_429(client, settings, activity):
    settings.TEACHING_SCAN_RATE_IP = 3
    url = reverse("teaching:checkin_scan", args=["bad"])
    codes = [client.get(url, REMOTE_ADDR="10.1.1.1").status_code for _ in range(5)]
    assert codes == [400, 400, 400, 429, 429]
    assert ScanFailure.objects.filter(reason="rate_limited").count() == 1  # one row per minute, not per request


def test_scans_beyond_the_per_user_limit_get_429(client, settings, activity, resident):
    settings.TEACHING_SCAN_RATE_USER = 2
    client.force_login(resident)
    codes = [client.get(scan_url(activity), REMOTE_ADDR=f"10.2.0.{i}").status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert Attendance.objects.count() == 1


# --- concurrency ---------------------------------------------------------------------------------------------


def test_the_service_records_one_row_per_purpose(activity, resident):
    now = timezone.now()
    first = checkin.record_scan(resident, activity, Purpose.CHECK_IN, now)
    second = checkin.record_scan(resident, activity, Purpose.CHECK_IN, now)
    assert first.created and not second.created and second.attendance.pk == first.attendance.pk


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_scans_of_one_resident_make_one_row(activity, resident):
    if connection.vendor == "sqlite":
        pytest.skip("real concurrent writers need PostgreSQL")
    barrier = threading.Barrier(4)
    created = []

    def scan():
        from django.db import connections

        try:
            barrier.wait()
            created.append(checkin.record_scan(resident, activity, Purpose.CHECK_IN, timezone.now()).created)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False, False, False, True]
    assert Attendance.objects.filter(activity=activity, user=resident).count() == 1


# --- the display ---------------------------------------------------------------------------------------------


def test_the_display_shows_a_qr_of_an_absolute_scan_url_and_polls_for_a_new_one(client, activity, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("teaching:checkin_code", args=[activity.uuid]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert "<svg" in body and 'hx-trigger="every 10s"' in body
    url = body.split('data-scan-url="', 1)[1].split('"', 1)[0]
    assert url.startswith("http://testserver/teaching/s/")
    token = url.rsplit("/", 2)[1]
    assert tokens.verify(token, timezone.now()).activity_id == activity.pk
    part = client.get(reverse("teaching:checkin_code_qr", args=[activity.uuid]) + "?purpose=out")
    assert part.status_code == 200 and b"<svg" in part.content and b"<html" not in part.content
    token = part.content.decode().split('data-scan-url="', 1)[1].split('"', 1)[0].rsplit("/", 2)[1]
    assert tokens.verify(token, timezone.now()).purpose == "out"


def test_the_display_counts_who_checked_in(client, activity, supervisor, resident):
    checkin.record_scan(resident, activity, Purpose.CHECK_IN, timezone.now())
    client.force_login(supervisor)
    part = client.get(reverse("teaching:checkin_code_qr", args=[activity.uuid]))
    assert b'id="count-in">1<' in part.content


# --- manual marks and the attendance list -------------------------------------------------------------------


def test_marking_by_hand_needs_a_reason(client, activity, supervisor, resident, audit_events):
    client.force_login(supervisor)
    url = reverse("teaching:checkin_mark", args=[activity.uuid])
    response = client.post(url, {"user": resident.pk, "purposes": ["in", "out"], "reason": "   "})
    assert response.status_code == 400 and not Attendance.objects.exists()
    response = client.post(url, {"user": resident.pk, "purposes": ["in", "out"], "reason": "手机没电"})
    assert response.status_code == 302
    rows = Attendance.objects.order_by("purpose")
    assert [(r.purpose, r.method, r.reason, r.marked_by) for r in rows] == [
        ("in", "manual", "手机没电", supervisor),
        ("out", "manual", "手机没电", supervisor),
    ]
    assert len([e for e in audit_events if e["action"] == "teaching.attendance_marked"]) == 2


def test_only_expected_residents_can_be_marked(client, activity, supervisor, other_resident, other_profile):
    client.force_login(supervisor)
    url = reverse("teaching:checkin_mark", args=[activity.uuid])
    response = client.post(url, {"user": other_resident.pk, "purposes": ["in"], "reason": "x"})
    assert response.status_code == 400 and not Attendance.objects.exists()


def test_the_attendance_list_shows_scans_marks_excused_and_missing(client, org, activity, secretary, resident):
    from decimal import Decimal

    from rotation.choices import LeaveKind, LeaveStatus
    from rotation.models import LeaveRequest

    on_leave = _person("resident_leave", "孙请假", Role.RESIDENT, base=org.internal)
    missing = _person("resident_missing", "周缺勤", Role.RESIDENT, base=org.internal)
    today = timezone.localdate(activity.starts_at)
    for user in (on_leave, missing):
        profile = ResidentProfileFactory(user=user, base=org.internal)
        RotationBlockFactory(resident=profile, department=org.cardiology, start_date=today, end_date=today)
    LeaveRequest.objects.create(
        resident=on_leave.resident_profile,
        kind=LeaveKind.choices[0][0],
        start_date=today,
        end_date=today,
        days=Decimal(1),
        reason="病",
        status=LeaveStatus.APPROVED,
    )
    checkin.record_scan(resident, activity, Purpose.CHECK_IN, timezone.now())
    client.force_login(secretary)
    response = client.get(reverse("teaching:checkin_attendance", args=[activity.uuid]))
    body = response.content.decode()
    assert response.status_code == 200
    row = lambda username: body.split(f'data-user="{username}"', 1)[1].split("</tr>", 1)[0]  # noqa: E731
    assert 'data-status="excused"' in row("resident_leave")
    assert 'data-status="missing"' in row("resident_missing")
    assert 'data-method="scan"' in row("resident") and 'data-status="incomplete"' in row("resident")


def test_manual_marks_show_apart_from_scans(client, activity, secretary, resident):
    checkin.mark_attendance(activity=activity, user=resident, purposes=["in"], reason="扫码失败", acting_user=secretary)
    client.force_login(secretary)
    body = client.get(reverse("teaching:checkin_attendance", args=[activity.uuid])).content.decode()
    assert 'data-method="manual"' in body and "扫码失败" in body


# --- permissions --------------------------------------------------------------------------------------------


def test_who_may_show_the_code(client, archive_personas, activity):
    url = reverse("teaching:checkin_code", args=[activity.uuid])
    expected = {
        "anonymous": LOGIN,
        "outsider": 404,
        "other_resident": 404,
        "resident": 403,
        "supervisor": 200,  # the teacher
        "secretary": 200,
        "head": 403,
        "clerk": 403,
        "director": 403,
        "other_director": 404,
        "office": 403,
    }
    assert_access(client, archive_personas, expected, url)
    assert_access(client, archive_personas, expected, reverse("teaching:checkin_code_qr", args=[activity.uuid]))


def test_who_may_see_the_attendance(client, archive_personas, activity):
    url = reverse("teaching:checkin_attendance", args=[activity.uuid])
    expected = {
        "anonymous": LOGIN,
        "outsider": 404,
        "other_resident": 404,
        "resident": 403,
        "supervisor": 200,
        "secretary": 200,
        "head": 200,
        "clerk": 200,
        "director": 200,
        "other_director": 404,
        "office": 200,
    }
    assert_access(client, archive_personas, expected, url)


def test_who_may_mark(client, archive_personas, activity):
    url = reverse("teaching:checkin_mark", args=[activity.uuid])
    expected = {
        "anonymous": LOGIN,
        "outsider": 404,
        "other_resident": 404,
        "resident": 403,
        "supervisor": 200,
        "secretary": 200,
        "head": 403,
        "clerk": 403,
        "director": 403,
        "other_director": 404,
        "office": 403,
    }
    assert_access(client, archive_personas, expected, url)
    post = {**{k: v for k, v in expected.items() if v != 200}, "secretary": 400}
    assert_access(client, archive_personas, post, url, method="post", data={"purposes": ["in"], "reason": ""})


def test_the_code_is_not_shown_for_a_cancelled_activity(client, activity, supervisor):
    activity.status = ActivityStatus.CANCELLED
    activity.save()
    client.force_login(supervisor)
    assert client.get(reverse("teaching:checkin_code", args=[activity.uuid])).status_code == 403


def test_who_may_open_the_anomaly_report(client, archive_personas, activity):
    expected = {
        "anonymous": LOGIN,
        "outsider": 403,
        "resident": 403,
        "supervisor": 403,
        "secretary": 403,
        "director": 403,
        "office": 200,
    }
    assert_access(client, archive_personas, expected, reverse("teaching:checkin_anomalies"))


def test_the_scan_endpoint_opens_without_login(client, activity):
    assert client.get(reverse("teaching:checkin_scan", args=["x"])).status_code == 400
