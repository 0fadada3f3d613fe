"""Teaching on the resident's archive timeline (monthly attendance with credit) and the faculty page (given)."""

from collections import defaultdict
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import timeline

from .choices import Purpose
from .models import Attendance
from .services.stats import held


@timeline.register(timeline.RESIDENT, "teaching")
def resident_teaching(profile, viewer):
    """One entry per month: activities attended with credit (check-in and check-out) and their hours."""
    rows = Attendance.objects.filter(user_id=profile.user_id, purpose__in=[Purpose.CHECK_IN, Purpose.CHECK_OUT])
    purposes: dict = defaultdict(set)
    for activity_id, purpose in rows.values_list("activity_id", "purpose"):
        purposes[activity_id].add(purpose)
    credited = [pk for pk, seen in purposes.items() if len(seen) == 2]
    months: dict = defaultdict(lambda: [0, Decimal(0)])
    for starts_at, hours in held().filter(pk__in=credited).values_list("starts_at", "hours"):
        month = timezone.localtime(starts_at).date().replace(day=1)
        months[month][0] += 1
        months[month][1] += hours
    url = reverse("teaching:stats_resident_profile", args=[profile.uuid])
    for month, (count, hours) in months.items():
        yield timeline.TimelineEntry(
            when=month,
            title=ngettext(
                "Teaching: %(count)s activity attended in %(month)s",
                "Teaching: %(count)s activities attended in %(month)s",
                count,
            )
            % {"count": count, "month": f"{month:%Y-%m}"},
            detail=_("%(hours)s credit hours") % {"hours": f"{hours.normalize():f}"},
            kind="teaching",
            icon="mortarboard",
            url=url,
        )


@timeline.register(timeline.FACULTY, "teaching")
def faculty_teaching(profile, viewer):
    """Activities the teacher gave (approved, started)."""
    activities = (
        held()
        .filter(teacher_id=profile.user_id, starts_at__lte=timezone.now())
        .select_related("activity_type", "department")
    )
    for activity in activities:
        yield timeline.TimelineEntry(
            when=activity.starts_at,
            title=_("Taught %(type)s: %(title)s") % {"type": activity.activity_type.name, "title": activity.title},
            detail=_("%(department)s, %(hours)s credit hours")
            % {"department": activity.department.name, "hours": f"{activity.hours.normalize():f}"},
            kind="teaching",
            icon="easel",
        )
