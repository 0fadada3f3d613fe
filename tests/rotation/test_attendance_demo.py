"""The demo's attendance history for 心血管内科: approved months, one waiting for the head, this month open."""

import time
from io import StringIO

import pytest
from django.db import transaction
from django.utils import timezone

import rotation.demo_attendance  # noqa: F401  (registers the seeder until apps.ready does)
import rotation.demo_leave  # noqa: F401
import rotation.workflows_attendance  # noqa: F401
import rotation.workflows_leave  # noqa: F401
from accounts.models import User
from approvals.choices import RequestStatus
from approvals.models import ApprovalAction
from core.demo import seeders
from rotation.choices import ReportStatus
from rotation.models import AttendanceReport
from rotation.months import add_months, month_start
from rotation.services import attendance

SEEDERS = ("accounts", "residents", "rotation", "rotation_leave", "rotation_attendance")


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
            again = next(s for s in seeders() if s.name == "rotation_attendance").run(stdout=StringIO())
            yield summaries, seconds, again
            transaction.set_rollback(True)


@pytest.fixture
def demo(seeded, db):
    return seeded


def test_the_persona_department_has_a_real_attendance_history(demo):
    summaries, seconds, again = demo
    assert seconds["rotation_attendance"] < 3, summaries
    assert again == "up to date"
    this_month = month_start(timezone.localdate())
    reports = {r.month: r for r in AttendanceReport.objects.filter(department__code="CARD")}
    assert [reports[add_months(this_month, -i)].status for i in (4, 3, 2, 1, 0)] == [
        ReportStatus.APPROVED,
        ReportStatus.APPROVED,
        ReportStatus.APPROVED,
        ReportStatus.PENDING,
        ReportStatus.OPEN,
    ]
    head, office = User.objects.get(username="head"), User.objects.get(username="office")
    approved = reports[add_months(this_month, -2)]
    actors = set(
        ApprovalAction.objects.filter(request=attendance.approval_request_for(approved)).values_list(
            "actor__username", flat=True
        )
    )
    assert {"clerk", "head", "office"} <= actors
    assert approved.lines.exists() and approved.lines.filter(duty_days__gt=0).exists()
    waiting = attendance.approval_request_for(reports[add_months(this_month, -1)])
    assert waiting.status == RequestStatus.PENDING and head in waiting.current_approvers.all()
    assert office not in waiting.current_approvers.all()
    # The persona resident arrived last month: they are in the waiting and the open month.
    assert reports[this_month].lines.filter(resident__user__username="resident").exists()
