"""带教师资 for the people who manage teachers, and 我的师资档案 for teachers themselves.

Both checks run on every page: they read the role scope already loaded for the request, and the
second asks the database at most once per request, only for users who hold a teaching role.
"""

from django.utils.translation import gettext_lazy as _

from core.navigation import NavItem, register

from .permissions import may_list_faculty
from .selectors import has_faculty_profile

register(NavItem(label=_("Faculty"), url_name="faculty:list", icon="person-badge", order=45, allowed=may_list_faculty))
register(
    NavItem(
        label=_("My teaching archive"),
        url_name="faculty:mine",
        icon="journal-bookmark",
        order=46,
        allowed=has_faculty_profile,
    )
)
