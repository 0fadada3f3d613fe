"""Check-in in the menu: the office's anomaly report (decided from the roles alone, no query per page).

Teachers reach the QR display and the attendance list from each activity (the plans' activity page links
to teaching:checkin_code and teaching:checkin_attendance).
"""

from django.utils.translation import gettext_lazy as _

from core.navigation import NavItem, register

from .permissions import office_hospitals


def _office(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(office_hospitals(user))


register(
    NavItem(
        label=_("Check-in anomalies"),
        url_name="teaching:checkin_anomalies",
        icon="shield-exclamation",
        order=67,
        allowed=_office,
    )
)
