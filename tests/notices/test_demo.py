import pytest

from accounts.choices import Role
from notices.demo import NOTICES, seed
from notices.models import Notice, NoticeRead
from tests.conftest import _person

pytestmark = pytest.mark.django_db


def _state() -> list[tuple]:
    notices = Notice.objects.order_by("title").values_list("title", "status", "is_pinned", "published_at")
    reads = NoticeRead.objects.order_by("notice__title", "user__username").values_list(
        "notice__title", "user__username", "read_at"
    )
    return [*notices, *reads]


def test_the_demo_seeder_does_nothing_without_an_office(org):
    seed()
    assert not Notice.objects.exists()


def test_the_demo_seeder_creates_notices_and_reads_and_a_second_run_changes_nothing(org, office, resident):
    _person("resident2", "赵二", Role.RESIDENT, base=org.internal)
    seed()
    first = _state()
    seed()
    assert _state() == first
    assert Notice.objects.count() == len(NOTICES)
    assert Notice.objects.filter(is_pinned=True, status="published").count() == 2
    assert Notice.objects.filter(status="draft").count() == 1
    assert Notice.objects.get(title="基地教学查房观摩活动安排").audience_bases.get() == org.internal
    assert NoticeRead.objects.filter(user=resident).count() == 2
    assert NoticeRead.objects.count() == 3
    assert set(Notice.objects.values_list("author__username", flat=True)) == {"office"}
