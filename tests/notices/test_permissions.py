import pytest
from django.urls import reverse

from accounts.choices import Role
from core.permissions import visible
from notices.models import Notice
from notices.selectors import audience_of
from tests.notices.conftest import PDF, upload
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db


@pytest.fixture
def internal_notice(make_notice, org):
    """Published, for the 内科 base only, with a PDF attached."""
    return make_notice(
        "内科基地教学查房观摩安排", bases=[org.internal], attachments=[upload("安排.pdf", PDF, "application/pdf")]
    )


@pytest.fixture
def draft(make_notice):
    return make_notice("关于2026年度招收计划的通知（征求意见稿）", publish=False)


def test_everyone_signed_in_opens_the_list_and_anonymous_users_are_sent_to_login(client, personas):
    expected = {name: 200 for name in personas if name != "anonymous"} | {"anonymous": LOGIN}
    assert_access(client, personas, expected, reverse("notices:list"))


def test_a_base_targeted_notice_does_not_exist_outside_its_base(client, personas, internal_notice):
    url = reverse("notices:detail", args=[internal_notice.uuid])
    expected = {
        "anonymous": LOGIN, "outsider": 404, "other_resident": 404, "other_director": 404, "sysadmin": 404,
        "resident": 200, "supervisor": 200, "secretary": 200, "director": 200, "office": 200,
    }  # fmt: skip
    assert_access(client, personas, expected, url)


def test_a_draft_is_seen_only_by_the_office(client, personas, draft):
    url = reverse("notices:detail", args=[draft.uuid])
    assert_access(client, personas, {"anonymous": LOGIN, "resident": 404, "director": 404, "office": 200}, url)


def test_only_the_office_opens_the_new_notice_form(client, personas):
    url = reverse("notices:create")
    expected = {"anonymous": LOGIN, "outsider": 403, "resident": 403, "director": 403, "sysadmin": 403, "office": 200}
    assert_access(client, personas, expected, url)


def test_only_the_office_edits_a_draft(client, personas, draft):
    url = reverse("notices:edit", args=[draft.uuid])
    assert_access(client, personas, {"anonymous": LOGIN, "outsider": 404, "resident": 404, "office": 200}, url)


def test_a_reader_who_tries_to_edit_a_published_notice_is_forbidden(client, personas, internal_notice):
    url = reverse("notices:edit", args=[internal_notice.uuid])
    expected = {"anonymous": LOGIN, "other_resident": 404, "resident": 403, "director": 403, "office": 302}
    assert_access(client, personas, expected, url)


def test_only_the_office_publishes(client, personas, draft):
    url = reverse("notices:publish", args=[draft.uuid])
    expected = {"anonymous": LOGIN, "outsider": 404, "resident": 404, "office": 302}
    assert_access(client, personas, expected, url, method="post")
    draft.refresh_from_db()
    assert draft.is_published


def test_only_the_office_withdraws(client, personas, internal_notice):
    url = reverse("notices:withdraw", args=[internal_notice.uuid])
    expected = {"anonymous": LOGIN, "outsider": 404, "other_resident": 404, "resident": 403, "office": 302}
    assert_access(client, personas, expected, url, method="post")
    internal_notice.refresh_from_db()
    assert internal_notice.status == "withdrawn"


def test_only_the_office_sees_who_has_read_a_notice(client, personas, internal_notice):
    url = reverse("notices:reads", args=[internal_notice.uuid])
    expected = {
        "anonymous": LOGIN, "outsider": 404, "other_resident": 404, "resident": 403, "supervisor": 403,
        "director": 403, "office": 200,
    }  # fmt: skip
    assert_access(client, personas, expected, url)


def test_an_attachment_is_downloaded_by_whoever_sees_its_notice(client, personas, internal_notice):
    url = reverse("notices:attachment", args=[internal_notice.attachments.get().uuid])
    expected = {"anonymous": LOGIN, "outsider": 404, "other_resident": 404, "resident": 200, "office": 200}
    assert_access(client, personas, expected, url)


def test_only_the_office_removes_an_attachment(client, personas, make_notice):
    notice = make_notice("附件测试", publish=False, attachments=[upload("a.pdf", PDF)])
    url = reverse("notices:attachment_remove", args=[notice.attachments.get().uuid])
    assert_access(client, personas, {"anonymous": LOGIN, "resident": 404, "office": 302}, url, method="post")
    assert not notice.attachments.exists()


def test_a_notice_for_residents_is_hidden_from_supervisors_of_the_same_base(make_notice, resident, supervisor):
    notice = make_notice(roles=[Role.RESIDENT])
    assert visible(resident, Notice).filter(pk=notice.pk).exists()
    assert not visible(supervisor, Notice).filter(pk=notice.pk).exists()


def test_the_read_report_audience_is_exactly_who_can_see_the_notice(make_notice, org, personas):
    people = [u for name, u in personas.items() if u is not None and name != "office"]
    notices = [
        make_notice("全院通知"),
        make_notice("住院医师通知", roles=[Role.RESIDENT]),
        make_notice("内科基地通知", bases=[org.internal]),
        make_notice("外科带教通知", roles=[Role.SUPERVISOR, Role.BASE_DIRECTOR], bases=[org.surgery]),
    ]
    for notice in notices:
        can_see = {u.username for u in people if visible(u, Notice).filter(pk=notice.pk).exists()}
        audience = set(audience_of(notice).exclude(username="office").values_list("username", flat=True))
        assert audience == can_see, notice.title
