"""我的轮转: a resident's whole training as a timeline, and the read-only view of any resident's."""

import datetime

import pytest
from django.urls import reverse

from rotation import selectors
from rotation.months import month_end
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

TODAY = datetime.date(2026, 3, 15)


@pytest.fixture
def training(org, resident_profile, supervisor, internal_departments):
    """李住院: 心血管内科 (done), 呼吸内科 (now, supervised), a gap in May, 消化内科 (next, no supervisor)."""
    d = internal_departments
    resident_profile.start_date = datetime.date(2026, 1, 1)
    resident_profile.planned_end_date = datetime.date(2026, 8, 31)
    resident_profile.save()
    return [
        RotationBlockFactory(
            resident=resident_profile,
            department=d["CARD"],
            supervisor=supervisor,
            start_date=datetime.date(2026, 1, 1),
            end_date=datetime.date(2026, 2, 28),
        ),
        RotationBlockFactory(
            resident=resident_profile,
            department=d["RESP"],
            supervisor=supervisor,
            start_date=datetime.date(2026, 3, 1),
            end_date=datetime.date(2026, 4, 30),
        ),
        RotationBlockFactory(
            resident=resident_profile,
            department=d["GAST"],
            start_date=datetime.date(2026, 6, 1),
            end_date=datetime.date(2026, 6, 30),
        ),
    ]


def test_the_timeline_has_completed_current_upcoming_and_gaps(resident_profile, training):
    rotation = selectors.resident_rotation(resident_profile, today=TODAY)
    assert [(i.state, i.block.department.code if i.block else None) for i in rotation.items] == [
        ("completed", "CARD"),
        ("current", "RESP"),
        ("gap", None),
        ("upcoming", "GAST"),
        ("gap", None),
    ]
    gap = rotation.items[2]
    assert (gap.start, gap.end, gap.months) == (datetime.date(2026, 5, 1), datetime.date(2026, 5, 31), 1.0)
    assert rotation.items[-1].start == datetime.date(2026, 7, 1)
    assert rotation.current == training[1]
    assert rotation.next == training[2]
    assert rotation.days_until_next == (datetime.date(2026, 6, 1) - TODAY).days
    assert rotation.items[0].months == 2.0


def test_a_late_start_of_the_first_block_shows_a_gap_from_the_training_start(resident_profile, org):
    resident_profile.start_date = datetime.date(2026, 1, 1)
    resident_profile.save()
    RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        start_date=datetime.date(2026, 2, 1),
        end_date=datetime.date(2026, 2, 14),
    )
    rotation = selectors.resident_rotation(resident_profile, today=TODAY)
    assert rotation.items[0].is_gap and rotation.items[0].end == datetime.date(2026, 1, 31)
    assert rotation.items[1].months == 0.5


def test_the_page_shows_the_current_department_supervisor_masked_and_what_comes_next(
    login, resident, resident_profile, training, supervisor, monkeypatch
):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)
    supervisor.phone = "13912345678"
    supervisor.save()
    response = login(resident).get(reverse("rotation:mine"))
    assert response.status_code == 200
    html = response.content.decode()
    current = html.split('data-testid="rotation-current"')[1].split("</section>")[0]
    assert "呼吸内科" in current and "张带教" in current and "139****5678" in current
    assert "13912345678" not in html
    upcoming = html.split('data-testid="rotation-next"')[1].split("</section>")[0]
    assert "消化内科" in upcoming and "2026-06-01" in upcoming and "in 78 days" in upcoming
    assert html.count('data-state="gap"') == 2
    assert "No supervisor yet" in html  # 消化内科 has none


def test_a_resident_sees_only_their_own_schedule(login, resident, resident_profile, training, other_profile, org):
    RotationBlockFactory(
        resident=other_profile,
        department=org.general_surgery,
        start_date=datetime.date(2026, 3, 1),
        end_date=datetime.date(2026, 3, 31),
    )
    html = login(resident).get(reverse("rotation:mine")).content.decode()
    assert "普通外科" not in html and "王外科" not in html
    assert "呼吸内科" in html


def test_a_resident_without_blocks_sees_a_clear_empty_state(login, resident, resident_profile):
    response = login(resident).get(reverse("rotation:mine"))
    assert response.status_code == 200
    assert 'data-testid="rotation-empty"' in response.content.decode()
    assert "No rotation has been scheduled for you yet" in response.content.decode()


def test_a_resident_without_an_archive_gets_the_empty_state_too(login, resident):
    response = login(resident).get(reverse("rotation:mine"))
    assert response.status_code == 200 and 'data-testid="rotation-empty"' in response.content.decode()


def test_my_rotation_permissions(client, personas):
    expected = {"anonymous": LOGIN, "resident": 200, "office": 404, "supervisor": 404, "outsider": 404}
    assert_access(client, personas, expected, reverse("rotation:mine"))


def test_who_may_read_a_residents_rotation(client, archive_personas, resident_profile, training):
    url = reverse("rotation:resident", args=[resident_profile.uuid])
    expected = {
        "anonymous": LOGIN,
        "resident": 200,
        "other_resident": 404,
        "supervisor": 200,
        "other_supervisor": 404,
        "secretary": 200,
        "head": 200,
        "mentor": 200,
        "director": 200,
        "other_director": 404,
        "office": 200,
        "outsider": 404,
        "auditor": 404,
    }
    assert_access(client, archive_personas, expected, url)


def test_another_residents_rotation_is_not_found_and_audited(login, other_resident, resident_profile, audit_events):
    response = login(other_resident).get(reverse("rotation:resident", args=[resident_profile.uuid]))
    assert response.status_code == 404
    assert any(e["action"] == "access.not_found" for e in audit_events)


def test_the_read_only_view_shows_the_residents_blocks(login, director, resident_profile, training):
    html = login(director).get(reverse("rotation:resident", args=[resident_profile.uuid])).content.decode()
    assert "Rotation of 李住院" in html
    assert "心血管内科" in html and "呼吸内科" in html and "消化内科" in html
    assert 'data-testid="subscribe-link"' not in html


def test_the_timeline_query_count_does_not_grow_with_blocks(login, resident, org, django_assert_max_num_queries):
    profile = ResidentProfileFactory(user=resident, base=org.internal, start_date=datetime.date(2024, 1, 1))
    for month in range(1, 13):
        RotationBlockFactory(
            resident=profile,
            department=org.cardiology,
            start_date=datetime.date(2024, month, 1),
            end_date=month_end(datetime.date(2024, month, 1)),
        )
    client = login(resident)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("rotation:mine")).status_code == 200


def test_the_home_panel_shows_now_and_next(rf, resident, resident_profile, training, monkeypatch):
    from django.template.loader import render_to_string

    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)
    request = rf.get("/")
    request.user = resident
    panel = selectors.home_rotation(request)
    assert (panel["current"], panel["next"], panel["days_until_next"]) == (training[1], training[2], 78)
    html = render_to_string("rotation/schedule/home_panel.html", {"panel": panel})
    assert "呼吸内科" in html and "消化内科" in html and "in 78 days" in html


def test_archive_timeline_entries_link_to_the_rotation_page(resident, resident_profile, training):
    from core import timeline

    entries = [e for e in timeline.entries(timeline.RESIDENT, resident_profile, resident) if e.kind == "rotation"]
    assert len(entries) == 3
    assert {e.url for e in entries} == {reverse("rotation:resident", args=[resident_profile.uuid])}
