"""The demo hospital's leave history, all through the services and the approval engine.

After rotation's seeder (order 25) published the schedule: about 30 short approved leaves (1–5
days, mostly 销假 on time, a few back early) in blocks that have started, one long sick leave
(33 days, so 3 days are owed, 2 of them already made up), one rejected request and three waiting
for approval — one of them the persona `resident`'s, in `supervisor`'s inbox. The long leave
starts mid-month so that no calendar month is entirely on leave (the published schedule stays
as generated).

Deterministic (seeded random, dates relative to today like the schedule) and idempotent: once the
hospital's residents have any leave, nothing is done.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.demo import HOSPITAL
from accounts.models import User
from approvals.choices import ActionKind, RequestStatus
from approvals.services import approval_decide
from core.demo import register
from residents.choices import TrainingStatus

from .choices import LeaveKind
from .models import LeaveRequest, RotationBlock
from .services import leave as services

SHORT_LEAVES = 30
SHORT_KINDS = [LeaveKind.SICK, LeaveKind.PERSONAL, LeaveKind.PERSONAL, LeaveKind.ANNUAL, LeaveKind.DUTY, LeaveKind.SICK]
REASONS = {
    LeaveKind.SICK: ["发热，需卧床休息", "急性胃肠炎", "腰扭伤，遵医嘱休息"],
    LeaveKind.PERSONAL: ["家中有事需回老家处理", "办理户口迁移", "参加亲属婚礼"],
    LeaveKind.ANNUAL: ["年休假"],
    LeaveKind.DUTY: ["参加省住培骨干培训班", "外出参加学术会议"],
}


def _approve_all(leave: LeaveRequest) -> None:
    approval = services.approval_request_for(leave)
    while approval.status == RequestStatus.PENDING:
        user = approval.current_approvers.order_by("pk").first()
        approval = approval_decide(
            request=approval, decision=ActionKind.APPROVE, acting_user=user, expected_version=approval.version
        )


def _submit(block: RotationBlock, kind: str, start, end, rng: random.Random, **kwargs) -> LeaveRequest:
    return services.leave_request_submit(
        resident=block.resident,
        kind=kind,
        start_date=start,
        end_date=end,
        reason=rng.choice(REASONS.get(kind, ["个人原因"])),
        acting_user=block.resident.user,
        **kwargs,
    )


@register("rotation_leave", order=27)
def seed_leave(stdout=None) -> str:
    today = timezone.localdate()
    blocks = list(
        RotationBlock.objects.filter(
            resident__base__hospital__code=HOSPITAL["code"],
            resident__status=TrainingStatus.IN_TRAINING,
            start_date__lte=today - timedelta(days=7),
        )
        .exclude(resident__user__username="resident")
        .select_related("resident__user", "resident__base__hospital", "department")
        .order_by("resident_id", "start_date", "pk")
    )
    if not blocks:
        return "no started blocks"
    if LeaveRequest.objects.filter(resident__base__hospital__code=HOSPITAL["code"]).exists():
        return "up to date"
    rng = random.Random(27)
    office = User.objects.get(username="office")
    used: set[int] = set()

    def pick(predicate):
        candidates = [b for b in blocks if b.resident_id not in used and predicate(b)]
        if not candidates:
            return None
        block = rng.choice(candidates)
        used.add(block.resident_id)
        return block

    # The long sick leave: 33 days from the 10th of a month, ended, in a block of 4 months or more.
    long_block = pick(lambda b: (b.end_date - b.start_date).days >= 110 and b.start_date <= today - timedelta(days=60))
    if long_block is not None:
        start = long_block.start_date + timedelta(days=5)
        start = (
            start.replace(day=10) if start.day <= 10 else (start.replace(day=1) + timedelta(days=40)).replace(day=10)
        )
        end = start + timedelta(days=32)
        if end <= min(long_block.end_date, today - timedelta(days=1)):
            leave = _submit(long_block, LeaveKind.SICK, start, end, rng)
            _approve_all(leave)
            services.leave_request_report_back(
                leave=leave, returned_on=end + timedelta(days=1), acting_user=long_block.resident.user
            )
            services.makeup_record(
                resident=long_block.resident,
                days=Decimal(2),
                day=min(today, end + timedelta(days=30)),
                note="周末补班",
                acting_user=office,
            )

    made = 0
    for _ in range(SHORT_LEAVES * 3):
        if made >= SHORT_LEAVES:
            break
        block = pick(lambda b: min(b.end_date, today - timedelta(days=2)) - b.start_date >= timedelta(days=6))
        if block is None:
            break
        length = rng.randint(1, 5)
        last_start = min(block.end_date, today - timedelta(days=2)) - timedelta(days=length - 1)
        start = block.start_date + timedelta(days=rng.randint(0, (last_start - block.start_date).days))
        end = start + timedelta(days=length - 1)
        kind = rng.choice(SHORT_KINDS)
        half = rng.random() < 0.2 and length > 1
        leave = _submit(block, kind, start, end, rng, start_afternoon=half)
        _approve_all(leave)
        back = end + timedelta(days=1)
        if length >= 3 and rng.random() < 0.2:
            back = end  # back a day early
        services.leave_request_report_back(leave=leave, returned_on=back, acting_user=block.resident.user)
        made += 1

    # One rejected: a personal leave the supervisor (or whoever decides first) turned down.
    rejected = pick(lambda b: min(b.end_date, today - timedelta(days=2)) - b.start_date >= timedelta(days=6))
    if rejected is not None:
        start = rejected.start_date + timedelta(days=3)
        leave = _submit(rejected, LeaveKind.PERSONAL, start, start + timedelta(days=2), rng)
        approval = services.approval_request_for(leave)
        approval_decide(
            request=approval,
            decision=ActionKind.REJECT,
            acting_user=approval.current_approvers.order_by("pk").first(),
            expected_version=approval.version,
            comment="科室本周值班人手不足，请调整时间",
        )

    # Three waiting: the persona's (in 张带教's inbox) and two more in current blocks.
    pending = 0
    persona_block = (
        RotationBlock.objects.filter(
            resident__user__username="resident", start_date__lte=today, end_date__gte=today + timedelta(days=10)
        )
        .select_related("resident__user", "resident__base__hospital", "department")
        .first()
    )
    if persona_block is not None:
        start = today + timedelta(days=7)
        _submit(persona_block, LeaveKind.PERSONAL, start, start + timedelta(days=1), rng)
        pending += 1
    for _ in range(2):
        block = pick(lambda b: b.end_date >= today + timedelta(days=14))
        if block is None:
            break
        start = today + timedelta(days=rng.randint(3, 9))
        _submit(
            block,
            rng.choice([LeaveKind.PERSONAL, LeaveKind.SICK]),
            start,
            start + timedelta(days=rng.randint(0, 3)),
            rng,
        )
        pending += 1
    return f"{made} short leaves, long leave {'yes' if long_block else 'no'}, {pending} pending"
