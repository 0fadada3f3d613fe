"""iCal feeds: the subscribe page, the token in the address, and RFC 5545 text."""

import datetime
import re

import pytest
from django.urls import reverse

from rotation import ical
from rotation.models import FeedToken
from tests.factories.residents import RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _unfold(text: str) -> str:
    return text.replace("\r\n ", "")


def _feed(client, token: str):
    return client.get(reverse("rotation:ical_feed"), {"token": token})


@pytest.fixture
def blocks(org, resident_profile, supervisor):
    supervisor.phone = "13912345678"
    supervisor.save()
    return [
        RotationBlockFactory(
            resident=resident_profile,
            department=org.cardiology,
            supervisor=supervisor,
            start_date=datetime.date(2026, 3, 1),
            end_date=datetime.date(2026, 4, 30),
        ),
        RotationBlockFactory(
            resident=resident_profile,
            department=org.general_surgery,
            start_date=datetime.date(2026, 5, 1),
            end_date=datetime.date(2026, 5, 31),
        ),
    ]


def test_the_subscribe_page_makes_one_token_and_shows_https_and_webcal_addresses(
    login, resident, resident_profile, audit_events
):
    client = login(resident)
    response = client.get(reverse("rotation:ical_subscribe"), secure=True)
    assert response.status_code == 200
    token = FeedToken.objects.get(user=resident).token
    assert len(token) >= 43
    html = response.content.decode()
    assert f"https://testserver/rotation/calendar.ics?token={token}" in html
    assert f"webcal://testserver/rotation/calendar.ics?token={token}" in html
    assert "<svg" in html  # the QR code
    client.get(reverse("rotation:ical_subscribe"))
    assert FeedToken.objects.get(user=resident).token == token  # a second visit keeps it
    assert [e["action"] for e in audit_events].count("rotation.feed_create") == 1


def test_the_feed_is_a_valid_calendar_with_one_all_day_event_per_block(client, resident, blocks):
    token = ical.feed_token_get_or_create(user=resident).token
    response = _feed(client, token)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")  # CRLF only
    body = _unfold(text)
    assert body.count("BEGIN:VEVENT") == 2 and body.count("END:VEVENT") == 2
    first = body.split("BEGIN:VEVENT")[1]
    assert f"UID:{blocks[0].uuid}@zhupei" in first
    assert "SUMMARY:Rotation: 心血管内科" in first
    assert "DTSTART;VALUE=DATE:20260301" in first
    assert "DTEND;VALUE=DATE:20260501" in first  # exclusive: the day after 30 April
    assert "DESCRIPTION:Supervising doctor: 张带教" in first
    assert re.search(r"DTSTAMP:\d{8}T\d{6}Z", first)
    assert "13912345678" not in body and "139****5678" not in body
    assert "Supervising doctor not assigned yet" in body.split("BEGIN:VEVENT")[2]


def test_last_modified_follows_publication_or_supervisor_assignment(client, resident, blocks):
    from django.utils import timezone

    blocks[0].supervisor_assigned_at = timezone.make_aware(datetime.datetime(2026, 2, 20, 9, 30))
    blocks[0].save()
    body = _unfold(_feed(client, ical.feed_token_get_or_create(user=resident).token).content.decode())
    assert "LAST-MODIFIED:20260220T013000Z" in body  # Asia/Shanghai 09:30 is 01:30 UTC


def test_commas_semicolons_and_backslashes_in_names_are_escaped(client, resident, blocks):
    department = blocks[0].department
    department.name = "心内科, 一病区; A\\B"
    department.save()
    body = _unfold(_feed(client, ical.feed_token_get_or_create(user=resident).token).content.decode())
    assert "SUMMARY:Rotation: 心内科\\, 一病区\\; A\\\\B" in body


def test_long_lines_fold_at_75_octets_without_splitting_characters(client, resident, blocks):
    department = blocks[0].department
    department.name = "心血管内科" * 12
    department.save()
    text = _feed(client, ical.feed_token_get_or_create(user=resident).token).content.decode("utf-8")
    lines = text.split("\r\n")
    assert max(len(line.encode("utf-8")) for line in lines) <= 75
    assert any(line.startswith(" ") for line in lines)
    assert "SUMMARY:Rotation: " + "心血管内科" * 12 in _unfold(text)


def test_fold_keeps_short_lines_and_counts_the_leading_space():
    assert ical.fold("SUMMARY:short") == "SUMMARY:short"
    folded = ical.fold("X:" + "a" * 200).split("\r\n ")
    assert len(folded[0].encode()) == 75 and all(len(p.encode()) + 1 <= 75 for p in folded[1:])
    assert "".join(folded) == "X:" + "a" * 200


def test_a_supervisor_gets_the_blocks_they_supervise(client, supervisor, blocks):
    body = _unfold(_feed(client, ical.feed_token_get_or_create(user=supervisor).token).content.decode())
    assert body.count("BEGIN:VEVENT") == 1
    assert f"UID:{blocks[0].uuid}-supervision@zhupei" in body
    assert "SUMMARY:Supervising: 李住院 (心血管内科)" in body


def test_reset_replaces_the_token_audits_it_and_the_old_address_is_gone(client, login, resident, blocks, audit_events):
    old = ical.feed_token_get_or_create(user=resident).token
    response = login(resident).post(reverse("rotation:ical_reset"))
    assert response.status_code == 302
    new = FeedToken.objects.get(user=resident).token
    assert new != old
    assert any(e["action"] == "rotation.feed_reset" for e in audit_events)
    client.logout()
    assert _feed(client, old).status_code == 404
    assert _feed(client, new).status_code == 200


def test_reset_needs_post(login, resident, resident_profile):
    assert login(resident).get(reverse("rotation:ical_reset")).status_code == 405


def test_unknown_or_missing_tokens_and_inactive_accounts_are_not_found(client, resident, blocks):
    token = ical.feed_token_get_or_create(user=resident).token
    assert _feed(client, "nope").status_code == 404
    assert client.get(reverse("rotation:ical_feed")).status_code == 404
    assert _feed(client, "x" * 500).status_code == 404
    resident.status = "disabled"
    resident.save()
    assert _feed(client, token).status_code == 404


def test_subscribe_permissions(client, personas, resident_profile):
    expected = {
        "anonymous": LOGIN,
        "resident": 200,
        "supervisor": 200,
        "secretary": 403,
        "office": 403,
        "outsider": 403,
    }
    assert_access(client, personas, expected, reverse("rotation:ical_subscribe"))
    assert_access(
        client,
        personas,
        {"anonymous": LOGIN, "resident": 302, "outsider": 403},
        reverse("rotation:ical_reset"),
        method="post",
    )
