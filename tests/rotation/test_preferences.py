"""Elective preferences: the office opens windows, residents rank their groups' departments while one is open."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from rotation.choices import RequirementKind
from rotation.models import ElectivePreference, PreferenceWindow, Programme
from rotation.services import elective_preferences
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NOT_OFFICE = ["resident", "other_resident", "supervisor", "secretary", "head", "clerk", "director", "other_director",
              "sysadmin", "auditor", "outsider"]  # fmt: skip


def make_window(org, office, *, hours_from=-1, hours_to=24, **scope) -> PreferenceWindow:
    now = timezone.now()
    return PreferenceWindow.objects.create(
        hospital=org.hospital,
        opens_at=now + timedelta(hours=hours_from),
        closes_at=now + timedelta(hours=hours_to),
        created_by=office,
        **scope,
    )


@pytest.fixture
def group(programme):
    return programme.requirements.get(kind=RequirementKind.ELECTIVE)


@pytest.fixture
def open_window(org, office):
    return make_window(org, office)


def local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


# ---------------------------------------------------------------- services
def test_window_for_matches_hospital_base_and_cohort(org, office, resident_profile, other_profile):
    assert elective_preferences.window_for(resident_profile) is None
    make_window(org, office, base=org.surgery)
    make_window(org, office, cohort=2024)
    make_window(org, office, hours_from=-48, hours_to=-24)  # closed
    make_window(org, office, hours_from=24, hours_to=48)  # not open yet
    assert elective_preferences.window_for(resident_profile) is None
    assert elective_preferences.window_for(other_profile) is not None  # 外科, cohort 2024
    mine = make_window(org, office, base=org.internal, cohort=2025)
    assert elective_preferences.window_for(resident_profile) == mine


def test_save_preferences_replaces_the_ranking(group, resident_profile, open_window, internal_departments, resident):
    d = internal_departments
    elective_preferences.save_preferences(resident_profile, group, [d["NEPH"].pk, d["ENDO"].pk], acting_user=resident)
    elective_preferences.save_preferences(resident_profile, group, [d["ENDO"].pk], acting_user=resident)
    assert elective_preferences.preferences_for([resident_profile]) == {resident_profile.pk: {group.pk: [d["ENDO"].pk]}}


@pytest.mark.parametrize(
    ("ranking", "message"),
    [
        (["NEPH", "NEPH"], "Each department can be ranked only once."),
        (["NEPH", "CARD"], "Only the departments of this elective group can be ranked."),
    ],
)
def test_save_preferences_refuses_bad_rankings(group, resident_profile, open_window, internal_departments, resident,
                                               ranking, message):  # fmt: skip
    with pytest.raises(ValidationError, match=message):
        elective_preferences.save_preferences(
            resident_profile, group, [internal_departments[c].pk for c in ranking], acting_user=resident
        )
    assert not ElectivePreference.objects.exists()


def test_save_preferences_needs_an_open_window_and_a_group_of_ones_own_programme(
    group, resident_profile, other_profile, internal_departments, org, office, resident
):
    with pytest.raises(ValidationError, match="Elective preferences are closed"):
        elective_preferences.save_preferences(
            resident_profile, group, [internal_departments["NEPH"].pk], acting_user=resident
        )
    make_window(org, office)
    with pytest.raises(ValidationError, match="not an elective group of your programme"):
        elective_preferences.save_preferences(
            other_profile, group, [internal_departments["NEPH"].pk], acting_user=resident
        )
    mandatory = group.programme.requirements.filter(kind=RequirementKind.MANDATORY).first()
    with pytest.raises(ValidationError, match="not an elective group of your programme"):
        elective_preferences.save_preferences(resident_profile, mandatory, [], acting_user=resident)


def test_preferences_for_reads_everyone_in_one_query(group, resident_profile, other_profile, internal_departments,
                                                     django_assert_num_queries):  # fmt: skip
    d = internal_departments
    ElectivePreference.objects.create(resident=resident_profile, requirement=group, department=d["ENDO"], rank=2)
    ElectivePreference.objects.create(resident=resident_profile, requirement=group, department=d["NEPH"], rank=1)
    with django_assert_num_queries(1):
        result = elective_preferences.preferences_for([resident_profile, other_profile.pk])
    assert result == {resident_profile.pk: {group.pk: [d["NEPH"].pk, d["ENDO"].pk]}, other_profile.pk: {}}


# ---------------------------------------------------------------- windows (the office)
def test_window_list_permissions(client, personas):
    expected = {"anonymous": LOGIN, "office": 200} | {n: 403 for n in NOT_OFFICE}
    assert_access(client, personas, expected, reverse("rotation:preference_windows"))


def test_window_close_permissions(client, personas, org, office):
    window = make_window(org, office)
    expected = {"anonymous": LOGIN} | {n: 404 for n in NOT_OFFICE}
    assert_access(
        client, personas, expected, reverse("rotation:preference_window_close", args=[window.uuid]), method="post"
    )
    window.refresh_from_db()
    assert window.closes_at > timezone.now()


def test_the_office_opens_a_window_for_a_cohort_of_a_base_and_closes_it_early(login, office, org, audit_events):
    client = login(office)
    now = timezone.now()
    response = client.post(
        reverse("rotation:preference_windows"),
        {"hospital": org.hospital.pk, "base": org.internal.pk, "cohort": 2025,
         "opens_at": local(now - timedelta(minutes=5)), "closes_at": local(now + timedelta(days=7))},
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    assert "The preference window was opened." in page and "cohort 2025" in page and ">open<" in page
    window = PreferenceWindow.objects.get()
    assert (window.base, window.cohort, window.created_by) == (org.internal, 2025, office)

    response = client.post(reverse("rotation:preference_window_close", args=[window.uuid]), follow=True)
    assert "The preference window was closed." in response.content.decode()
    window.refresh_from_db()
    assert window.closes_at <= timezone.now()
    actions = [e["action"] for e in audit_events]
    assert "rotation.preference_window_open" in actions and "rotation.preference_window_close" in actions

    again = client.post(reverse("rotation:preference_window_close", args=[window.uuid]), follow=True)
    assert "This window is closed already." in again.content.decode()


def test_closing_a_window_that_has_not_opened_cancels_it(login, office, org):
    window = make_window(org, office, hours_from=24, hours_to=48)
    login(office).post(reverse("rotation:preference_window_close", args=[window.uuid]))
    assert not PreferenceWindow.objects.exists()


@pytest.mark.parametrize(
    ("opens", "closes", "message"),
    [(2, 1, "The window must close after it opens."), (-48, -24, "The window would close in the past.")],
)
def test_bad_windows_are_refused_and_kept_on_the_form(login, office, org, opens, closes, message):
    now = timezone.now()
    data = {"hospital": org.hospital.pk, "opens_at": local(now + timedelta(hours=opens)),
            "closes_at": local(now + timedelta(hours=closes))}  # fmt: skip
    response = login(office).post(reverse("rotation:preference_windows"), data)
    page = response.content.decode()
    assert response.status_code == 200 and message in page and data["opens_at"] in page
    assert not PreferenceWindow.objects.exists()


# ---------------------------------------------------------------- my elective preferences (residents)
def test_my_preferences_permissions(client, personas, resident_profile, programme):
    expected = {"anonymous": LOGIN, "resident": 200} | {
        n: 404 for n in NOT_OFFICE + ["office"] if n not in {"resident", "other_resident"}
    }
    assert_access(client, personas, expected, reverse("rotation:my_preferences"))


def test_a_resident_ranks_the_options_while_the_window_is_open(
    login, resident, resident_profile, group, open_window, internal_departments, audit_events
):
    d = internal_departments
    client = login(resident)
    url = reverse("rotation:my_preferences")
    page = client.get(url).content.decode()
    assert 'data-testid="window-open"' in page and f'name="g{group.pk}-1"' in page and f'name="g{group.pk}-2"' in page

    response = client.post(url, {f"g{group.pk}-1": d["ENDO"].pk, f"g{group.pk}-2": d["NEPH"].pk}, follow=True)

    assert "Your elective preferences were saved." in response.content.decode()
    assert elective_preferences.preferences_for([resident_profile])[resident_profile.pk] == {
        group.pk: [d["ENDO"].pk, d["NEPH"].pk]
    }
    assert any(e["action"] == "rotation.preferences_save" for e in audit_events)


@pytest.mark.parametrize(
    ("ranks", "message"),
    [
        (["NEPH", "NEPH"], "Each department can be ranked only once."),
        (["CARD", ""], "Only the departments of this elective group can be ranked."),
        (["abc", ""], "Only the departments of this elective group can be ranked."),
    ],
)
def test_bad_rankings_save_nothing_and_keep_the_choices(
    login, resident, resident_profile, group, open_window, internal_departments, ranks, message
):
    ElectivePreference.objects.create(
        resident=resident_profile, requirement=group, department=internal_departments["ENDO"], rank=1
    )
    values = [internal_departments[r].pk if r in internal_departments else r for r in ranks]
    data = {f"g{group.pk}-{i}": v for i, v in enumerate(values, start=1)}

    response = login(resident).post(reverse("rotation:my_preferences"), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved: please correct the marked groups." in page and message in page
    if ranks == ["NEPH", "NEPH"]:
        assert page.count(f'value="{internal_departments["NEPH"].pk}" selected') == 2  # what was chosen stays
    assert list(ElectivePreference.objects.values_list("department__code", flat=True)) == ["ENDO"]


def test_a_closed_window_shows_the_ranking_read_only_and_refuses_to_save(
    login, resident, resident_profile, group, internal_departments, org, office
):
    make_window(org, office, hours_from=48, hours_to=72)
    ElectivePreference.objects.create(
        resident=resident_profile, requirement=group, department=internal_departments["NEPH"], rank=1
    )
    client = login(resident)
    page = client.get(reverse("rotation:my_preferences")).content.decode()
    assert 'data-testid="window-closed"' in page and "The next window opens on" in page
    assert "<li>肾内科</li>" in page and "<select" not in page

    response = client.post(reverse("rotation:my_preferences"), {f"g{group.pk}-1": internal_departments["ENDO"].pk},
                           follow=True)  # fmt: skip
    assert "Elective preferences are closed: no window is open for you now. Nothing was saved." in (
        response.content.decode()
    )
    assert list(ElectivePreference.objects.values_list("department__code", flat=True)) == ["NEPH"]


def test_a_resident_without_a_programme_gets_an_explanation(login, resident, resident_profile, org, office):
    make_window(org, office)
    page = login(resident).get(reverse("rotation:my_preferences")).content.decode()
    assert 'data-testid="no-programme"' in page and "has no rotation programme yet" in page


def test_a_programme_without_groups_says_so(login, other_resident, other_profile, org):
    Programme.objects.create(base=org.surgery, code="0900", name="外科", total_months=33)
    page = login(other_resident).get(reverse("rotation:my_preferences")).content.decode()
    assert 'data-testid="no-groups"' in page
