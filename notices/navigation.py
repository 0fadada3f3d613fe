"""The 公共信息 and 消息 (my notifications) menu entries with their unread badges; the latest notices at home."""

from django.utils.translation import gettext_lazy as _

from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .notify import unread_count as unread_notifications
from .selectors import notices_for, unread_count

register(
    NavItem(label=_("Notices"), url_name="notices:list", icon="megaphone", order=30, allowed=lambda u: True,
            badge=unread_count)
)  # fmt: skip

register(
    NavItem(label=_("Notifications"), url_name="notices:notifications", icon="bell", order=15,
            allowed=lambda u: True, badge=unread_notifications)
)  # fmt: skip


def _latest_panel(request) -> dict:
    return {"items": list(notices_for(request.user)[:5]), "unread": unread_count(request.user)}


register_panel(
    Panel(template="notices/includes/latest_panel.html", context=_latest_panel, allowed=lambda u: True, order=20)
)
