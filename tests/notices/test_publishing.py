import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.choices import Role
from notices import services
from notices.models import Notice, NoticeRead
from notices.selectors import unread_count

pytestmark = pytest.mark.django_db


def _form(org, **overrides):
    data = {
        "title": "关于开展2025年度住院医师规范化培训年度考核的通知",
        "body": "各位住院医师：\n\n年度考核定于12月中旬举行。\n请提前准备。",
        "audience_roles": [Role.RESIDENT],
        "audience_bases": [org.internal.pk],
    }
    return {**data, **overrides}


def test_the_office_publishes_a_resident_reads_it_and_the_office_sees_who_read_it(
    client, org, office, resident, other_resident, audit_events
):
    client.force_login(office)
    response = client.post(reverse("notices:create"), _form(org))
    assert response.status_code == 302
    notice = Notice.objects.get()
    assert notice.status == "draft" and notice.author == office
    assert notice.body == "<p>各位住院医师：</p>\n\n<p>年度考核定于12月中旬举行。<br>请提前准备。</p>"
    assert unread_count(resident) == 0

    response = client.post(reverse("notices:publish", args=[notice.uuid]))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.is_published and notice.published_at is not None

    client.force_login(resident)
    response = client.get(reverse("notices:list"))
    assert response.context["unread_count"] == 1
    assert [n.title for n in response.context["notices"]] == [notice.title]
    assert 'data-testid="unread-marker"' in response.content.decode()
    nav = next(i for i in response.context["nav_items"] if i["url"] == reverse("notices:list"))
    assert nav["badge"] == 1 and nav["icon"] == "megaphone"

    response = client.get(reverse("notices:detail", args=[notice.uuid]))
    assert response.status_code == 200
    assert "年度考核定于12月中旬举行" in response.content.decode()
    assert unread_count(resident) == 0
    client.get(reverse("notices:detail", args=[notice.uuid]))  # a second visit changes nothing
    assert NoticeRead.objects.filter(notice=notice, user=resident).count() == 1
    assert client.get(reverse("notices:list")).context["unread_count"] == 0

    assert unread_count(other_resident) == 0  # another base's resident never hears of it

    client.force_login(office)
    response = client.get(reverse("notices:reads", args=[notice.uuid]))
    assert response.status_code == 200
    assert response.context["counts"] == {"total": 1, "read": 1, "unread": 0}
    rows = list(response.context["rows"])
    assert [(r.username, r.read_at is not None) for r in rows] == [("resident", True)]
    assert "李住院" in response.content.decode()

    response = client.post(reverse("notices:withdraw", args=[notice.uuid]))
    notice.refresh_from_db()
    assert notice.status == "withdrawn"
    assert unread_count(resident) == 0
    client.force_login(resident)
    assert client.get(reverse("notices:detail", args=[notice.uuid])).status_code == 404

    actions = [e["action"] for e in audit_events if e["action"].startswith("notice.")]
    assert actions == ["notice.create", "notice.publish", "notice.read", "notice.withdraw"]
    publish = next(e for e in audit_events if e["action"] == "notice.publish")
    assert publish["user"]["username"] == "office"
    assert publish["target"]["id"] == str(notice.uuid)
    assert publish["changes"] == {"status": ["draft", "published"]}


def test_save_and_publish_publishes_in_one_step(client, org, office, resident):
    client.force_login(office)
    response = client.post(reverse("notices:create"), _form(org, publish="1"))
    notice = Notice.objects.get()
    assert response["Location"] == reverse("notices:detail", args=[notice.uuid])
    assert notice.is_published
    assert unread_count(resident) == 1


def test_the_read_report_lists_readers_first_and_filters_by_state(client, make_notice, office, resident, director):
    notice = make_notice("全院通知")
    services.notice_mark_read(notice=notice, user=director)
    client.force_login(office)
    response = client.get(reverse("notices:reads", args=[notice.uuid]))
    usernames = [r.username for r in response.context["rows"]]
    assert usernames[0] == "director" and "resident" in usernames and "office" in usernames
    assert response.context["counts"]["read"] == 1

    response = client.get(reverse("notices:reads", args=[notice.uuid]), {"state": "unread"})
    assert "director" not in [r.username for r in response.context["rows"]]


def test_a_published_notice_cannot_be_edited_until_it_is_withdrawn(client, make_notice, org, office, audit_events):
    notice = make_notice("年度考核通知")
    client.force_login(office)
    response = client.post(reverse("notices:edit", args=[notice.uuid]), _form(org, title="改过的标题"))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.title == "年度考核通知"
    with pytest.raises(ValidationError):
        services.notice_update(notice=notice, title="x", body="y", acting_user=office)

    services.notice_withdraw(notice=notice, acting_user=office)
    response = client.post(reverse("notices:edit", args=[notice.uuid]), _form(org, title="改过的标题"))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.title == "改过的标题"
    assert list(notice.audience_bases.all()) == [org.internal]
    update = next(e for e in audit_events if e["action"] == "notice.update")
    assert update["changes"]["title"] == ["年度考核通知", "改过的标题"]
    assert update["changes"]["audience_bases"] == [[], ["0100"]]


def test_a_notice_cannot_be_published_twice_or_withdrawn_as_a_draft(make_notice, office):
    notice = make_notice()
    with pytest.raises(ValidationError):
        services.notice_publish(notice=notice, acting_user=office)
    draft = make_notice("草稿", publish=False)
    with pytest.raises(ValidationError):
        services.notice_withdraw(notice=draft, acting_user=office)


def test_a_base_of_another_hospital_cannot_be_addressed(org, office):
    from tests.factories.accounts import HospitalFactory, SpecialtyBaseFactory

    foreign = SpecialtyBaseFactory(hospital=HospitalFactory(code="other"))
    with pytest.raises(ValidationError):
        services.notice_create(hospital=org.hospital, title="t", body="b", audience_bases=[foreign], acting_user=office)
    assert not Notice.objects.exists()


def test_the_form_only_offers_bases_of_the_office_hospital_and_shows_errors_next_to_fields(client, org, office):
    client.force_login(office)
    response = client.post(reverse("notices:create"), _form(org, title=""))
    assert response.status_code == 200
    assert response.context["form"].errors["title"]
    assert 'class="invalid-feedback d-block"' in response.content.decode()
    assert set(response.context["form"].fields["audience_bases"].queryset) == {org.internal, org.surgery}


def test_pinned_notices_come_first_then_the_newest(client, make_notice, resident):
    make_notice("旧通知")
    make_notice("置顶通知", pinned=True)
    make_notice("新通知")
    client.force_login(resident)
    titles = [n.title for n in client.get(reverse("notices:list")).context["notices"]]
    assert titles == ["置顶通知", "新通知", "旧通知"]


def test_the_list_filters_by_title_and_read_state(client, make_notice, resident):
    first = make_notice("结业考核报名通知")
    make_notice("师资培训通知")
    services.notice_mark_read(notice=first, user=resident)
    client.force_login(resident)
    url = reverse("notices:list")
    assert [n.title for n in client.get(url, {"q": "结业"}).context["notices"]] == ["结业考核报名通知"]
    assert [n.title for n in client.get(url, {"read": "unread"}).context["notices"]] == ["师资培训通知"]
    assert [n.title for n in client.get(url, {"read": "read"}).context["notices"]] == ["结业考核报名通知"]
    assert "status" not in client.get(url).context["filter"].form.fields


def test_the_office_filters_its_list_by_status(client, make_notice, office):
    make_notice("已发布")
    make_notice("草稿", publish=False)
    client.force_login(office)
    url = reverse("notices:list")
    assert {n.title for n in client.get(url).context["notices"]} == {"已发布", "草稿"}
    assert [n.title for n in client.get(url, {"status": "draft"}).context["notices"]] == ["草稿"]


def test_the_list_query_count_does_not_grow_with_the_notices(
    client, make_notice, org, resident, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.notices.conftest import PDF, upload

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.get(reverse("notices:list"))
        return len(ctx.captured_queries)

    client.force_login(resident)
    make_notice("通知", bases=[org.internal], attachments=[upload("0.pdf", PDF)])
    with_one = page_queries()
    for i in range(1, 25):
        notice = make_notice(f"通知{i}", bases=[org.internal], attachments=[upload(f"{i}.pdf", PDF)])
        if i % 2:
            services.notice_mark_read(notice=notice, user=resident)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("notices:list"))
    assert page_queries() == with_one
    assert len(response.context["notices"]) == 20
    assert response.context["unread_count"] == 13


def test_the_home_page_shows_the_latest_notices_with_unread_markers(client, make_notice, resident):
    for i in range(7):
        make_notice(f"通知{i}")
    client.force_login(resident)
    response = client.get(reverse("core:home"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="notices-panel"' in page
    assert "通知6" in page and "通知1" not in page
