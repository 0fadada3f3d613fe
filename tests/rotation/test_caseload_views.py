"""登记手册 pages: who may open what, a week logged and bulk-approved through the views, bad input
refused with a message and nothing saved, masking, corrections, the nav badge and the home panels."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import rotation.nav_caseload  # noqa: F401  (registers the nav items and home panels, as rotation.apps will)
from rotation.choices import CaseloadKind, EntryStatus
from rotation.models import CaseloadAttachment, CaseloadEntry
from rotation.services import caseload, caseload_progress
from tests.factories.residents import RotationBlockFactory
from tests.permissions import LOGIN, assert_access
from tests.rotation import test_caseload_services as _services
from tests.rotation.test_caseload_services import HTML, PDF, TODAY, days_ago, log, std

cardiology_block = _services.cardiology_block  # fixtures
standards = _services.standards

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

EVERYONE_ELSE = ["other_resident", "clerk", "director", "office", "secretary", "head", "supervisor", "outsider"]


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def entry(cardiology_block, resident):
    return log(cardiology_block.resident, resident, kind=CaseloadKind.CASE, day=days_ago(1), record_number="0012341234")


@pytest.fixture
def surgery_entry(org, other_profile, other_resident):
    block = RotationBlockFactory(
        resident=other_profile, department=org.general_surgery, start_date=days_ago(10), end_date=days_ago(-10)
    )
    return log(block.resident, other_resident, day=days_ago(1))


# --- who may ----------------------------------------------------------------------------------


def test_my_log_and_quick_entry_are_the_resident_s_pages(client, personas, cardiology_block):
    expected = {"anonymous": LOGIN, "resident": 200, **dict.fromkeys(EVERYONE_ELSE, 403)}
    for name in ("caseload_mine", "caseload_quick", "caseload_repeat"):
        assert_access(client, personas, expected, reverse(f"rotation:{name}"))
    assert_access(client, personas, expected, reverse("rotation:caseload_new", args=["procedure"]))


def test_an_entry_is_seen_by_the_people_of_its_block_only(client, personas, entry, other_supervisor):
    url = reverse("rotation:caseload_entry", args=[entry.uuid])
    expected = {
        "anonymous": LOGIN,
        "resident": 200,
        "supervisor": 200,
        "secretary": 200,
        "head": 200,
        "clerk": 200,
        "director": 200,
        "office": 200,
        "other_resident": 404,
        "other_director": 404,
        "outsider": 404,
        "auditor": 404,
    }
    assert_access(client, personas, expected, url)
    assert_access(client, {"other_supervisor": other_supervisor}, {"other_supervisor": 404}, url)


def test_only_the_resident_edits_and_only_the_supervisor_or_head_decides(client, personas, entry, other_supervisor):
    edit = reverse("rotation:caseload_entry_edit", args=[entry.uuid])
    forbidden = dict.fromkeys(["supervisor", "secretary", "head", "clerk", "director", "office"], 403)
    assert_access(client, personas, {"anonymous": LOGIN, "resident": 200, "other_resident": 404, **forbidden}, edit)
    decide = reverse("rotation:caseload_entry_decide", args=[entry.uuid])
    expected = {
        "anonymous": LOGIN,
        "resident": 403,
        "secretary": 403,
        "clerk": 403,
        "director": 403,
        "office": 403,
        "other_resident": 404,
        "outsider": 404,
    }
    assert_access(client, personas, expected, decide, method="post", data={"decision": "approve", "version": 1})
    assert_access(
        client,
        {"other_supervisor": other_supervisor},
        {"other_supervisor": 404},
        decide,
        method="post",
        data={"decision": "approve", "version": 1},
    )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED


def test_the_head_may_decide_too(login, entry, head):
    client = login(head)
    response = client.post(
        reverse("rotation:caseload_entry_decide", args=[entry.uuid]), {"decision": "approve", "version": entry.version}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == EntryStatus.APPROVED and entry.decided_by == head


def test_the_inbox_is_for_supervisors_and_heads(client, personas, entry):
    expected = {"anonymous": LOGIN, "supervisor": 200, "head": 200, "resident": 403, "secretary": 403}
    expected.update({"office": 403, "outsider": 403, "clerk": 403})
    assert_access(client, personas, expected, reverse("rotation:caseload_inbox"))


def test_block_progress_follows_the_block(client, personas, cardiology_block, other_supervisor):
    url = reverse("rotation:caseload_block", args=[cardiology_block.uuid])
    expected = {"anonymous": LOGIN, "resident": 200, "supervisor": 200, "secretary": 200, "head": 200}
    expected.update({"director": 200, "office": 200, "other_resident": 404, "other_director": 404, "outsider": 404})
    assert_access(client, personas, expected, url)
    blocks = reverse("rotation:caseload_blocks")
    expected = {"anonymous": LOGIN, "supervisor": 200, "secretary": 200, "office": 200}
    expected.update({"resident": 403, "outsider": 403, "auditor": 403})
    assert_access(client, personas, expected, blocks)


def test_a_supervisor_cannot_bulk_approve_entries_of_residents_they_do_not_supervise(
    login, entry, surgery_entry, other_supervisor
):
    client = login(other_supervisor)
    client.post(
        reverse("rotation:caseload_bulk_approve"),
        {"entry": [f"{entry.uuid}:{entry.version}", f"{surgery_entry.uuid}:1"], "scope": "selected"},
    )
    assert set(CaseloadEntry.objects.values_list("status", flat=True)) == {EntryStatus.SUBMITTED}


def test_attachments_are_served_to_the_block_s_people_only(client, personas, cardiology_block, resident):
    entry = log(
        cardiology_block.resident,
        resident,
        files=[SimpleUploadedFile("ecg.pdf", PDF, content_type="application/pdf")],
    )
    url = reverse("rotation:caseload_attachment", args=[entry.uuid, entry.attachments.get().pk])
    assert_access(client, personas, {"resident": 200, "supervisor": 200, "outsider": 404, "anonymous": LOGIN}, url)


# --- a week, end to end -------------------------------------------------------------------------


def test_a_resident_logs_a_week_and_the_supervisor_bulk_approves_it(
    login, cardiology_block, standards, resident, supervisor
):
    ecg = std(standards, "12导联")
    client = login(resident)
    week = [days_ago(n) for n in range(6, -1, -1)]
    for day in week:
        response = client.post(
            reverse("rotation:caseload_quick"),
            {"kind": "procedure", "day": day.isoformat(), "standard": ecg.pk, "count": 3, "role": "operator",
             "succeeded": "yes"},
        )  # fmt: skip
        assert response.status_code == 302, response.content.decode()[:2000]
        client.post(
            reverse("rotation:caseload_quick"),
            {"kind": "case", "day": day.isoformat(), "patient_initials": "李WH", "record_number": f"88{day:%m%d}00",
             "source": "ward", "is_main": "on"},
        )  # fmt: skip
    assert CaseloadEntry.objects.filter(status=EntryStatus.SUBMITTED).count() == 14
    before = caseload_progress.progress(cardiology_block)
    assert next(x for x in before.lines if x.standard == ecg).done == 0

    client = login(supervisor)
    inbox = client.get(reverse("rotation:caseload_inbox"))
    assert inbox.status_code == 200
    body = inbox.content.decode()
    assert "****" in body and "李**" in body and "李WH" not in body
    selection = [f"{e.uuid}:{e.version}" for e in CaseloadEntry.objects.all()]
    monday = week[-1] - datetime.timedelta(days=week[-1].weekday())
    response = client.post(
        reverse("rotation:caseload_bulk_approve"),
        {"entry": selection, "scope": f"week:{cardiology_block.resident.uuid}:{monday.isoformat()}"},
    )
    in_week = [d for d in week if d >= monday]
    assert CaseloadEntry.objects.filter(status=EntryStatus.APPROVED).count() == 2 * len(in_week)
    response = client.post(reverse("rotation:caseload_bulk_approve"), {"entry": selection, "scope": "selected"})
    assert f"{14 - 2 * len(in_week)} entries approved." in texts(response) or len(in_week) == 7
    assert CaseloadEntry.objects.filter(status=EntryStatus.APPROVED).count() == 14

    after = caseload_progress.progress(cardiology_block)
    assert next(x for x in after.lines if x.standard == ecg).done == 21
    assert next(x for x in after.lines if x.standard.name == "管床病例").done == 7
    page = login(resident).get(reverse("rotation:caseload_block", args=[cardiology_block.uuid]))
    assert "21 / " in page.content.decode()


def test_approving_a_day_approves_that_day_only(login, cardiology_block, resident, supervisor):
    a = log(cardiology_block.resident, resident, day=days_ago(2))
    b = log(cardiology_block.resident, resident, day=days_ago(1))
    client = login(supervisor)
    response = client.post(
        reverse("rotation:caseload_bulk_approve"),
        {
            "entry": [f"{a.uuid}:1", f"{b.uuid}:1"],
            "scope": f"day:{cardiology_block.resident.uuid}:{days_ago(1).isoformat()}",
        },
    )
    assert "1 entry approved." in texts(response)
    assert CaseloadEntry.objects.get(pk=a.pk).status == EntryStatus.SUBMITTED
    assert CaseloadEntry.objects.get(pk=b.pk).status == EntryStatus.APPROVED


def test_bulk_approval_reports_an_entry_the_resident_changed_meanwhile(login, cardiology_block, resident, supervisor):
    a = log(cardiology_block.resident, resident, day=days_ago(1))
    b = log(cardiology_block.resident, resident, day=days_ago(1))
    caseload.entry_update(entry=b, version=1, acting_user=resident, count=5)
    response = login(supervisor).post(
        reverse("rotation:caseload_bulk_approve"), {"entry": [f"{a.uuid}:1", f"{b.uuid}:1"], "scope": "selected"}
    )
    messages = texts(response)
    assert "1 entry approved." in messages
    assert any("changed by the resident meanwhile" in m for m in messages)
    assert CaseloadEntry.objects.get(pk=b.pk).status == EntryStatus.SUBMITTED


def test_returning_with_a_comment_through_the_page(login, entry, supervisor, resident):
    url = reverse("rotation:caseload_entry_decide", args=[entry.uuid])
    client = login(supervisor)
    response = client.post(url, {"decision": "return", "version": entry.version, "comment": ""})
    assert "Say what needs changing when you return an entry." in texts(response)
    client.post(url, {"decision": "return", "version": entry.version, "comment": "请补充来源"})
    entry.refresh_from_db()
    assert entry.status == EntryStatus.RETURNED and entry.comment == "请补充来源"
    page = login(resident).get(reverse("rotation:caseload_mine"))
    assert "请补充来源" in page.content.decode()


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"day": days_ago(90).isoformat()}, "is not in any of your rotation blocks."),
        ({"day": (TODAY + datetime.timedelta(days=1)).isoformat()}, "The date cannot be in the future."),
        ({"count": "-3"}, "The number must be at least 1."),
        ({"count": "abc"}, "Enter a whole number."),
        ({"succeeded": "no"}, "Give the reason it failed."),
    ],
)
def test_bad_quick_entries_are_refused_with_a_clear_message(login, cardiology_block, resident, data, message):
    form = {"kind": "procedure", "day": TODAY.isoformat(), "name": "腰椎穿刺术", "count": "1", "role": "operator"}
    form["succeeded"] = "yes"
    response = login(resident).post(reverse("rotation:caseload_quick"), {**form, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CaseloadEntry.objects.exists()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("big.pdf", PDF + b"0" * (40 * 1024 * 1024)), "files may be at most 10"),
        (SimpleUploadedFile("report.pdf", HTML), "is not a PDF file"),
        (SimpleUploadedFile("page.html", HTML), "is not an accepted file type"),
    ],
)
def test_bad_attachments_are_refused_and_nothing_is_saved(login, cardiology_block, resident, upload, message):
    response = login(resident).post(
        reverse("rotation:caseload_new", args=["learning"]),
        {"day": TODAY.isoformat(), "name": "教学查房", "count": 1, "attachments": upload},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CaseloadEntry.objects.exists() and not CaseloadAttachment.objects.exists()


def test_the_full_form_stores_attachments(login, cardiology_block, resident):
    response = login(resident).post(
        reverse("rotation:caseload_new", args=["learning"]),
        {
            "day": TODAY.isoformat(),
            "name": "教学查房",
            "count": 1,
            "attachments": [
                SimpleUploadedFile("a.pdf", PDF),
                SimpleUploadedFile("b.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
            ],
        },
    )
    assert response.status_code == 302
    assert CaseloadEntry.objects.get().attachments.count() == 2


# --- masking, editing, corrections ---------------------------------------------------------------


def test_patients_are_masked_in_lists_and_shown_in_full_to_the_resident_and_supervisor_only(
    login, entry, resident, supervisor, head
):
    detail = reverse("rotation:caseload_entry", args=[entry.uuid])
    for user in (resident, supervisor):
        assert "0012341234" in login(user).get(detail).content.decode()
    body = login(head).get(detail).content.decode()
    assert "0012341234" not in body and "****1234" in body and "王**" in body
    for url in (reverse("rotation:caseload_mine"), reverse("rotation:caseload_block", args=[entry.block.uuid])):
        body = login(resident).get(url).content.decode()
        assert "0012341234" not in body and "****1234" in body


def test_the_resident_edits_a_submitted_entry_but_not_an_approved_one(login, entry, resident, supervisor):
    client = login(resident)
    url = reverse("rotation:caseload_entry_edit", args=[entry.uuid])
    data = {"day": entry.day.isoformat(), "patient_initials": "王XM", "record_number": "0012349999", "source": "ward"}
    response = client.post(url, {**data, "version": entry.version})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.record_number == "0012349999" and entry.version == 2
    response = client.post(url, {**data, "version": 1})  # a stale page
    assert response.status_code == 400 and "changed meanwhile" in response.content.decode()
    caseload.entry_decide(entry=entry, version=entry.version, approve=True, acting_user=supervisor)
    assert client.get(url).status_code == 403
    delete = reverse("rotation:caseload_entry_delete", args=[entry.uuid])
    assert client.post(delete, {"version": 3}).status_code == 403


def test_the_resident_deletes_an_entry_not_yet_approved(login, entry, resident):
    response = login(resident).post(
        reverse("rotation:caseload_entry_delete", args=[entry.uuid]), {"version": entry.version}
    )
    assert response.status_code == 302 and not CaseloadEntry.objects.exists()


def test_a_correction_through_the_pages(login, entry, resident, supervisor):
    caseload.entry_decide(entry=entry, version=entry.version, approve=True, acting_user=supervisor)
    client = login(resident)
    url = reverse("rotation:caseload_entry_correct", args=[entry.uuid])
    data = {"day": entry.day.isoformat(), "patient_initials": "王XM", "record_number": "0012340000", "source": "ward"}
    response = client.post(url, data)
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert CaseloadEntry.objects.count() == 1
    response = client.post(url, {**data, "correction_reason": "病历号录错"})
    correction = CaseloadEntry.objects.get(corrects=entry)
    assert response.status_code == 302 and correction.status == EntryStatus.SUBMITTED
    login(supervisor).post(
        reverse("rotation:caseload_entry_decide", args=[correction.uuid]), {"decision": "approve", "version": 1}
    )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUPERSEDED


def test_same_as_yesterday_through_the_pages(login, cardiology_block, resident):
    log(cardiology_block.resident, resident, day=days_ago(1), count=2)
    log(cardiology_block.resident, resident, kind=CaseloadKind.CASE, day=days_ago(1))
    client = login(resident)
    page = client.get(reverse("rotation:caseload_repeat"))
    assert page.status_code == 200
    rows = page.context["entries"]
    assert [e.preselected for e in rows] == [True, False]
    client.post(reverse("rotation:caseload_repeat"), {"entry": [str(rows[0].uuid)]})
    today = CaseloadEntry.objects.get(day=TODAY)
    assert today.count == 2 and today.status == EntryStatus.SUBMITTED


def test_drafts_are_kept_and_sent_later(login, cardiology_block, resident, supervisor):
    client = login(resident)
    client.post(
        reverse("rotation:caseload_quick"),
        {"kind": "learning", "day": TODAY.isoformat(), "name": "小讲课", "draft": "1"},
    )
    draft = CaseloadEntry.objects.get()
    assert draft.status == EntryStatus.DRAFT
    assert not login(supervisor).get(reverse("rotation:caseload_inbox")).context["groups"]
    login(resident).post(reverse("rotation:caseload_submit_drafts"))
    draft.refresh_from_db()
    assert draft.status == EntryStatus.SUBMITTED


# --- nav, home, queries ------------------------------------------------------------------------


def test_the_nav_badge_counts_waiting_entries_and_the_home_panels_show_progress(
    login, entry, cardiology_block, resident, supervisor
):
    response = login(supervisor).get(reverse("core:home"))
    items = {str(i["label"]): i["badge"] for i in response.context["nav_items"]}
    assert items["Caseload approvals"] == 1
    assert b'data-testid="caseload-approvals-panel"' in response.content
    response = login(resident).get(reverse("core:home"))
    assert "Caseload log" in {str(i["label"]) for i in response.context["nav_items"]}
    assert b'data-testid="caseload-panel"' in response.content


def test_the_inbox_does_not_query_per_entry(
    login, cardiology_block, resident, supervisor, django_assert_max_num_queries
):
    for n in range(12):
        log(cardiology_block.resident, resident, day=days_ago(n % 6))
    client = login(supervisor)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("rotation:caseload_inbox"))
    assert len(response.context["groups"][0]["weeks"]) >= 1


def test_the_quick_page_shows_the_department_list(login, cardiology_block, standards, resident):
    body = login(resident).get(reverse("rotation:caseload_quick") + "?kind=disease").content.decode()
    assert "心力衰竭" in body and 'name="count"' in body
