"""The demo's teaching plans: last and this month approved for 心血管内科 and others, next month a draft."""

import time
from io import StringIO

import pytest
from django.db import transaction
from django.utils import timezone

import teaching.demo_plans  # noqa: F401  (registers the seeder until apps.ready does)
from core.demo import seeders
from rotation.months import add_months, month_start
from teaching.choices import ActivityStatus, PlanStatus
from teaching.models import TeachingPlan
from teaching.services import plans

SEEDERS = ("accounts", "residents", "rotation", "teaching_plans")


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            seconds = {}
            for seeder in seeders():
                if seeder.name in SEEDERS:
                    began = time.monotonic()
                    seeder.run(stdout=StringIO())
                    seconds[seeder.name] = time.monotonic() - began
            again = next(s for s in seeders() if s.name == "teaching_plans").run(stdout=StringIO())
            yield seconds, again
            transaction.set_rollback(True)


def test_the_demo_has_approved_plans_following_the_rules(seeded, db):
    seconds, again = seeded
    assert seconds["teaching_plans"] < 10, seconds
    assert again == "up to date"
    this_month = month_start(timezone.localdate())
    card = {p.month: p for p in TeachingPlan.objects.filter(department__code="CARD", department__hospital__code="demo")}
    assert card[add_months(this_month, -1)].status == PlanStatus.APPROVED
    assert card[this_month].status == PlanStatus.APPROVED
    assert card[add_months(this_month, 1)].status == PlanStatus.DRAFT
    current = card[this_month]
    assert not current.activities.exclude(status=ActivityStatus.APPROVED).exists()
    assert all(row.ok for row in plans.compliance(current.department, this_month))
    assert TeachingPlan.objects.filter(month=this_month, status=PlanStatus.APPROVED).count() >= 3
