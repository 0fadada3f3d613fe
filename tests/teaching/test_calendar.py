"""The teaching calendar's month, week and agenda views, filters, and the subscribe page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.teaching.test_plans import approved, kinds, plan, this_month  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_month_week_and_list_views_show_the_approved_activity(login, approved, resident, current_block):  # noqa: F811
    client = login(resident)
    start = timezone.localtime(approved.starts_at)
    for params in (
        {"view": "month", "month": f"{start:%Y-%m}"},
        {"view": "week", "week": start.date().isoformat()},
        {"view": "list", "month": f"{start:%Y-%m}"},
    ):
        page = client.get(reverse("teaching:calendar"), params)
        assert page.status_code == 200
        assert approved.title in page.content.decode(), params
    page = client.get(reverse("teaching:calendar"), {"view": "month", "month": f"{start:%Y-%m}"}).content.decode()
    assert 'data-testid="month-grid"' in page and 'data-testid="agenda"' in page


def test_the_teacher_filter_narrows_the_calendar(login, approved, office, other_supervisor):  # noqa: F811
    month = f"{timezone.localtime(approved.starts_at):%Y-%m}"
    client = login(office)
    url = reverse("teaching:calendar")
    assert approved.title in client.get(url, {"view": "list", "month": month}).content.decode()
    narrowed = client.get(url, {"view": "list", "month": month, "teacher": approved.teacher_id}).content.decode()
    assert approved.title in narrowed


def test_the_subscribe_page_shows_the_teaching_feed(login, resident):
    page = login(resident).get(reverse("teaching:calendar_subscribe")).content.decode()
    assert "/teaching/calendar.ics?token=" in page


def test_the_types_page_lists_the_defaults(login, office, kinds):  # noqa: F811
    page = login(office).get(reverse("teaching:plans_types")).content.decode()
    assert "小讲课" in page and "疑难病例讨论" in page
