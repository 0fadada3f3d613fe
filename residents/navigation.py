from django.utils.translation import gettext_lazy as _

from core.navigation import NavItem, register

from .permissions import may_enroll, may_list_residents


def _is_resident(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_resident


register(NavItem(label=_("My archive"), url_name="residents:mine", icon="person-vcard", order=15, allowed=_is_resident))
register(
    NavItem(
        label=_("Residents"), url_name="residents:list", icon="person-lines-fill", order=40, allowed=may_list_residents
    )
)
register(
    NavItem(
        label=_("Enrollment"), url_name="residents:batch_list", icon="clipboard-check", order=70, allowed=may_enroll
    )
)
