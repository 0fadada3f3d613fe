"""What the approval engine adds to every page: the 待办 entry with its count, and home panels."""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .choices import OPEN_STATUSES
from .selectors import inbox_count, inbox_for, submitted_by

register(
    NavItem(
        label=_("To-do"), url_name="approvals:inbox", icon="inbox", order=10, allowed=lambda u: True, badge=inbox_count
    )
)
register(NavItem(label=_("My requests"), url_name="approvals:mine", icon="send", order=20, allowed=lambda u: True))


def _inbox_panel(request) -> dict:
    return {"items": list(inbox_for(request.user)[:5]), "count": inbox_count(request.user)}


def _mine_panel(request) -> dict:
    return {"items": list(submitted_by(request.user).filter(status__in=OPEN_STATUSES)[:5])}


def _decides_things(user) -> bool:
    """Approvers always see the panel (an empty inbox is news too); residents only when asked to act."""
    return bool(user.scope.roles - {Role.RESIDENT}) or inbox_count(user) > 0


register_panel(
    Panel(template="approvals/includes/inbox_panel.html", context=_inbox_panel, allowed=_decides_things, order=10)
)
register_panel(
    Panel(
        template="approvals/includes/mine_panel.html",
        context=_mine_panel,
        order=30,
        allowed=lambda u: submitted_by(u).filter(status__in=OPEN_STATUSES).exists(),
    )
)
