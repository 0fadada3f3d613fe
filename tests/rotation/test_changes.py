"""Manual changes through the pages: drafts edited by the office, the published schedule changed by approval.

Two 内科 residents with 12-month windows that began last month; the programme (conftest) wants
心血管内科 2, 呼吸内科 2, 消化内科 1 and one of 肾内科 / 内分泌科:

    month:      S    S+1  S+2  S+3  S+4  S+5   (S = last month, S+1 = this month: both started)
    李住院 (A): CARD CARD RESP RESP GAST NEPH
    张二 (B):   CARD CARD GAST RESP RESP ENDO
"""

import datetime
import html
from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

import rotation.workflows  # noqa: F401  (the lead wires it in RotationConfig.ready)
from accounts.choices import Role
from approvals.models import ApprovalRequest
from notices.models import Notification
from rotation.choices import EntryKind, RunStatus
from rotation.models import DepartmentSetting, RotationBlock, ScheduleChange, ScheduleEntry, ScheduleRun
from rotation.scheduling.problem import month_index, month_start
from rotation.services import changes, schedule_moves
from tests.conftest import _person
from tests.factories.residents import ResidentProfileFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

LAYOUT_A = ["CARD", "CARD", "RESP", "RESP", "GAST", "NEPH"]
LAYOUT_B = ["CARD", "CARD", "GAST", "RESP", "RESP", "ENDO"]


def text(response) -> str:
    """The page as a reader sees it (apostrophes and ampersands unescaped)."""
    return html.unescape(response.content.decode())


def month(offset: int) -> datetime.date:
    """S + offset, S being last month."""
    return month_start(month_index(timezone.localdate()) - 1 + offset)


def label(offset: int) -> str:
    return f"{month(offset):%Y-%m}"


@dataclass
class World:
    a: object
    b: object
    departments: dict
    published: object
    draft: object
    other: object  # 外科 resident's profile


def _blocks(profile, layout, departments, run, supervisor=None):
    i = 0
    while i < len(layout):
        j = i
        while j + 1 < len(layout) and layout[j + 1] == layout[i]:
            j += 1
        RotationBlock.objects.create(
            resident=profile,
            department=departments[layout[i]],
            start_date=month(i),
            end_date=month(j + 1) - datetime.timedelta(days=1),
            run=run,
            supervisor=supervisor if layout[i] == "RESP" else None,
        )
        i = j + 1


def _entries(run, profile, layout, departments):
    for offset in range(12):
        code = layout[offset] if offset < len(layout) else None
        ScheduleEntry.objects.create(
            run=run,
            resident=profile,
            month=month(offset),
            kind=EntryKind.ROTATION if code else EntryKind.FREE,
            department=departments[code] if code else None,
        )


@pytest.fixture
def world(org, personas, programme, internal_departments, supervisor, office) -> World:
    start = month(0)
    end = month(12) - datetime.timedelta(days=1)
    a = ResidentProfileFactory(user=personas["resident"], base=org.internal, start_date=start, planned_end_date=end)
    b_user = _person("resident2", "张二", Role.RESIDENT, base=org.internal)
    b = ResidentProfileFactory(user=b_user, base=org.internal, start_date=start, planned_end_date=end)
    other = ResidentProfileFactory(user=personas["other_resident"], base=org.surgery)
    published = ScheduleRun.objects.create(
        hospital=org.hospital, status=RunStatus.PUBLISHED, version=1, published_at=timezone.now(), created_by=office
    )
    _blocks(a, LAYOUT_A, internal_departments, published, supervisor=supervisor)
    _blocks(b, LAYOUT_B, internal_departments, published)
    draft = ScheduleRun.objects.create(hospital=org.hospital, status=RunStatus.DRAFT, created_by=office)
    _entries(draft, a, LAYOUT_A, internal_departments)
    _entries(draft, b, LAYOUT_B, internal_departments)
    return World(a, b, internal_departments, published, draft, other)


@pytest.fixture
def base_secretary(org):
    return _person("base_secretary", "许基秘", Role.BASE_SECRETARY, base=org.internal)


@pytest.fixture
def resp_secretary(world):
    return _person("resp_secretary", "呼吸秘书", Role.TEACHING_SECRETARY, department=world.departments["RESP"])


def draft_url(world, profile, check=False):
    name = "rotation:change_draft_check" if check else "rotation:change_draft"
    return reverse(name, args=[world.draft.uuid, profile.uuid])


def published_url(profile, check=False):
    name = "rotation:change_published_check" if check else "rotation:change_published"
    return reverse(name, args=[profile.uuid])


def draft_layout(world, profile) -> list:
    rows = ScheduleEntry.objects.filter(run=world.draft, resident=profile).order_by("month")
    return [e.department.code if e.department else None for e in rows][:6]


def block_layout(profile) -> list:
    months = schedule_moves.published_months([profile.pk])[profile.pk]
    codes = {d.pk: d.code for d in profile.base.departments.all()}
    return [codes.get(months[month(i)]) for i in range(6)]


def assign(offset_from, offset_to, department, **extra):
    return {
        "op": "assign",
        "start": label(offset_from),
        "end": label(offset_to),
        "department": str(department.pk),
        **extra,
    }


def swap(other, offset_from, offset_to, **extra):
    start, end = label(offset_from), label(offset_to)
    return {"op": "swap_resident", "start": start, "end": end, "other": str(other.uuid), **extra}


# ---------------------------------------------------------------- drafts


def test_office_sees_the_resident_months_and_the_operations(login, world, office):
    response = login(office).get(draft_url(world, world.a))
    assert response.status_code == 200
    body = text(response)
    assert "呼吸内科" in body and label(5) in body
    assert f'hx-post="{draft_url(world, world.a, check=True)}"' in body


def test_an_invalid_draft_move_shows_the_violation_and_changes_nothing(login, world, office, audit_events):
    data = assign(4, 4, world.departments["RESP"])
    response = login(office).post(draft_url(world, world.a), data)
    assert response.status_code == 400
    body = text(response)
    assert "李住院 would have 3 months in 呼吸内科; the programme requires 2." in body
    assert "李住院 would have 0 months in 消化内科; the programme requires 1." in body
    assert draft_layout(world, world.a) == LAYOUT_A
    assert not [e for e in audit_events if e["action"] == "rotation.run.change"]


def test_the_check_endpoint_answers_with_the_violations_partial(login, world, office):
    response = login(office).post(draft_url(world, world.a, check=True), assign(4, 4, world.departments["RESP"]))
    assert response.status_code == 200
    body = text(response)
    assert 'data-testid="violations"' in body and "<html" not in body
    response = login(office).post(draft_url(world, world.a, check=True), swap(world.b, 2, 4))
    assert 'data-testid="valid"' in text(response)


def test_an_incomplete_form_is_not_checked_yet(login, world, office):
    response = login(office).post(draft_url(world, world.a, check=True), {"op": "assign", "start": label(3)})
    assert 'data-testid="incomplete"' in text(response)


def test_a_valid_swap_is_applied_to_the_draft(login, world, office, audit_events):
    response = login(office).post(draft_url(world, world.a), swap(world.b, 2, 4))
    assert response.status_code == 302
    assert draft_layout(world, world.a) == ["CARD", "CARD", "GAST", "RESP", "RESP", "NEPH"]
    assert draft_layout(world, world.b) == ["CARD", "CARD", "RESP", "RESP", "GAST", "ENDO"]
    world.draft.refresh_from_db()
    assert world.draft.stats["edited_months"] == 4 and world.draft.stats["violations"] == 0
    event = next(e for e in audit_events if e["action"] == "rotation.run.change")
    assert event["user"] and event["extra"]["moves"] == "4"
    # the published schedule is untouched
    assert block_layout(world.a) == LAYOUT_A


def test_shifting_a_block_in_the_draft(login, world, office):
    data = {"op": "shift_block", "block": label(5), "new_start": label(2)}
    response = login(office).post(draft_url(world, world.a), data)
    # NEPH moves before RESP RESP GAST: still every requirement met, one block each
    assert response.status_code == 302, text(response)
    assert draft_layout(world, world.a) == ["CARD", "CARD", "NEPH", "RESP", "RESP", "GAST"]


def test_a_draft_change_touching_a_started_month_is_refused(login, world, office):
    response = login(office).post(draft_url(world, world.a), assign(1, 1, world.departments["RESP"]))
    assert response.status_code == 400
    assert f"李住院's month {label(1)} has already started and can no longer change." in text(response)
    assert draft_layout(world, world.a) == LAYOUT_A


def test_a_capacity_overflow_is_named_with_the_whole_department(login, world, office):
    DepartmentSetting.objects.filter(department=world.departments["NEPH"]).update(capacity=1)
    sentence = f"肾内科 would have 2 residents in {label(5)}; it takes at most 1."
    response = login(office).post(draft_url(world, world.b), assign(5, 5, world.departments["NEPH"]))
    assert sentence in text(response)
    # in the published schedule the other resident's block counts as well
    data = assign(5, 5, world.departments["NEPH"], reason="Wants 肾内科")
    response = login(office).post(published_url(world.b), data)
    assert response.status_code == 400 and sentence in text(response)
    assert not ScheduleChange.objects.exists()


def test_a_published_run_cannot_be_edited_as_a_draft(login, world, office):
    url = reverse("rotation:change_draft", args=[world.published.uuid, world.a.uuid])
    assert login(office).get(url).status_code == 404


def test_draft_pages_permission_matrix(client, personas, world, base_secretary):
    personas = {**personas, "base_secretary": base_secretary}
    expected = {
        "anonymous": LOGIN,
        "outsider": 404,
        "resident": 404,
        "supervisor": 404,
        "secretary": 404,
        "director": 404,
        "base_secretary": 404,
        "other_director": 404,
        "office": 200,
    }
    assert_access(client, personas, expected, draft_url(world, world.a))
    data = swap(world.b, 2, 4)
    assert_access(client, personas, expected, draft_url(world, world.a, check=True), method="post", data=data)
    # a resident who is not in the run does not exist there
    assert_access(client, personas, {"office": 404}, draft_url(world, world.other))
    assert draft_layout(world, world.a) == LAYOUT_A


# ---------------------------------------------------------------- the published schedule


def _request(login, user, world, data):
    response = login(user).post(published_url(world.a), data)
    assert response.status_code == 302, text(response)
    change = ScheduleChange.objects.get()
    approval = changes.approval_request_for(change)
    assert response["Location"] == reverse("approvals:detail", args=[approval.uuid])
    return change, approval


def _decide(login, user, approval, decision, comment=""):
    approval.refresh_from_db()
    return login(user).post(
        reverse("approvals:decide", args=[approval.uuid]),
        {"decision": decision, "version": approval.version, "comment": comment},
    )


def test_published_change_approved_by_the_director_rewrites_the_blocks_and_notifies(
    login, world, base_secretary, director, supervisor, secretary, resp_secretary, audit_events
):
    data = swap(world.b, 2, 4, reason="Exchange to balance 呼吸内科")
    change, approval = _request(login, base_secretary, world, data)
    assert change.status == "pending" and set(change.residents.all()) == {world.a, world.b}
    assert block_layout(world.a) == LAYOUT_A  # nothing changes before approval

    inbox = login(director).get(reverse("approvals:inbox")).content.decode()
    assert approval.title in inbox
    page = login(director).get(reverse("approvals:detail", args=[approval.uuid])).content.decode()
    assert 'data-testid="change-moves"' in page and "Exchange to balance" in page
    assert label(2) in page and "消化内科" in page

    response = _decide(login, director, approval, "approve")
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == "applied" and change.applied_at
    assert block_layout(world.a) == ["CARD", "CARD", "GAST", "RESP", "RESP", "NEPH"]
    assert block_layout(world.b) == ["CARD", "CARD", "RESP", "RESP", "GAST", "ENDO"]
    # the started CARD block and the untouched NEPH block are the same rows; RESP moved, so its supervisor is gone
    card = RotationBlock.objects.get(resident=world.a, department=world.departments["CARD"])
    assert card.start_date == month(0) and card.end_date == month(2) - datetime.timedelta(days=1)
    resp = RotationBlock.objects.get(resident=world.a, department=world.departments["RESP"])
    assert (resp.start_date, resp.supervisor) == (month(3), None)
    assert RotationBlock.objects.filter(resident=world.a).count() == 4

    assert Notification.objects.filter(user=world.a.user, kind="rotation.schedule_change").count() == 1
    assert Notification.objects.filter(user=world.b.user, kind="rotation.schedule_change").count() == 1
    notice = Notification.objects.get(user=resp_secretary)
    assert "李住院" in notice.body and "张二" in notice.body
    assert not Notification.objects.filter(user=secretary).exists()  # 心血管内科 is not involved
    actions = [e["action"] for e in audit_events]
    assert "rotation.schedule_change.request" in actions and "rotation.schedule_change.apply" in actions


def test_a_director_asking_goes_to_the_office(login, world, director, office):
    change, approval = _request(login, director, world, swap(world.b, 2, 4, reason="Director's own request"))
    assert list(approval.current_approvers.all()) == [office]
    assert _decide(login, office, approval, "approve").status_code == 302
    change.refresh_from_db()
    assert change.status == "applied"


def test_a_rejected_change_changes_nothing(login, world, base_secretary, director, audit_events):
    change, approval = _request(login, base_secretary, world, swap(world.b, 2, 4, reason="Try"))
    _decide(login, director, approval, "reject", comment="Not now")
    change.refresh_from_db()
    assert change.status == "rejected"
    assert block_layout(world.a) == LAYOUT_A and block_layout(world.b) == LAYOUT_B
    assert "rotation.schedule_change.reject" in [e["action"] for e in audit_events]


def test_a_withdrawn_change_is_closed(login, world, base_secretary):
    change, approval = _request(login, base_secretary, world, swap(world.b, 2, 4, reason="Try"))
    login(base_secretary).post(reverse("approvals:withdraw", args=[approval.uuid]))
    change.refresh_from_db()
    assert change.status == "withdrawn"


def test_a_change_that_became_invalid_before_approval_is_refused(login, world, base_secretary, director):
    change, approval = _request(login, base_secretary, world, swap(world.b, 2, 4, reason="Swap"))
    # meanwhile B's 消化内科 month moved elsewhere
    block = RotationBlock.objects.get(resident=world.b, department=world.departments["GAST"])
    block.department = world.departments["NEPH"]
    block.save()
    response = _decide(login, director, approval, "approve")
    follow = text(login(director).get(response["Location"]))
    assert "The change can no longer be applied" in follow
    assert f"张二's month {label(2)} has changed in the meantime" in follow
    change.refresh_from_db()
    approval.refresh_from_db()
    assert change.status == "pending" and approval.status == "pending"
    assert block_layout(world.a) == LAYOUT_A


def test_an_invalid_published_request_is_not_sent(login, world, base_secretary):
    data = assign(4, 4, world.departments["RESP"], reason="More 呼吸内科")
    response = login(base_secretary).post(published_url(world.a), data)
    assert response.status_code == 400
    assert "李住院 would have 3 months in 呼吸内科" in text(response)
    assert not ScheduleChange.objects.exists() and not ApprovalRequest.objects.exists()


def test_the_reason_is_required_for_a_published_change(login, world, base_secretary):
    response = login(base_secretary).post(published_url(world.a), swap(world.b, 2, 4))
    assert response.status_code == 400
    assert "Give the reason for this change" in text(response)
    assert not ScheduleChange.objects.exists()


def test_a_published_change_touching_a_started_month_is_refused(login, world, office):
    data = assign(1, 1, world.departments["RESP"], reason="Earlier")
    response = login(office).post(published_url(world.a), data)
    assert response.status_code == 400
    assert f"李住院's month {label(1)} has already started and can no longer change." in text(response)
    assert not ScheduleChange.objects.exists()


def test_published_pages_permission_matrix(client, personas, world, base_secretary):
    personas = {**personas, "base_secretary": base_secretary}
    url = published_url(world.a)
    statuses = {name: _get(client, personas[name], url) for name in personas}
    assert statuses["anonymous"] == LOGIN
    assert statuses["office"] == statuses["director"] == statuses["base_secretary"] == 200
    assert statuses["other_director"] == statuses["outsider"] == statuses["other_resident"] == 404
    assert statuses["resident"] == 403  # sees their own rotation, may not change it
    for name in ("supervisor", "secretary", "head", "clerk", "sysadmin", "auditor"):
        assert statuses[name] in (403, 404), name
    check = published_url(world.a, check=True)
    data = swap(world.b, 2, 4)
    assert_access(
        client,
        personas,
        {"anonymous": LOGIN, "outsider": 404, "other_director": 404, "resident": 403, "director": 200, "office": 200},
        check,
        method="post",
        data=data,
    )
    # the 外科 resident is outside the 内科 director's reach
    assert_access(client, personas, {"director": 404, "office": 200}, published_url(world.other))


def _get(client, user, url):
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    if response.status_code == 302 and "login" in response["Location"]:
        return LOGIN
    return response.status_code


def test_the_change_link_leads_to_its_approval_request(client, personas, world, base_secretary, login):
    change, approval = _request(login, base_secretary, world, swap(world.b, 2, 4, reason="Swap"))
    url = reverse("rotation:change_approval", args=[change.uuid])
    response = login(base_secretary).get(url)
    assert response["Location"] == reverse("approvals:detail", args=[approval.uuid])
    assert_access(client, personas, {"anonymous": LOGIN, "outsider": 404, "other_director": 404}, url)


def test_bad_input_gives_a_clear_message_and_keeps_what_was_typed(login, world, office, director):
    response = login(office).post(draft_url(world, world.a), assign(2, 3, world.departments["RESP"]))
    assert response.status_code == 400
    assert "Nothing would change: choose other months or another department." in text(response)
    # 王外科 (外科) is not someone the 内科 director may swap with
    data = swap(world.other, 2, 4, reason="Keep this reason")
    response = login(director).post(published_url(world.a), data)
    assert response.status_code == 400
    assert "Select a valid choice" in text(response) and "Keep this reason" in text(response)
    data = {"op": "assign", "start": label(4), "end": label(2), "department": str(world.departments["RESP"].pk)}
    response = login(office).post(draft_url(world, world.a), data)
    assert "The last month comes before the first one." in text(response)
    assert draft_layout(world, world.a) == LAYOUT_A and not ScheduleChange.objects.exists()
