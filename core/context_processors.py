from django.urls import reverse

from . import navigation as nav


def navigation(request) -> dict:
    """Navigation entries and their badge counts (inbox, unread notices) for the signed-in user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    entries = [
        {
            "label": item.label,
            "url": reverse(item.url_name),
            "icon": item.icon,
            "active": current == item.url_name,
            "badge": item.badge(user) if item.badge else 0,
        }
        for item in nav.items_for(user)
    ]
    return {"nav_items": entries}
