"""The demo's 入科教育 and 出科: entry education on most started blocks, the persona's passed exits, one failed
exit with its make-up task; fast and idempotent."""

import time
from io import StringIO

import pytest
from django.db import transaction
from django.utils import timezone

import rotation.demo_blocks  # noqa: F401  (registers the seeder until apps.ready does)
from core.demo import seeders
from notices.models import Notification
from rotation.choices import ExitStage
from rotation.models import EntryEducation, ExitReview, MakeupTask, RotationBlock

SEEDERS = ("accounts", "residents", "rotation", "rotation_blocks")


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
            summaries["again"] = rotation.demo_blocks.seed_blocks()
            yield summaries, seconds
            transaction.set_rollback(True)


@pytest.fixture
def demo(seeded, db):
    return seeded


def test_the_demo_seeds_entry_education_and_exits_quickly_and_once(demo):
    summaries, seconds = demo
    assert seconds["rotation_blocks"] < 3, (summaries, seconds)
    assert summaries["again"] == "up to date"
    today = timezone.localdate()
    card = RotationBlock.objects.filter(department__code="CARD", start_date__lte=today)
    assert EntryEducation.objects.filter(block__in=card).count() == card.count()
    assert EntryEducation.objects.filter(confirmed_at__isnull=True).exists()
    started = RotationBlock.objects.filter(start_date__lte=today).count()
    assert EntryEducation.objects.count() >= started * 0.7


def test_the_personas_finished_blocks_passed_and_the_current_one_waits(demo):
    today = timezone.localdate()
    finished = RotationBlock.objects.filter(resident__user__username="resident", end_date__lt=today)
    reviews = ExitReview.objects.filter(block__in=finished)
    assert reviews.count() == finished.count() > 0
    assert set(reviews.values_list("stage", flat=True)) == {ExitStage.PASSED}
    current = RotationBlock.objects.get(resident__user__username="resident", start_date__lte=today, end_date__gte=today)
    review = ExitReview.objects.filter(block=current).first()
    assert review is None or review.stage == ExitStage.ASSESSMENT
    assert EntryEducation.objects.get(block=current).confirmed_at is None  # something to confirm


def test_one_other_resident_failed_and_has_a_make_up_task(demo):
    task = MakeupTask.objects.select_related("review__block__resident__user").get()
    assert task.review.stage == ExitStage.FAILED and task.resident.user.username != "resident"
    assert Notification.objects.filter(user=task.resident.user, kind="rotation.exit_failed").exists()
