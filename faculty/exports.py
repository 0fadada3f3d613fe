"""Teachers to Excel: the columns, who gets the phone in clear, and which rows a user may export."""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.exports import Column
from core.masking import mask_phone

from .models import FacultyProfile
from .permissions import BASE_MANAGERS


def may_export_faculty(user) -> bool:
    """The office and base directors/secretaries export lists; which rows: `exportable`."""
    return bool(user.is_authenticated) and (user.scope.is_office or user.scope.has_role(*BASE_MANAGERS))


def exportable(user, queryset: QuerySet) -> QuerySet:
    """FacultyProfilePolicy "export" as a filter: the office exports what it sees, a base's director or
    secretary the teachers of their base's departments (not, say, their own archive elsewhere)."""
    if user.scope.is_office:
        return queryset
    bases = user.scope.bases(*BASE_MANAGERS)
    return queryset.filter(department__base_id__in=bases) if bases else queryset.none()


def unmask(user, column: Column) -> bool:
    """Phones in clear for the training office only."""
    return column.name == "phone" and user.scope.is_office


def _qualification(profile: FacultyProfile) -> str:
    if profile.qualified_now:
        return str(_("Qualified"))
    if profile.ever_qualified:
        return str(_("Expired or revoked"))
    return str(_("Not qualified"))


FACULTY_COLUMNS: tuple[Column, ...] = (
    Column(_("Staff number"), lambda p: p.user.staff_number or "", key="staff_number", width=12),
    Column(_("Name"), lambda p: p.user.real_name, key="name", width=10),
    Column(_("Mobile phone"), lambda p: p.user.phone, key="phone", masker=mask_phone, width=14),
    Column(_("Department"), lambda p: p.department.name, key="department", width=16),
    Column(_("Specialty base"), lambda p: p.department.base.name if p.department.base_id else "", key="base", width=12),
    Column(_("Title"), lambda p: p.get_title_display(), key="title", width=22),
    Column(_("Title held since"), lambda p: p.title_since, key="title_since", width=12),
    Column(_("Teaching since"), lambda p: p.teaching_since, key="teaching_since", width=12),
    Column(_("Teaching years"), lambda p: p.teaching_years(timezone.localdate()), key="teaching_years", width=8),
    Column(_("Supervisor qualification"), _qualification, key="qualification", width=12),
    Column(_("Qualified until"), lambda p: p.qualified_until, key="qualified_until", width=12),
    Column(
        _("Posts held now"),
        lambda p: "、".join(str(post.get_kind_display()) for post in p.current_posts),
        key="posts",
        width=20,
    ),
    Column(_("Specialty"), lambda p: p.specialty, key="specialty", width=14),
    Column(_("Highest education"), lambda p: p.education, key="education", width=10),
)


def filters_of(filterset) -> dict[str, str]:
    """The filters that produced the rows, as labels and readable values (for the stamp and the audit)."""
    if not filterset.is_bound:
        return {}
    filterset.form.is_valid()  # an invalid value is ignored by the list too; the valid ones still apply
    shown = {}
    for name, value in filterset.form.cleaned_data.items():
        if value in (None, "", [], ()):
            continue
        field = filterset.form.fields[name]
        choices = dict(getattr(field, "choices", []) or []) if not hasattr(field, "queryset") else {}
        shown[str(field.label)] = str(choices.get(value, value))
    return shown
