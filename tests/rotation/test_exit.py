"""出科 through the views as the real roles: the resident's self-summary, the department's theory score, the
supervisor's assessment with the automatic-fail panel, the head's agreement, the base's review; failed exits
open a make-up task; refusals say why and save nothing."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from core import timeline
from notices.models import Notification
from residents.choices import ConductKind
from residents.models import ConductRecord
from rotation.choices import CaseloadKind, EntryStatus, ExitStage, LeaveKind, LeaveStatus
from rotation.models import (
    CaseloadEntry,
    CaseloadStandard,
    ExitForm,
    ExitReview,
    LeaveRequest,
    MakeupTask,
)
from rotation.services import entry_education, exits
from tests.factories.residents import RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SUMMARY = "这四周我在心血管内科管理了十二位病人，学会了心电图判读和心衰的规范治疗。"
GOOD = {
    "item_ethics": "8",
    "item_attitude": "7",
    "item_communication": "6.5",
    "item_attendance": "7",
    "item_records": "6",
    "item_handbook": "6",
    "item_learning": "6",
    "item_skills": "36",
}  # 46.5 daily + 36 skills + theory 85 % of 10 = 8.5 → 91


@pytest.fixture
def block(org, resident_profile, supervisor):
    """李住院 in 心血管内科 for 66 days, ending in five days: the self-summary is open."""
    today = timezone.localdate()
    return RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today - datetime.timedelta(days=60),
        end_date=today + datetime.timedelta(days=5),
    )


@pytest.fixture
def people(personas, other_supervisor):
    return {**personas, "other_supervisor": other_supervisor}


def url(name: str, block) -> str:
    return reverse(f"rotation:blocks_{name}", args=[block.uuid])


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def version(block) -> int:
    return ExitReview.objects.get(block=block).version


def write_summary(client, resident, block):
    client.force_login(resident)
    response = client.post(url("exit_summary", block), {"summary": SUMMARY})
    assert response.status_code == 302, response.content.decode()[:2000]


def enter_theory(client, secretary, block, score="85"):
    client.force_login(secretary)
    response = client.post(url("exit_theory", block), {"score": score, "version": version(block)})
    assert response.status_code == 302


def assess(client, supervisor, block, scores=GOOD):
    client.force_login(supervisor)
    return client.post(url("exit_assess", block), {**scores, "comment": "认真负责", "version": version(block)})


def head_decides(client, head, block, agreed="yes", comment=""):
    client.force_login(head)
    return client.post(url("exit_head", block), {"agreed": agreed, "comment": comment, "version": version(block)})


def base_closes(client, director, block, passed="yes", comment=""):
    client.force_login(director)
    return client.post(url("exit_review", block), {"passed": passed, "comment": comment, "version": version(block)})


def until_base(client, people, block, scores=GOOD, agreed="yes", comment=""):
    write_summary(client, people["resident"], block)
    enter_theory(client, people["secretary"], block)
    assert assess(client, people["supervisor"], block, scores).status_code == 302
    assert head_decides(client, people["head"], block, agreed, comment).status_code == 302
    return ExitReview.objects.get(block=block)


# --- the whole way -------------------------------------------------------------------------------


def test_the_whole_exit_goes_from_the_resident_to_the_base_and_into_the_archive(client, people, block, audit_events):
    resident, supervisor, secretary, head, director = (
        people[k] for k in ("resident", "supervisor", "secretary", "head", "director")
    )
    client.force_login(resident)
    page = client.get(url("block", block))
    assert page.status_code == 200 and "Write my self-summary" in page.content.decode()
    assert client.get(url("exit_summary", block)).status_code == 200
    write_summary(client, resident, block)
    review = ExitReview.objects.get(block=block)
    assert review.stage == ExitStage.ASSESSMENT and review.summary == SUMMARY
    assert Notification.objects.filter(user=supervisor, kind="rotation.exit_assess").exists()
    assert Notification.objects.filter(user=secretary, kind="rotation.exit_theory").exists()

    client.force_login(supervisor)
    inbox = client.get(reverse("rotation:blocks_exits"))
    assert "李住院" in inbox.content.decode() and 'data-testid="exits-assess"' in inbox.content.decode()
    form_page = client.get(url("exit_assess", block))
    assert "has not entered the theory exam score" in form_page.content.decode()
    assert 'data-testid="auto-fail-panel"' in form_page.content.decode()

    enter_theory(client, secretary, block, "85")
    assert ExitReview.objects.get(block=block).theory_score == Decimal("85")

    response = assess(client, supervisor, block)
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.stage == ExitStage.HEAD and review.total == Decimal("91.0") and review.auto_fail == []
    assert review.scores["communication"] == 6.5 and review.assessor == supervisor
    assert Notification.objects.filter(user=head, kind="rotation.exit_head").exists()

    assert head_decides(client, head, block).status_code == 302
    review.refresh_from_db()
    assert review.stage == ExitStage.BASE and review.head_agreed is True
    assert Notification.objects.filter(user=director, kind="rotation.exit_base").exists()

    client.force_login(director)
    assert "Nothing fails this exit." in client.get(url("block", block)).content.decode()
    assert base_closes(client, director, block).status_code == 302
    review.refresh_from_db()
    assert review.stage == ExitStage.PASSED and review.passed is True and review.reviewer == director
    assert not MakeupTask.objects.exists()
    assert Notification.objects.filter(user=resident, kind="rotation.exit_passed").exists()

    entries = [e for e in timeline.entries(timeline.RESIDENT, block.resident, director) if e.kind == "exit"]
    assert len(entries) == 1 and "passed" in str(entries[0].detail) and "91" in str(entries[0].detail)
    actions = [e["action"] for e in audit_events]
    for action in ("exit_summary", "exit_theory", "exit_assess", "exit_head", "exit_close"):
        assert f"rotation.{action}" in actions
    assert review.version == 6  # created 1, summary, theory, assessment, head, base


def test_the_block_page_shows_the_result_to_the_resident(client, people, block):
    until_base(client, people, block)
    base_closes(client, people["director"], block)
    client.force_login(people["resident"])
    body = client.get(url("block", block)).content.decode()
    assert 'data-testid="exit-result"' in body and "Passed" in body
    mine = client.get(reverse("rotation:blocks_mine")).content.decode()
    assert "心血管内科" in mine and 'data-testid="current-block"' in mine


def test_the_head_assesses_a_block_without_a_supervisor(client, people, block):
    block.supervisor = None
    block.save()
    write_summary(client, people["resident"], block)
    assert Notification.objects.filter(user=people["head"], kind="rotation.exit_assess").exists()
    enter_theory(client, people["secretary"], block)
    assert assess(client, people["head"], block).status_code == 302
    assert ExitReview.objects.get(block=block).stage == ExitStage.HEAD


# --- automatic fails --------------------------------------------------------------------------------


def test_an_exit_with_a_quota_below_80_percent_fails_automatically_and_says_why(client, people, block):
    standard = CaseloadStandard.objects.create(
        department=block.department, kind=CaseloadKind.DISEASE, name="心力衰竭", minimum=10, standard_months=2
    )
    for day in range(3):
        CaseloadEntry.objects.create(
            block=block,
            resident=block.resident,
            kind=CaseloadKind.DISEASE,
            standard=standard,
            name="心力衰竭",
            day=block.start_date + datetime.timedelta(days=day),
            status=EntryStatus.APPROVED,
        )
    write_summary(client, people["resident"], block)
    client.force_login(people["supervisor"])
    panel = client.get(url("exit_assess", block)).content.decode()
    assert "Caseload completion below 80 %" in panel

    enter_theory(client, people["secretary"], block)
    assess(client, people["supervisor"], block)
    head_decides(client, people["head"], block)
    review = ExitReview.objects.get(block=block)
    assert [r["code"] for r in review.auto_fail] == ["quota"]
    assert "Caseload completion below 80 %" in review.auto_fail[0]["detail"]

    response = base_closes(client, people["director"], block, passed="yes")
    assert "This exit cannot pass:" in texts(response)
    assert any("Caseload completion below 80 %" in t for t in texts(response))
    assert ExitReview.objects.get(block=block).stage == ExitStage.BASE  # nothing saved

    client.force_login(people["director"])
    assert 'data-testid="fail-reasons"' in client.get(url("block", block)).content.decode()
    base_closes(client, people["director"], block, passed="no")
    review.refresh_from_db()
    assert review.stage == ExitStage.FAILED and review.passed is False
    task = MakeupTask.objects.get(review=review)
    assert task.resident == block.resident and "Caseload completion below 80 %" in task.reason
    assert Notification.objects.filter(user=people["resident"], kind="rotation.exit_failed").exists()
    assert Notification.objects.filter(user=people["office"], kind="rotation.makeup_task").exists()
    client.force_login(people["resident"])
    assert 'data-testid="makeup-task"' in client.get(url("block", block)).content.decode()


def test_the_quota_rule_is_not_applicable_without_quotas(block):
    rules = {r.code: r for r in exits.auto_fail_rules(block, exits.form_for(block.department))}
    assert rules["quota"].applicable is False and rules["quota"].failed is False
    assert not any(r.failed for r in rules.values())


def test_leave_over_a_third_of_the_block_fails_the_exit(client, people, block):
    LeaveRequest.objects.create(
        resident=block.resident,
        block=block,
        kind=LeaveKind.SICK,
        start_date=block.start_date + datetime.timedelta(days=1),
        end_date=block.start_date + datetime.timedelta(days=30),
        days=Decimal("30"),
        reason="住院治疗",
        status=LeaveStatus.APPROVED,
    )
    review = until_base(client, people, block)
    assert [r["code"] for r in review.auto_fail] == ["leave"]
    assert "more than allowed" in review.auto_fail[0]["detail"]
    base_closes(client, people["director"], block, passed="no")
    assert MakeupTask.objects.filter(review=review).exists()


def test_an_open_disciplinary_record_during_the_block_fails_the_exit(client, people, block):
    ConductRecord.objects.create(
        resident=block.resident,
        kind=ConductKind.DISCIPLINE,
        title="擅自离岗",
        date=block.start_date + datetime.timedelta(days=10),
        is_closed=False,
    )
    ConductRecord.objects.create(  # closed: not serious any more
        resident=block.resident, kind=ConductKind.DISCIPLINE, title="迟到", date=block.start_date, is_closed=True
    )
    review = until_base(client, people, block)
    assert [r["code"] for r in review.auto_fail] == ["discipline"]
    assert "擅自离岗" in review.auto_fail[0]["detail"] and "迟到" not in review.auto_fail[0]["detail"]


def test_a_total_below_the_pass_mark_fails(client, people, block):
    low = dict.fromkeys(GOOD, "3")  # 7 × 3 + 3 + 8.5 = 32.5
    review = until_base(client, people, block, scores=low)
    assert review.total == Decimal("32.5") and review.auto_fail == []
    response = base_closes(client, people["director"], block, passed="yes")
    assert any("The total 32.5 is below the pass mark 60." in t for t in texts(response))
    base_closes(client, people["director"], block, passed="no")
    review.refresh_from_db()
    assert review.stage == ExitStage.FAILED
    assert "below the pass mark" in MakeupTask.objects.get(review=review).reason


def test_when_the_head_does_not_agree_the_exit_fails_and_needs_a_reason(client, people, block):
    write_summary(client, people["resident"], block)
    enter_theory(client, people["secretary"], block)
    assess(client, people["supervisor"], block)
    response = head_decides(client, people["head"], block, agreed="no", comment="")
    assert "Say why you do not agree to the exit." in texts(response)
    assert ExitReview.objects.get(block=block).stage == ExitStage.HEAD
    head_decides(client, people["head"], block, agreed="no", comment="病历书写不合格")
    response = base_closes(client, people["director"], block, passed="yes")
    assert any("did not agree" in t for t in texts(response))


def test_the_base_must_say_why_it_fails_an_exit_that_would_pass(client, people, block):
    until_base(client, people, block)
    response = base_closes(client, people["director"], block, passed="no")
    assert "Say why this exit fails." in texts(response)
    assert ExitReview.objects.get(block=block).stage == ExitStage.BASE
    base_closes(client, people["director"], block, passed="no", comment="出科技能考核现场表现差")
    assert "出科技能考核现场表现差" in MakeupTask.objects.get().reason


# --- refusals ----------------------------------------------------------------------------------------


def test_scores_above_an_item_or_negative_are_refused_with_clear_messages(client, people, block):
    write_summary(client, people["resident"], block)
    enter_theory(client, people["secretary"], block)
    bad = {**GOOD, "item_ethics": "9", "item_attitude": "-1", "item_skills": "abc", "item_records": ""}
    response = assess(client, people["supervisor"], block, bad)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Professional ethics (职业道德): at most 8 points." in body
    assert "Work attitude (工作态度): the score cannot be negative." in body
    assert "Clinical skills exam (技能考核): enter a number." in body
    assert "Quality of medical records (病历质量): enter a score." in body
    review = ExitReview.objects.get(block=block)
    assert review.stage == ExitStage.ASSESSMENT and review.scores == {} and review.total is None


def test_a_theory_score_above_100_is_refused(client, people, block):
    write_summary(client, people["resident"], block)
    client.force_login(people["secretary"])
    response = client.post(url("exit_theory", block), {"score": "101", "version": version(block)})
    assert "Theory exam score: at most 100 points." in texts(response)
    assert ExitReview.objects.get(block=block).theory_score is None


def test_the_assessment_waits_for_the_theory_score(client, people, block):
    write_summary(client, people["resident"], block)
    response = assess(client, people["supervisor"], block)
    assert response.status_code == 400
    assert "has not entered the theory exam score yet" in response.content.decode()
    assert ExitReview.objects.get(block=block).stage == ExitStage.ASSESSMENT


def test_the_self_summary_opens_14_days_before_the_end(client, people, current_block):
    client.force_login(people["resident"])
    page = client.get(url("exit_summary", current_block)).content.decode()
    assert "The self-summary opens on" in page
    response = client.post(url("exit_summary", current_block), {"summary": SUMMARY})
    assert response.status_code == 400 and "The self-summary opens on" in response.content.decode()
    assert not ExitReview.objects.exists()


def test_a_short_summary_is_refused(client, people, block):
    client.force_login(people["resident"])
    response = client.post(url("exit_summary", block), {"summary": "好"})
    assert response.status_code == 400 and "at least 20 characters" in response.content.decode()
    assert not ExitReview.objects.exists()


def test_the_evaluation_gate_refuses_the_summary_while_the_evaluation_app_is_missing(client, people, block):
    items = exits.default_form(block.department.hospital_id).items
    ExitForm.objects.create(
        hospital=block.department.hospital, department=block.department, name="心内出科表", items=items,
        require_evaluation=True,
    )  # fmt: skip
    client.force_login(people["resident"])
    response = client.post(url("exit_summary", block), {"summary": SUMMARY})
    assert response.status_code == 400 and "The evaluation is not available yet" in response.content.decode()
    assert not ExitReview.objects.exists()


def test_a_form_posted_against_an_older_version_changes_nothing(client, people, block):
    write_summary(client, people["resident"], block)
    enter_theory(client, people["secretary"], block)
    stale = version(block) - 1
    client.force_login(people["supervisor"])
    response = client.post(url("exit_assess", block), {**GOOD, "version": stale})
    assert response.status_code == 400 and "Someone else changed this exit review" in response.content.decode()
    assert ExitReview.objects.get(block=block).stage == ExitStage.ASSESSMENT


def test_a_step_out_of_turn_is_refused(client, people, block):
    write_summary(client, people["resident"], block)
    response = head_decides(client, people["head"], block)
    assert any("this step is not possible now" in t for t in texts(response))
    assert ExitReview.objects.get(block=block).stage == ExitStage.ASSESSMENT


def test_the_default_form_has_100_points_half_daily_half_exam(org):
    form = exits.default_form(org.hospital.pk)
    items = exits.items_of(form)
    assert exits.max_total(form) == 100
    assert sum(i["points"] for i in items if i["section"] == "daily") == 50
    assert {i["key"]: i["points"] for i in items if i["section"] == "exam"} == {"theory": 10, "skills": 40}
    assert exits.default_form(org.hospital.pk) == form  # once


# --- who may -----------------------------------------------------------------------------------------


BLOCK_VIEWERS = {
    "anonymous": LOGIN,
    "outsider": 404,
    "other_resident": 404,
    "other_supervisor": 404,
    "other_director": 404,
    "sysadmin": 404,
    "auditor": 404,
    "resident": 200,
    "supervisor": 200,
    "secretary": 200,
    "head": 200,
    "clerk": 200,
    "director": 200,
    "office": 200,
}
OUTSIDE = {"anonymous": LOGIN, "outsider": 404, "other_resident": 404, "other_supervisor": 404, "other_director": 404}


def test_who_opens_the_block_page(client, people, block):
    assert_access(client, people, BLOCK_VIEWERS, url("block", block))


def test_only_the_resident_writes_the_summary(client, people, block):
    expected = {**OUTSIDE, "resident": 200, "supervisor": 403, "secretary": 403, "head": 403, "director": 403}
    assert_access(client, people, expected, url("exit_summary", block))
    assert_access(client, people, {**expected, "resident": 400}, url("exit_summary", block), method="post")


def test_only_the_blocks_supervisor_assesses(client, people, block):
    write_summary(client, people["resident"], block)
    expected = {**OUTSIDE, "supervisor": 200, "resident": 403, "secretary": 403, "head": 403, "director": 403}
    assert_access(client, people, expected, url("exit_assess", block))
    assert_access(client, people, {**expected, "supervisor": 400}, url("exit_assess", block), method="post")


def test_only_the_department_enters_the_theory_score(client, people, block):
    expected = {**OUTSIDE, "secretary": 302, "head": 302, "supervisor": 403, "resident": 403, "director": 403}
    assert_access(client, people, expected, url("exit_theory", block), method="post", data={"score": "x"})


def test_only_the_head_agrees_and_only_the_base_closes(client, people, block):
    until_base(client, people, block)
    outside = {**OUTSIDE, "other_supervisor": 404}
    head = {**outside, "head": 302, "supervisor": 403, "secretary": 403, "resident": 403, "director": 403}
    assert_access(client, people, head, url("exit_head", block), method="post", data={"agreed": "maybe"})
    base = {**outside, "director": 302, "head": 403, "supervisor": 403, "office": 403, "resident": 403}
    assert_access(client, people, base, url("exit_review", block), method="post", data={"passed": "maybe"})
    assert ExitReview.objects.get(block=block).stage == ExitStage.BASE


def test_who_opens_the_lists(client, people, block):
    inbox = {
        "anonymous": LOGIN,
        "outsider": 403,
        "resident": 403,
        "clerk": 403,
        "office": 403,
        "supervisor": 200,
        "secretary": 200,
        "head": 200,
        "director": 200,
    }
    assert_access(client, people, inbox, reverse("rotation:blocks_exits"))
    mine = {"anonymous": LOGIN, "outsider": 403, "supervisor": 403, "resident": 200, "other_resident": 200}
    assert_access(client, people, mine, reverse("rotation:blocks_mine"))


def test_the_inbox_shows_only_what_waits_for_each_role(client, people, block):
    until_base(client, people, block)
    client.force_login(people["director"])
    assert 'data-testid="exits-base"' in client.get(reverse("rotation:blocks_exits")).content.decode()
    client.force_login(people["supervisor"])
    assert "No exit is waiting for you." in client.get(reverse("rotation:blocks_exits")).content.decode()


def test_home_panels_show_the_tasks(client, people, block):
    import rotation.nav_blocks  # noqa: F401  (registers the panels until the lead wires the module)

    client.force_login(people["resident"])
    home = client.get(reverse("core:home")).content.decode()
    assert "Write your exit self-summary for 心血管内科" in home
    write_summary(client, people["resident"], block)
    client.force_login(people["supervisor"])
    home = client.get(reverse("core:home")).content.decode()
    assert 'data-testid="due-assess">1<' in home


def _queries(client, path) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_lists_do_not_grow_queries_with_rows(client, people, org, block):
    today = timezone.localdate()
    inbox = reverse("rotation:blocks_exits")
    department = reverse("rotation:blocks_entry_department", args=[org.cardiology.uuid])
    entry_education.topics_for(org.cardiology)  # the default checklist is created on first use
    counts = []
    for rows in (1, 6):
        while ExitReview.objects.count() < rows:
            other = RotationBlockFactory(
                department=org.cardiology,
                supervisor=people["supervisor"],
                start_date=today - datetime.timedelta(days=50),
                end_date=today + datetime.timedelta(days=3),
            )
            exits.exit_summary_submit(block=other, summary=SUMMARY, acting_user=other.resident.user)
        client.force_login(people["supervisor"])
        first = _queries(client, inbox)
        client.force_login(people["secretary"])
        counts.append((first, _queries(client, department)))
    assert counts[0] == counts[1], counts
