"""指导医师分配 services: suggestions balance load within the limit, assign refuses a full doctor,
auto-assign fills a month and reports what it could not, and everyone concerned is told.

March 2030 in 心血管内科 (and an 急诊科 without settings). Doctors: 甲 / 乙 / 丙 医生.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from faculty.models import FacultyProfile, SupervisorQualification
from notices.models import Notification
from rotation.models import DepartmentSetting, DepartmentSupervisor, RotationBlock
from rotation.services import supervision
from tests.factories.accounts import DepartmentFactory, UserFactory
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

MAR = datetime.date(2030, 3, 1)
MAR_END = datetime.date(2030, 3, 31)


def d(month: int, day: int) -> datetime.date:
    return datetime.date(2030, month, day)


@pytest.fixture
def make_resident(org):
    def _make(name: str):
        return ResidentProfileFactory(user=UserFactory(real_name=name), base=org.internal)

    return _make


@pytest.fixture
def make_block(org, make_resident):
    def _make(name="住院甲", *, department=None, start=MAR, end=MAR_END, supervisor=None, resident=None):
        return RotationBlockFactory(
            resident=resident or make_resident(name),
            department=department or org.cardiology,
            start_date=start,
            end_date=end,
            supervisor=supervisor,
        )

    return _make


@pytest.fixture
def make_doctor(org):
    def _make(name: str, *, department=None, max_residents=None, active=True, qualified=False):
        user = UserFactory(real_name=name)
        department = department or org.cardiology
        DepartmentSupervisor.objects.create(
            department=department, user=user, max_residents=max_residents, is_active=active
        )
        if qualified:
            faculty = FacultyProfile.objects.create(user=user, department=department, title="attending")
            SupervisorQualification.objects.create(faculty=faculty, granted_on=datetime.date(2020, 1, 1))
        return user

    return _make


@pytest.fixture
def emergency(org):
    return DepartmentFactory(base=org.internal, code="EMER", name="急诊科")


def names(candidates) -> list[str]:
    return [c.user.real_name for c in candidates]


# --- limits -----------------------------------------------------------------------------------


def test_the_limit_is_the_setting_else_three_else_two_in_emergency(org, emergency):
    assert supervision.department_limit(org.cardiology) == 3
    assert supervision.department_limit(emergency) == 2
    assert supervision.department_limit(DepartmentFactory(base=org.internal, code="JZ2", name="儿科急诊")) == 2
    DepartmentSetting.objects.create(department=emergency, residents_per_supervisor=4)
    assert supervision.department_limit(emergency) == 4


# --- suggestions ------------------------------------------------------------------------------


def test_suggestions_put_the_least_loaded_doctor_first(make_block, make_doctor):
    busy, free = make_doctor("甲医生"), make_doctor("乙医生")
    make_block("住院乙", supervisor=busy)
    block = make_block()
    candidates = supervision.suggest(block)
    assert names(candidates) == ["乙医生", "甲医生"]
    assert [(c.load, c.limit, c.available) for c in candidates] == [(0, 3, True), (1, 3, True)]
    assert candidates[0].user == free
    assert "0 of 3 residents at a time" in candidates[0].reason


def test_a_full_doctor_comes_last_and_is_not_available(make_block, make_doctor):
    full = make_doctor("甲医生", max_residents=1)
    other = make_doctor("乙医生")
    make_block("住院乙", supervisor=other)
    make_block("住院丙", supervisor=other)
    make_block("住院丁", supervisor=full)
    candidates = supervision.suggest(make_block())
    assert names(candidates) == ["乙医生", "甲医生"]
    assert (candidates[1].load, candidates[1].limit, candidates[1].available) == (1, 1, False)
    assert candidates[1].reason.startswith("full: 1 of 1")


def test_emergency_doctors_take_two_residents_at_a_time(make_block, make_doctor, emergency):
    doctor = make_doctor("甲医生", department=emergency)
    make_block("住院乙", department=emergency, supervisor=doctor)
    assert supervision.suggest(make_block("住院丙", department=emergency))[0].available
    make_block("住院丁", department=emergency, supervisor=doctor)
    [candidate] = supervision.suggest(make_block(department=emergency))
    assert (candidate.load, candidate.limit, candidate.available) == (2, 2, False)


def test_load_counts_residents_at_the_same_time_not_all_blocks_touching_the_period(make_block, make_doctor):
    doctor = make_doctor("甲医生", max_residents=1)
    make_block("住院乙", start=d(2, 1), end=d(3, 15), supervisor=doctor)
    make_block("住院丙", start=d(3, 16), end=d(4, 30), supervisor=doctor)
    [candidate] = supervision.suggest(make_block(start=d(3, 16), end=d(3, 31)))
    assert (candidate.load, candidate.available) == (1, False)
    [candidate] = supervision.suggest(make_block("住院丁", start=d(1, 1), end=d(1, 31)))
    assert (candidate.load, candidate.available) == (0, True)
    # the whole block: two back-to-back residents never overlap, so the peak is 1
    [candidate] = supervision.suggest(make_block("住院戊", start=d(2, 1), end=d(4, 30)))
    assert candidate.load == 1


def test_load_counts_supervision_in_other_departments_too(org, make_block, make_doctor):
    doctor = make_doctor("甲医生", max_residents=1)
    make_block("住院乙", department=org.general_surgery, supervisor=doctor)
    [candidate] = supervision.suggest(make_block())
    assert not candidate.available


def test_a_qualified_doctor_is_preferred_at_equal_load(make_block, make_doctor):
    make_doctor("甲医生")
    make_doctor("乙医生", qualified=True)
    candidates = supervision.suggest(make_block())
    assert names(candidates) == ["乙医生", "甲医生"]
    assert [c.qualified for c in candidates] == [True, False]
    assert "no current supervisor qualification" in candidates[1].reason


def test_a_lapsed_qualification_does_not_count(make_block, make_doctor):
    make_doctor("甲医生")
    lapsed = make_doctor("乙医生", qualified=True)
    SupervisorQualification.objects.filter(faculty__user=lapsed).update(expires_on=datetime.date(2021, 1, 1))
    assert names(supervision.suggest(make_block())) == ["甲医生", "乙医生"]


def test_a_doctor_who_supervised_the_resident_before_is_not_preferred(make_block, make_doctor, make_resident):
    before, fresh = make_doctor("甲医生"), make_doctor("乙医生")
    resident = make_resident("住院甲")
    make_block(resident=resident, start=d(1, 1), end=d(1, 31), supervisor=before)
    candidates = supervision.suggest(make_block(resident=resident))
    assert names(candidates) == ["乙医生", "甲医生"]
    assert candidates[1].supervised_before and fresh == candidates[0].user
    assert "has supervised this resident before" in candidates[1].reason


def test_balance_outranks_qualification_and_the_name_breaks_ties(make_block, make_doctor):
    qualified_busy = make_doctor("甲医生", qualified=True)
    make_block("住院乙", supervisor=qualified_busy)
    make_doctor("丙医生")
    make_doctor("乙医生")
    assert names(supervision.suggest(make_block())) == ["丙医生", "乙医生", "甲医生"]  # bing, yi: pinyin order


def test_only_available_doctors_of_the_department_are_candidates(org, make_block, make_doctor):
    make_doctor("甲医生")
    make_doctor("乙医生", active=False)
    make_doctor("丙医生", department=org.general_surgery)
    left = make_doctor("丁医生")
    left.status = "disabled"
    left.save()
    assert names(supervision.suggest(make_block())) == ["甲医生"]


# --- assign -----------------------------------------------------------------------------------


def test_assign_records_audits_and_notifies_resident_and_doctor(make_block, make_doctor, secretary, audit_events):
    doctor = make_doctor("甲医生")
    block = make_block()
    supervision.assign(block, doctor, secretary)
    block.refresh_from_db()
    assert block.supervisor == doctor
    assert block.supervisor_assigned_by == secretary
    assert block.supervisor_assigned_at is not None
    [event] = [e for e in audit_events if e["action"] == "rotation.supervisor_assign"]
    assert event["changes"] == {"supervisor": [None, "甲医生"]}
    assert event["user"]["username"] == secretary.username
    resident_note = Notification.objects.get(user=block.resident.user)
    assert resident_note.kind == "rotation.supervisor_assigned"
    assert resident_note.url == reverse("rotation:mine")
    assert "甲医生" in resident_note.body
    doctor_note = Notification.objects.get(user=doctor)
    assert doctor_note.kind == "rotation.supervisee_assigned"
    assert "住院甲" in doctor_note.body
    assert doctor_note.url == reverse("rotation:resident", args=[block.resident.uuid])


def test_assign_over_the_limit_is_refused_with_the_reason_and_nothing_changes(
    make_block, make_doctor, secretary, audit_events
):
    doctor = make_doctor("甲医生", max_residents=1)
    make_block("住院乙", supervisor=doctor)
    block = make_block()
    with pytest.raises(ValidationError) as exc:
        supervision.assign(block, doctor, secretary)
    assert exc.value.messages == [
        "甲医生 already supervises 1 resident(s) at a time during 2030-03-01 – 2030-03-31; the limit is 1. "
        "Choose another supervising doctor."
    ]
    block.refresh_from_db()
    assert block.supervisor is None and block.supervisor_assigned_by is None
    assert not Notification.objects.exists()
    assert not [e for e in audit_events if e["action"].startswith("rotation.supervisor")]


def test_the_office_may_exceed_the_limit_with_a_reason(make_block, make_doctor, office, secretary, audit_events):
    doctor = make_doctor("甲医生", max_residents=1)
    make_block("住院乙", supervisor=doctor)
    block = make_block()
    with pytest.raises(ValidationError, match="Only the training office may exceed the limit"):
        supervision.assign(block, doctor, secretary, override_reason="short-staffed")
    with pytest.raises(ValidationError, match="the limit is 1"):
        supervision.assign(block, doctor, office)
    supervision.assign(block, doctor, office, override_reason="short-staffed in March")
    block.refresh_from_db()
    assert block.supervisor == doctor
    [event] = [e for e in audit_events if e["action"] == "rotation.supervisor_assign"]
    assert event["extra"] == {"override": "short-staffed in March"}


def test_a_doctor_outside_the_department_list_cannot_be_assigned(make_block, make_doctor, secretary, org):
    stranger = make_doctor("丙医生", department=org.general_surgery)
    block = make_block()
    with pytest.raises(ValidationError, match="not an available supervising doctor of 心血管内科"):
        supervision.assign(block, stranger, secretary)
    block.refresh_from_db()
    assert block.supervisor is None


def test_reassigning_tells_the_previous_doctor_and_keeps_the_current_block_out_of_the_load(
    make_block, make_doctor, secretary
):
    first = make_doctor("甲医生", max_residents=1)
    second = make_doctor("乙医生", max_residents=1)
    block = make_block()
    supervision.assign(block, first, secretary)
    # the block's own supervisor is not "full" because of this very block
    current = next(c for c in supervision.suggest(block) if c.user == first)
    assert (current.load, current.available, current.current) == (0, True, True)
    supervision.assign(block, second, secretary)
    block.refresh_from_db()
    assert block.supervisor == second
    assert Notification.objects.filter(user=first, kind="rotation.supervisee_unassigned").count() == 1
    assert Notification.objects.filter(user=block.resident.user).count() == 2


def test_assigning_the_same_doctor_again_changes_nothing(make_block, make_doctor, secretary):
    doctor = make_doctor("甲医生")
    block = make_block()
    supervision.assign(block, doctor, secretary)
    supervision.assign(block, doctor, secretary)
    assert Notification.objects.filter(user=doctor).count() == 1


def test_unassign_tells_the_doctor_and_audits(make_block, make_doctor, secretary, audit_events):
    doctor = make_doctor("甲医生")
    block = make_block(supervisor=doctor)
    supervision.unassign(block, secretary)
    block.refresh_from_db()
    assert block.supervisor is None
    assert Notification.objects.filter(user=doctor, kind="rotation.supervisee_unassigned").count() == 1
    assert [e["action"] for e in audit_events if e["action"].startswith("rotation.")] == [
        "rotation.supervisor_unassign"
    ]


# --- auto-assign ------------------------------------------------------------------------------


def test_auto_assign_fills_the_month_within_limits_and_reports_the_unserved(
    org, make_block, make_doctor, secretary, audit_events
):
    a = make_doctor("甲医生", max_residents=2)
    b = make_doctor("乙医生", max_residents=1)
    blocks = [make_block(f"住院{i}", start=d(3, 1 + i)) for i in range(4)]
    already = make_block("住院已", supervisor=b, start=d(2, 1))  # started last month: b is full from the start
    later = make_block("住院后", start=d(4, 1), end=d(4, 30))  # starts next month: not touched
    result = supervision.auto_assign_report(org.cardiology, MAR, secretary)
    assert len(result.assigned) == 2
    assert [blk.pk for blk in result.unserved] == [blocks[2].pk, blocks[3].pk]
    supervisors = {blk.pk: blk.supervisor_id for blk in RotationBlock.objects.all()}
    assert [supervisors[blk.pk] for blk in blocks] == [a.pk, a.pk, None, None]
    assert supervisors[already.pk] == b.pk and supervisors[later.pk] is None
    [summary] = [e for e in audit_events if e["action"] == "rotation.supervisor_auto_assign"]
    assert summary["extra"] == {"month": "2030-03", "assigned": "2", "unserved": "2"}
    assert Notification.objects.filter(user=a).count() == 2


def test_auto_assign_balances_between_doctors_and_counts(org, make_block, make_doctor, secretary):
    a, b = make_doctor("甲医生"), make_doctor("乙医生")
    for i in range(4):
        make_block(f"住院{i}")
    assert supervision.auto_assign(org.cardiology, MAR, secretary) == 4
    loads = sorted(RotationBlock.objects.filter(supervisor=u).count() for u in (a, b))
    assert loads == [2, 2]
    assert supervision.auto_assign(org.cardiology, MAR, secretary) == 0


def test_auto_assign_without_supervisors_reports_every_block(org, make_block, secretary):
    make_block()
    result = supervision.auto_assign_report(org.cardiology, MAR, secretary)
    assert (len(result.assigned), len(result.unserved)) == (0, 1)


# --- the resident sees their supervisor -------------------------------------------------------


def test_the_resident_sees_the_assigned_supervisor_on_their_rotation(
    client, resident_profile, make_block, make_doctor, secretary
):
    from django.utils import timezone

    today = timezone.localdate()
    block = make_block(resident=resident_profile, start=today.replace(day=1), end=today.replace(day=28))
    supervision.assign(block, make_doctor("甲医生"), secretary)
    client.force_login(resident_profile.user)
    response = client.get(reverse("rotation:mine"))
    assert response.status_code == 200
    assert "甲医生" in response.content.decode()
