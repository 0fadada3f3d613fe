"""The 公共信息 menu entry with its unread badge, and the latest notices on the home page."""

from django.utils.translation import gettext_lazy as _

from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .selectors import notices_for, unread_count

register(
    NavItem(label=_("Notices"), url_name="notices:list", icon="megaphone", order=30, allowed=lambda u: True,
            badge=unread_count)
)  # fmt: skip


def _latest_panel(request) -> dict:
    return {"items": list(notices_for(request.user)[:5]), "unread": unread_count(request.user)}


register_panel(
    Panel(template="notices/includes/latest_panel.html", context=_latest_panel, allowed=lambda u: True, order=20)
)
