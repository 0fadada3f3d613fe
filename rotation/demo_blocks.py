"""The demo hospital's 入科教育 and 出科, after the schedule (25), caseload (26), leave (27) and attendance (28).

1. the hospital's default entry-education checklist;
2. entry education for every started block of the persona department (心血管内科) and of four in five
   blocks elsewhere, given on the first day by the block's supervisor (else the teaching secretary or
   head); one in seven is not confirmed yet, nor is the persona `resident`'s current block, so the
   resident has something to confirm and the department's rate is below 100 %;
3. the persona `resident`'s finished blocks went through 出科 (self-summary, theory score,
   assessment, 同意出科, base review) and passed, through the services; dates moved back to the
   end of each block; their notifications are marked read (history);
4. one other resident's finished 心血管内科 block failed (low skills score, the head did not agree):
   a make-up task is open and the resident and the office have been told;
5. the persona's current block has no exit yet, or the self-summary written when it ends within
   the summary window.

Idempotent: once the hospital has entry education nothing is done. Fast: bulk inserts for step 2.
"""

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.demo import HOSPITAL, PERSONA_DEPARTMENT
from accounts.models import Hospital, RoleAssignment, User
from core.demo import register
from notices.models import Notification

from .choices import ExitStage
from .models import EntryEducation, EntryEducationTopic, ExitReview, RotationBlock
from .services import entry_education, exits

logger = logging.getLogger(__name__)

PERSONA_RESIDENT = "resident"
SUMMARY = (
    "本次轮转期间在上级医师指导下管理住院病人，系统学习了本科室常见病、多发病的诊断与治疗，"
    "熟悉了病历书写规范和常用操作。今后需要加强急危重症的识别与处理能力。"
)
GOOD_SCORES = {
    "ethics": 8,
    "attitude": 7,
    "communication": 6.5,
    "attendance": 7,
    "records": 6,
    "handbook": 6.5,
    "learning": 6,
    "skills": 35,
}
LOW_SCORES = {**GOOD_SCORES, "records": 3, "handbook": 3, "skills": 18}


def _at(day: datetime.date, hour: int = 17) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _department_people(hospital: Hospital) -> dict[tuple[str, int], int]:
    """(role, department id) → one user id (the first by username), for the department's roles."""
    people: dict[tuple[str, int], int] = {}
    rows = (
        RoleAssignment.objects.active_on()
        .filter(
            role__in=[Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD],
            department__hospital=hospital,
        )
        .order_by("user__username")
        .values_list("role", "department_id", "user_id")
    )
    for role, department_id, user_id in rows:
        people.setdefault((role, department_id), user_id)
    return people


def _base_people(hospital: Hospital) -> dict[int, int]:
    people: dict[int, int] = {}
    rows = (
        RoleAssignment.objects.active_on()
        .filter(role=Role.BASE_DIRECTOR, base__hospital=hospital)
        .order_by("user__username")
        .values_list("base_id", "user_id")
    )
    for base_id, user_id in rows:
        people.setdefault(base_id, user_id)
    return people


@register("rotation_blocks", order=29)
def seed_blocks(stdout=None) -> str:
    hospital = Hospital.objects.get(code=HOSPITAL["code"])
    if EntryEducation.objects.filter(block__department__hospital=hospital).exists():
        return "up to date"
    started = timezone.now()
    today = timezone.localdate()
    entry_education.ensure_default_topics(hospital)
    department_people = _department_people(hospital)
    with transaction.atomic():
        educations = _entry_education(hospital, department_people, today)
    passed = _persona_exits(hospital, department_people, today)
    failed = _failed_exit(hospital, department_people, today)
    # History is not news: what the seeder's exits announced is marked read, except the failed exit's.
    Notification.objects.filter(created_at__gte=started, kind__startswith="rotation.exit").exclude(
        kind__in=["rotation.exit_failed", "rotation.makeup_task"]
    ).update(read_at=timezone.now())
    summary = _persona_summary(today)
    return f"{educations} entry educations, {passed} persona exits passed, {failed} failed exit with a make-up task" + (
        ", the persona's self-summary written" if summary else ""
    )


def _entry_education(hospital: Hospital, people: dict, today: datetime.date) -> int:
    topics: dict[int | None, list[int]] = {}
    for topic in EntryEducationTopic.objects.filter(hospital=hospital, is_active=True).order_by("position"):
        topics.setdefault(topic.department_id, []).append(topic.pk)
    defaults = topics.get(None, [])
    blocks = (
        RotationBlock.objects.filter(resident__base__hospital=hospital, start_date__lte=today)
        .select_related("department", "resident__user")
        .order_by("pk")
    )
    rows, chosen = [], []
    for block in blocks.iterator(chunk_size=2000):
        persona_department = block.department.code == PERSONA_DEPARTMENT
        if not persona_department and block.pk % 5 == 3:
            continue  # a fifth of the others never recorded it
        given_by = (
            block.supervisor_id
            or people.get((Role.TEACHING_SECRETARY, block.department_id))
            or people.get((Role.DEPARTMENT_HEAD, block.department_id))
        )
        if given_by is None:
            continue
        is_persona_now = block.resident.user.username == PERSONA_RESIDENT and block.end_date >= today
        given_on = min(block.start_date, today)
        confirmed = None if (is_persona_now or block.pk % 7 == 0) else _at(given_on + datetime.timedelta(days=1), 9)
        rows.append(EntryEducation(block=block, given_by_id=given_by, given_on=given_on, confirmed_at=confirmed))
        chosen.append(topics.get(block.department_id) or defaults)
    EntryEducation.objects.bulk_create(rows, batch_size=1000)
    created = dict(EntryEducation.objects.filter(block_id__in=[r.block_id for r in rows]).values_list("block_id", "pk"))
    through = EntryEducation.topics.through
    links = [
        through(entryeducation_id=created[row.block_id], entryeducationtopic_id=topic_id)
        for row, topic_ids in zip(rows, chosen, strict=True)
        for topic_id in topic_ids
    ]
    through.objects.bulk_create(links, batch_size=2000)
    return len(rows)


def _walk(block: RotationBlock, people: dict, bases: dict, scores: dict, *, agree: bool, comment: str = ""):
    """One exit through the services as the real people; returns the review (or None when someone is missing)."""
    secretary = people.get((Role.TEACHING_SECRETARY, block.department_id)) or people.get(
        (Role.DEPARTMENT_HEAD, block.department_id)
    )
    head = people.get((Role.DEPARTMENT_HEAD, block.department_id))
    director = bases.get(block.resident.base_id)
    assessor = block.supervisor_id or head
    if not (secretary and head and director and assessor):
        return None
    users = User.objects.in_bulk([secretary, head, director, assessor])
    exits.exit_summary_submit(block=block, summary=SUMMARY, acting_user=block.resident.user)
    exits.exit_theory_enter(block=block, score=86 if agree else 58, acting_user=users[secretary])
    review = ExitReview.objects.get(block=block)
    review = exits.exit_assess(review=review, scores=scores, comment="", acting_user=users[assessor])
    review = exits.exit_head_decide(review=review, agreed=agree, comment=comment, acting_user=users[head])
    try:
        review = exits.exit_review_close(review=review, passed=agree, acting_user=users[director])
    except ValidationError:  # a rule fails it after all (e.g. the caseload was behind): the base fails it
        review = exits.exit_review_close(review=review, passed=False, acting_user=users[director])
    end = block.end_date
    ExitReview.objects.filter(pk=review.pk).update(
        summary_at=_at(end - datetime.timedelta(days=5)),
        assessed_at=_at(end - datetime.timedelta(days=2)),
        head_at=_at(end - datetime.timedelta(days=1)),
        reviewed_at=_at(end + datetime.timedelta(days=3)),
    )
    return review


def _persona_exits(hospital: Hospital, people: dict, today: datetime.date) -> int:
    bases = _base_people(hospital)
    blocks = (
        RotationBlock.objects.filter(resident__user__username=PERSONA_RESIDENT, end_date__lt=today)
        .select_related("resident__user", "resident__base", "department__hospital")
        .order_by("start_date")
    )
    done = 0
    for block in blocks:
        review = _walk(block, people, bases, GOOD_SCORES, agree=True)
        done += bool(review and review.passed)
    return done


def _failed_exit(hospital: Hospital, people: dict, today: datetime.date) -> int:
    bases = _base_people(hospital)
    block = (
        RotationBlock.objects.filter(
            resident__base__hospital=hospital,
            department__code=PERSONA_DEPARTMENT,
            end_date__lt=today,
            end_date__gte=today - datetime.timedelta(days=120),
            exit_review__isnull=True,
        )
        .exclude(resident__user__username=PERSONA_RESIDENT)
        .select_related("resident__user", "resident__base", "department__hospital")
        .order_by("-end_date", "resident__user__username")
        .first()
    )
    if block is None:
        return 0
    review = _walk(block, people, bases, LOW_SCORES, agree=False, comment="病历书写质量差，技能考核未达要求，需补考。")
    return int(bool(review and review.stage == ExitStage.FAILED))


def _persona_summary(today: datetime.date) -> bool:
    block = (
        RotationBlock.objects.filter(
            resident__user__username=PERSONA_RESIDENT, start_date__lte=today, end_date__gte=today
        )
        .select_related("resident__user", "department__hospital")
        .first()
    )
    if block is None or not exits.summary_open(block, today):
        return False
    exits.exit_summary_submit(block=block, summary=SUMMARY, acting_user=block.resident.user)
    return True
