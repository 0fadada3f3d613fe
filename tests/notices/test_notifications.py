"""消息: notify() writes one row per active recipient; each user sees, opens and clears only their own."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

from accounts.choices import UserStatus
from notices.models import Notification
from notices.notify import mark_all_read, notify, unread_count
from tests.factories.accounts import UserFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_notify_creates_one_row_per_active_user_and_skips_duplicates_and_inactive(resident, supervisor):
    gone = UserFactory(status=UserStatus.DISABLED)
    count = notify(
        [resident, supervisor, resident, gone, None],
        title="Schedule published",
        body="Cardiology from March",
        url="/rotation/mine/",
        kind="rotation.published",
    )
    assert count == 2
    rows = Notification.objects.order_by("user__username")
    assert [(n.user, n.title, n.body, n.url, n.kind, n.read_at) for n in rows] == [
        (resident, "Schedule published", "Cardiology from March", "/rotation/mine/", "rotation.published", None),
        (supervisor, "Schedule published", "Cardiology from March", "/rotation/mine/", "rotation.published", None),
    ]


def test_notify_accepts_a_queryset(resident, supervisor):
    from accounts.models import User

    assert notify(User.objects.filter(pk__in=[resident.pk, supervisor.pk]), title="Hello") == 2
    assert resident.notifications.count() == 1


def test_lazy_strings_are_rendered_in_the_hospital_language(settings, resident):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("en"):
        notify([resident], title=gettext_lazy("Notices"))
    assert resident.notifications.get().title == "通知公告"


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/x", "rotation/x", "/\\evil.example", "/a\nb"])
def test_notify_refuses_links_that_leave_the_site(resident, url):
    with pytest.raises(ValidationError):
        notify([resident], title="Phish", url=url)
    assert not Notification.objects.exists()


def test_the_model_validates_its_link(resident):
    with pytest.raises(ValidationError) as exc:
        Notification(user=resident, title="x", url="http://evil.example/").full_clean()
    assert "url" in exc.value.message_dict
    Notification(user=resident, title="x", url="/notices/").full_clean()


def test_notify_needs_a_title(resident):
    with pytest.raises(ValidationError):
        notify([resident], title="  ")


def test_unread_count_is_one_query_and_counts_only_unread_own_rows(resident, supervisor, django_assert_num_queries):
    notify([resident, supervisor], title="one")
    notify([resident], title="two")
    Notification.objects.filter(user=resident, title="one").update(read_at="2025-01-01T00:00Z")
    with django_assert_num_queries(1):
        assert unread_count(resident) == 1
    assert unread_count(supervisor) == 1
    assert mark_all_read(supervisor) == 1
    assert unread_count(supervisor) == 0


def test_the_list_shows_only_my_notifications_unread_first(client, resident, supervisor):
    notify([resident], title="older and read")
    notify([resident], title="newer unread")
    notify([supervisor], title="someone else's")
    Notification.objects.filter(title="older and read").update(read_at="2025-01-01T00:00Z")
    notify([resident], title="newest but read")
    Notification.objects.filter(title="newest but read").update(read_at="2025-01-02T00:00Z")
    client.force_login(resident)
    response = client.get(reverse("notices:notifications"))
    assert response.status_code == 200
    titles = [n.title for n in response.context["notifications"]]
    assert titles == ["newer unread", "newest but read", "older and read"]
    assert "someone else&#x27;s" not in response.content.decode()
    assert response.context["unread_count"] == 1


def test_the_list_escapes_title_and_body(client, resident):
    notify([resident], title="<script>alert(1)</script>", body="<b>bold</b>")
    client.force_login(resident)
    html = client.get(reverse("notices:notifications")).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html


def test_the_list_is_for_signed_in_users(client, personas):
    assert_access(
        client, personas, {"anonymous": LOGIN, "outsider": 200, "resident": 200}, reverse("notices:notifications")
    )


def test_another_users_notification_is_404_everywhere(client, resident, supervisor):
    notify([supervisor], title="theirs", url="/notices/")
    theirs = supervisor.notifications.get()
    client.force_login(resident)
    assert client.get(reverse("notices:notification_open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notices:notification_read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_one_and_all_read(client, resident, supervisor):
    notify([resident], title="a")
    notify([resident], title="b")
    notify([supervisor], title="c")
    a = resident.notifications.get(title="a")
    client.force_login(resident)
    response = client.post(reverse("notices:notification_read", args=[a.pk]))
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.read_at is not None
    assert unread_count(resident) == 1
    assert client.get(reverse("notices:notification_read", args=[a.pk])).status_code == 405
    client.post(reverse("notices:notifications_read_all"))
    assert unread_count(resident) == 0
    assert unread_count(supervisor) == 1


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client, resident):
    notify([resident], title="go", url="/notices/?page=2")
    notification = resident.notifications.get()
    client.force_login(resident)
    response = client.get(reverse("notices:notification_open", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/notices/?page=2"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_never_redirects_off_site_even_if_a_bad_link_got_stored(client, resident):
    bad = Notification.objects.create(user=resident, title="bad", url="//evil.example/")
    client.force_login(resident)
    response = client.get(reverse("notices:notification_open", args=[bad.pk]))
    assert response["Location"] == reverse("notices:notifications")
    bad.refresh_from_db()
    assert bad.read_at is not None


def test_the_nav_badge_counts_unread_notifications(client, resident):
    notify([resident], title="one")
    notify([resident], title="two")
    client.force_login(resident)
    response = client.get(reverse("notices:notifications"))
    items = {str(item["label"]): item["badge"] for item in response.context["nav_items"]}
    assert items["Notifications"] == 2
