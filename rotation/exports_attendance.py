"""Attendance statistics to Excel through core.exports: password re-auth, watermark stamp, formula-safe
cells, audited as ``rotation.attendance.export``. The columns follow the grouping shown on the page.
"""

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exports import Column, Export, export_view

DOMAIN = "rotation.attendance"


def statistics_columns(by: str) -> list[Column]:
    if by == "department":
        first = [
            Column(gettext_lazy("Department"), lambda r: r["department"], key="department", width=14),
            Column(gettext_lazy("Hospital or site"), lambda r: r["site"], key="site", width=14),
            Column(gettext_lazy("Residents"), lambda r: r["residents"], key="residents", width=9),
        ]
    elif by == "month":
        first = [
            Column(gettext_lazy("Month"), lambda r: f"{r['month']:%Y-%m}", key="month", width=9),
            Column(gettext_lazy("Residents"), lambda r: r["residents"], key="residents", width=9),
        ]
    else:
        first = [
            Column(gettext_lazy("Name"), lambda r: r["resident"], key="name", width=10),
            Column(gettext_lazy("Specialty base"), lambda r: r["base"], key="base", width=12),
        ]
    return first + [
        Column(gettext_lazy("Months reported"), lambda r: r["months"], key="months", width=9),
        Column(gettext_lazy("Scheduled working days"), lambda r: r["scheduled"], key="scheduled", width=10),
        Column(gettext_lazy("Leave days"), lambda r: float(r["leave"]), key="leave", width=9),
        Column(gettext_lazy("Duty days"), lambda r: r["duty"], key="duty", width=9),
        Column(gettext_lazy("Absence days"), lambda r: float(r["absence"]), key="absence", width=9),
    ]


def export_statistics(
    request: HttpRequest, rows: list[dict], *, by: str, filters: dict, cancel_url: str | None = None
) -> HttpResponse:
    """The confirm page, or the .xlsx of the statistics rows. The caller scoped and filtered the rows."""
    export = Export(
        domain=DOMAIN,
        title=_("Attendance statistics"),
        rows=rows,
        columns=statistics_columns(by),
        filters=filters,
        count=len(rows),
    )
    return export_view(request, export, cancel_url=cancel_url)
