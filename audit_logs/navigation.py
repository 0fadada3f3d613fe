"""The auditor's entries in the menu and the auditor's home panel (chain status, exceptions today)."""

from django.utils.translation import gettext_lazy as _

from core import mongo
from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from . import selectors
from .permissions import is_auditor

register(NavItem(label=_("Audit log"), url_name="audit_logs:events", icon="journal-text", order=80, allowed=is_auditor))
register(NavItem(label=_("Exceptions"), url_name="audit_logs:exceptions", icon="bug", order=81, allowed=is_auditor))
register(NavItem(label=_("Traffic"), url_name="audit_logs:traffic", icon="graph-up", order=82, allowed=is_auditor))
register(NavItem(label=_("Audit chain"), url_name="audit_logs:chain", icon="link-45deg", order=83, allowed=is_auditor))


def _auditor_panel(request) -> dict:
    """The home page never fails because MongoDB does: the panel says it is unavailable instead."""
    try:
        return {
            "available": True,
            "verification": selectors.latest_chain_verification(),
            "exceptions_today": selectors.exceptions_today(),
        }
    except mongo.MongoUnavailable:
        return {"available": False}


register_panel(
    Panel(template="audit_logs/includes/home_panel.html", context=_auditor_panel, allowed=is_auditor, order=15)
)
