"""Residents to Excel: the columns, who gets which column in clear, and who may export at all.

The enrollment batch export reuses `RESIDENT_COLUMNS` and `export_residents` with its own
title and filters, so a resident looks the same in every spreadsheet the hospital sends out.
"""

from functools import lru_cache

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.choices import REVEAL_ROLES, Role
from core.exports import Column, Export, export_view
from core.masking import mask_id_number, mask_phone

from .models import ResidentProfile
from .permissions import BASE_MANAGERS

#: Roles for whom ResidentProfilePolicy's "export" can be true (office, base director, base secretary).
EXPORT_ROLES = (Role.TRAINING_OFFICE, *BASE_MANAGERS)


def may_export_residents(user) -> bool:
    """May this user export any resident list? Which rows: `exportable`."""
    return bool(user.is_authenticated) and user.scope.has_role(*EXPORT_ROLES)


def exportable(user, queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` (already restricted by `visible`) the policy lets `user` export.

    Mirrors ResidentProfilePolicy "export" as a filter: the office exports what it sees, a base
    director or secretary only their base's residents (not, say, mentees of another base).
    """
    scope = user.scope
    if scope.is_office:
        return queryset
    bases = scope.bases(*BASE_MANAGERS)
    return queryset.filter(base_id__in=bases) if bases else queryset.none()


def unmask(user, column: Column) -> bool:
    """ID numbers in clear only for the reveal roles (the training office); phones for the office."""
    scope = user.scope
    if column.name == "id_number":
        return scope.has_role(*REVEAL_ROLES)
    if column.name == "phone":
        return scope.is_office
    return False


@lru_cache(maxsize=256)
def _label(language: str | None, field: str, value: str) -> str:
    """A choice's label in the current language, looked up once per export, not once per row."""
    return str(dict(ResidentProfile._meta.get_field(field).flatchoices).get(value, value))


def _display(obj: ResidentProfile, field: str) -> str:
    value = getattr(obj, field)
    return _label(get_language(), field, value) if value else ""


RESIDENT_COLUMNS: tuple[Column, ...] = (
    Column(_("Staff or student number"), lambda r: r.user.staff_number or "", key="staff_number", width=14),
    Column(_("Name"), lambda r: r.user.real_name, key="name", width=10),
    Column(_("Gender"), lambda r: _display(r, "gender"), key="gender", width=6),
    Column(_("ID number"), lambda r: r.user.id_number, key="id_number", masker=mask_id_number, width=21),
    Column(_("Mobile phone"), lambda r: r.user.phone, key="phone", masker=mask_phone, width=14),
    Column(_("Specialty base"), lambda r: r.base.name, key="base", width=14),
    Column(_("Cohort"), lambda r: r.cohort, key="cohort", width=7),
    Column(_("Training years"), lambda r: r.training_years, key="training_years", width=8),
    Column(_("Training category"), lambda r: _display(r, "category"), key="category", width=14),
    Column(_("Sending unit"), lambda r: r.sending_unit, key="sending_unit", width=18),
    Column(_("Training start date"), lambda r: r.start_date, key="start_date", width=12),
    Column(_("Planned end date"), lambda r: r.planned_end_date, key="planned_end_date", width=12),
    Column(_("Training status"), lambda r: _display(r, "status"), key="status", width=10),
    Column(_("Responsible mentor"), lambda r: r.mentor.display_name if r.mentor_id else "", key="mentor", width=10),
    Column(_("School"), lambda r: r.school, key="school", width=18),
    Column(_("Education level"), lambda r: _display(r, "education_level"), key="education_level", width=10),
    Column(_("Degree"), lambda r: _display(r, "degree"), key="degree", width=12),
    Column(
        _("Qualification certificate number"),
        lambda r: r.qualification_number,
        key="qualification_number",
        width=20,
    ),
)


def export_residents(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    title,
    filters: dict,
    cancel_url: str | None = None,
    target=None,
    domain: str = "residents",
) -> HttpResponse:
    """The confirm page or the .xlsx of `queryset` (already restricted to what the exporter may export).

    Audited as ``<domain>.export`` (``residents.export`` unless the caller names its own, e.g. "enrollment")."""
    rows = queryset.select_related("user", "base", "mentor")
    if not rows.query.order_by:  # the caller's order (the list's ?sort=) wins; else by base, newest cohort
        rows = rows.order_by("base__code", "-cohort", "name_initials", "pk")
    return export_view(
        request,
        Export(
            domain=domain,
            title=title,
            rows=rows,
            columns=RESIDENT_COLUMNS,
            filters=filters,
            unmask=unmask,
            target=target,
        ),
        cancel_url=cancel_url,
    )
