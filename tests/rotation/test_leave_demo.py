"""The demo's leave history: realistic, through the engine, fast and idempotent."""

import time
from io import StringIO

import pytest
from django.db import transaction

import rotation.demo_leave  # noqa: F401  (registers the seeder until apps.ready does)
import rotation.workflows_leave  # noqa: F401
from approvals.choices import RequestStatus
from approvals.models import ApprovalRequest
from core.demo import seeders
from rotation.choices import LeaveStatus, MakeupKind
from rotation.models import LeaveRequest, MakeupEntry
from rotation.services import leave as services

SEEDERS = ("accounts", "residents", "rotation", "rotation_leave")


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            summaries, seconds = {}, {}
            for seeder in seeders():
                if seeder.name in SEEDERS:
                    began = time.monotonic()
                    summaries[seeder.name] = seeder.run(stdout=StringIO())
                    seconds[seeder.name] = time.monotonic() - began
            yield summaries, seconds
            transaction.set_rollback(True)


@pytest.fixture
def demo(seeded, db):
    return seeded


def test_the_demo_has_a_realistic_leave_history(demo):
    summaries, seconds = demo
    assert seconds["rotation_leave"] < 6, (summaries, seconds)
    approved = LeaveRequest.objects.filter(status=LeaveStatus.APPROVED)
    assert approved.filter(days__lte=5).count() >= 25
    assert approved.filter(days__gt=30).count() == 1
    assert LeaveRequest.objects.filter(status=LeaveStatus.PENDING).count() == 3
    assert LeaveRequest.objects.filter(status=LeaveStatus.REJECTED).count() == 1
    for leave in approved.select_related("block"):
        assert leave.block.start_date <= leave.start_date and leave.end_date <= leave.block.end_date
    long = approved.get(days__gt=30)
    assert MakeupEntry.objects.filter(resident=long.resident, kind=MakeupKind.OWED).get().days == long.days - 30
    assert MakeupEntry.objects.filter(resident=long.resident, kind=MakeupKind.MADE_UP).exists()
    assert services.makeup_balance(long.resident) > 0


def test_the_personas_leave_waits_in_the_supervisors_inbox(demo):
    leave = LeaveRequest.objects.get(resident__user__username="resident")
    assert leave.status == LeaveStatus.PENDING
    approval = services.approval_request_for(leave)
    assert approval.status == RequestStatus.PENDING
    assert list(approval.current_approvers.values_list("username", flat=True)) == ["supervisor"]


def test_seeding_again_changes_nothing(demo):
    count, approvals = LeaveRequest.objects.count(), ApprovalRequest.objects.count()
    seeder = next(s for s in seeders() if s.name == "rotation_leave")
    assert seeder.run(stdout=StringIO()) == "up to date"
    assert (LeaveRequest.objects.count(), ApprovalRequest.objects.count()) == (count, approvals)
