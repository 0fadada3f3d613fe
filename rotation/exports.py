"""The schedule grid to Excel: sheet 1 one row per resident and one column per month (the
department's name), sheet 2 the department x month load against capacity.

Sheet 1 goes through core.exports (password re-auth, watermark stamp, formula-safe cells,
audit as ``rotation.grid.export``); the heatmap sheet is added to the finished workbook, with the
same stamp, so the security steps stay in one place.
"""

import tempfile

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from openpyxl import load_workbook
from openpyxl.styles import Font, PatternFill

from core.exports import Column, Export, export_view, safe_cell_value, stamp_text

from .choices import EntryKind
from .grid import Grid, Heatmap

DOMAIN = "rotation.grid"


def _cell_text(cell) -> str:
    if cell.kind == EntryKind.ROTATION and cell.department is not None:
        return cell.department.name
    if cell.kind == EntryKind.FREE:
        return _("Unassigned")
    if cell.kind == EntryKind.LEAVE:
        return _("Leave")
    return ""


def grid_columns(grid: Grid) -> list[Column]:
    columns = [
        Column(gettext_lazy("Name"), lambda r: r.resident.user.real_name, key="name", width=10),
        Column(
            gettext_lazy("Staff or student number"),
            lambda r: r.resident.user.staff_number or "",
            key="staff_number",
            width=14,
        ),
        Column(gettext_lazy("Specialty base"), lambda r: r.resident.base.name, key="base", width=12),
        Column(gettext_lazy("Cohort"), lambda r: r.resident.cohort, key="cohort", width=7),
    ]
    for index, month in enumerate(grid.months):
        columns.append(
            Column(f"{month:%Y-%m}", lambda r, i=index: _cell_text(r.cells[i]), key=f"{month:%Y-%m}", width=11)
        )
    return columns


def _add_heatmap_sheet(workbook, heatmap: Heatmap, stamp: str) -> None:
    ws = workbook.create_sheet(title=_("Department load")[:31])
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    over_fill = PatternFill("solid", fgColor="F8CBAD")
    ws.append([stamp])
    ws["A1"].font = Font(bold=True, color="C00000")
    ws.append([_("Residents per month against the maximum; closed months marked.")])
    header = [_("Department"), _("Hospital or site"), ""] + [f"{m:%Y-%m}" for m in heatmap.months]
    ws.append([safe_cell_value(h) for h in header])
    for cell in ws[3]:
        cell.font, cell.fill = bold, header_fill
    for row in heatmap.rows:
        department = row.department
        site = department.hospital.name if department.hospital_id else ""
        loads = [c.load for c in row.cells]
        ws.append([safe_cell_value(department.name), safe_cell_value(site), _("Residents"), *loads])
        for cell, heat in zip(ws[ws.max_row][3:], row.cells, strict=True):
            if heat.over:
                cell.fill = over_fill
        limits = [pgettext("department month", "closed") if c.closed else c.capacity for c in row.cells]
        ws.append(["", "", _("Maximum"), *[safe_cell_value(v) for v in limits]])
    ws.freeze_panes = "D4"
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 14
    ws.oddHeader.center.text = stamp.replace("&", "&&")


def _with_heatmap(request: HttpRequest, response: FileResponse, heatmap: Heatmap, title) -> FileResponse:
    source = response.file_to_stream
    source.seek(0)
    workbook = load_workbook(source)
    source.close()
    _add_heatmap_sheet(workbook, heatmap, stamp_text(request.user, title))
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # closed by the response when it is sent
    workbook.save(spool)
    spool.seek(0)
    combined = FileResponse(spool, content_type=response["Content-Type"])
    for header in ("Content-Disposition", "Cache-Control"):
        combined[header] = response[header]
    return combined


def export_grid(
    request: HttpRequest,
    grid: Grid,
    heatmap: Heatmap,
    *,
    filters: dict,
    cancel_url: str | None = None,
) -> HttpResponse:
    """The confirm page, or the .xlsx of `grid` (all its rows) and `heatmap`. Check permissions first."""
    months = grid.months
    title = _("Rotation schedule %(first)s to %(last)s") % {
        "first": f"{months[0]:%Y-%m}" if months else "",
        "last": f"{months[-1]:%Y-%m}" if months else "",
    }
    export = Export(
        domain=DOMAIN,
        title=title,
        rows=grid.rows,
        columns=grid_columns(grid),
        filters=filters,
        count=len(grid.rows),
    )
    response = export_view(request, export, cancel_url=cancel_url)
    if isinstance(response, FileResponse):
        response = _with_heatmap(request, response, heatmap, title)
    return response
