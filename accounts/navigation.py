from django.utils.translation import gettext_lazy as _

from core.navigation import NavItem, register

from .permissions import may_manage_accounts

register(
    NavItem(label=_("Accounts"), url_name="accounts:user_list", icon="people", order=80, allowed=may_manage_accounts)
)
register(
    NavItem(
        label=_("Organisation and chains"),
        url_name="admin:index",
        icon="diagram-3",
        order=90,
        allowed=may_manage_accounts,
    )
)
