"""Excel exports of personal data: confirm with the password, stamp with the exporter, audit.

Every list that leaves the system as a spreadsheet goes through here, so the rules live in
one place:

* **Re-authentication** (ASVS 3.7.1): GET shows what will be exported (title, row count,
  filters, columns, which columns stay masked); only a POST with the exporter's current
  password produces the file. A wrong password shows the page again with an error, is
  audited as a failed export, and after ``EXPORT_REAUTH_LIMIT`` failures in one session the
  session ends (a stolen session must not become a password oracle).
* **Watermark**: the first row of the sheet names the exporter and the time (Asia/Shanghai),
  the second the filters and the row count; the workbook's properties (creator, title) and the
  printed page header carry the same stamp.
* **Masking**: a column built with a ``masker`` is sensitive; the exporter's ``unmask(user,
  column)`` callable decides per column whether this user gets it in clear.
* **No formulas**: strings that a spreadsheet would evaluate (``= + - @``, tab, CR) are written
  as text with a leading apostrophe (OWASP CSV/formula injection).
* **Bounded memory**: the queryset is read with ``.iterator(chunk_size=...)`` and openpyxl's
  write-only mode spools rows to disk, so 5,000 rows never sit in memory as objects.
* **Audit**: ``audit_record(action="<domain>.export", outcome="success", rows=..., filters=...,
  columns=..., masked=...)`` once the file is written (``outcome="failure"`` for a wrong password).

Usage (a function view)::

    from core.exports import Column, Export, export_view

    def batch_export(request, uuid):
        batch = get_visible_or_404(request.user, EnrollmentBatch, uuid=uuid)
        require(request.user, "export", batch)
        return export_view(request, Export(
            domain="enrollment",
            title=_("Admitted residents of %(batch)s") % {"batch": batch},
            rows=batch.residents.select_related("user", "base"),
            columns=[
                Column(_("Name"), lambda r: r.user.real_name, key="name"),
                Column(_("ID number"), lambda r: r.user.id_number, key="id_number", masker=mask_id_number),
            ],
            filters={_("Batch"): str(batch)},
            unmask=lambda user, column: user.scope.has_role(*REVEAL_ROLES),
            target=batch,
        ), cancel_url=reverse("residents:batch_detail", args=[batch.uuid]))

For residents it is ready-made: ``residents.exports.export_residents(request, queryset, title=...,
filters=...)`` brings the resident columns and their masking rules. Or a class-based view: subclass
``ExportView`` and implement ``get_export()`` (and optionally ``get_cancel_url()``); permission
checks go in ``dispatch`` / ``get_export``, before anything is exported.
"""

import datetime
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from .audit import audit_record

#: The time on the stamp is the hospital's, whatever the server's zone.
STAMP_TZ = ZoneInfo("Asia/Shanghai")
#: Leading characters that make a spreadsheet evaluate a string (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Wrong passwords on the confirm page per session before the session is ended.
EXPORT_REAUTH_LIMIT = getattr(settings, "EXPORT_REAUTH_LIMIT", 5)
_FAILURES_KEY = "export_reauth_failures"
#: Excel's own limit on a cell.
_MAX_CELL = 32767

CONFIRM_TEMPLATE = "core/export_confirm.html"


@dataclass(frozen=True)
class Column:
    """One column: a header and how to get the value from a row.

    ``key`` names the column in the audit record and in ``unmask`` decisions (defaults to the
    header). A column with a ``masker`` is sensitive: its value goes through the masker unless
    the export's ``unmask(user, column)`` says this user may have it in clear.
    """

    header: Any
    getter: Callable[[Any], Any]
    key: str = ""
    masker: Callable[[str], str] | None = None
    width: int = 14

    @property
    def name(self) -> str:
        return self.key or str(self.header)

    @property
    def sensitive(self) -> bool:
        return self.masker is not None


def never_unmask(user, column: Column) -> bool:
    return False


@dataclass
class Export:
    """What to export: rows, columns, a title and the filters that produced the rows.

    ``domain`` makes the audit action ``<domain>.export``. ``filters`` maps a human label to
    the value used (shown on the confirm page, written on the sheet and audited). ``target``
    is an optional audit target (a batch). ``rows`` may be a queryset (read in chunks) or any
    iterable (then ``count`` should be given for the confirm page).
    """

    domain: str
    title: Any
    rows: QuerySet | Iterable[Any]
    columns: Sequence[Column]
    filters: Mapping[Any, Any] = field(default_factory=dict)
    unmask: Callable[[Any, Column], bool] = never_unmask
    target: Any = None
    filename: str | None = None
    count: int | None = None
    chunk_size: int = 500

    @property
    def action(self) -> str:
        return f"{self.domain}.export"

    def row_count(self) -> int:
        if self.count is None:
            if not isinstance(self.rows, QuerySet):
                self.rows = list(self.rows)  # a generator must survive being counted
            self.count = self.rows.count() if isinstance(self.rows, QuerySet) else len(self.rows)
        return self.count

    def masked_columns(self, user) -> list[Column]:
        return [c for c in self.columns if c.sensitive and not self.unmask(user, c)]

    def filters_text(self) -> dict[str, str]:
        return {str(k): _display(v) for k, v in self.filters.items() if v not in (None, "", [], ())}

    def iter_rows(self) -> Iterable[Any]:
        if isinstance(self.rows, QuerySet):
            return self.rows.iterator(chunk_size=self.chunk_size)
        return iter(self.rows)


class ExportConfirmForm(forms.Form):
    """The exporter types their password again before personal data leaves the system."""

    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "form-control"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                gettext_lazy("The password is not correct; nothing was exported."), code="wrong_password"
            )
        return password


def _display(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return "、".join(_display(v) for v in value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def safe_cell_value(value: Any) -> Any:
    """A value openpyxl will store as data, never as a formula.

    Numbers, dates and booleans pass; None becomes empty; everything else becomes a string, with
    an apostrophe in front when a spreadsheet would evaluate it.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | float | datetime.date):
        if isinstance(value, datetime.datetime) and timezone.is_aware(value):
            return timezone.localtime(value, STAMP_TZ).replace(tzinfo=None)
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text[:_MAX_CELL]


def _text_cell(ws, value: Any, font: Font | None = None, fill: PatternFill | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=safe_cell_value(value))
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never "f", whatever the text looks like
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def stamp_text(user, title: Any, at: datetime.datetime | None = None) -> str:
    """导出人 孙培训(office) · 导出时间 2025-09-01 10:00 · title."""
    at = timezone.localtime(at or timezone.now(), STAMP_TZ)
    return _("Exported by %(name)s (%(username)s) · exported at %(time)s · %(title)s") % {
        "name": getattr(user, "real_name", "") or user.get_username(),
        "username": user.get_username(),
        "time": at.strftime("%Y-%m-%d %H:%M:%S"),
        "title": title,
    }


def write_workbook(export: Export, user, fileobj, *, at: datetime.datetime | None = None) -> int:
    """Write the .xlsx into `fileobj`; return the number of data rows written."""
    at = at or timezone.now()
    stamp = stamp_text(user, export.title, at)
    wb = Workbook(write_only=True)
    wb.properties.creator = f"{getattr(user, 'real_name', '') or user.get_username()}({user.get_username()})"
    wb.properties.lastModifiedBy = wb.properties.creator
    wb.properties.title = str(export.title)[:200]
    wb.properties.description = stamp
    wb.properties.created = timezone.localtime(at, STAMP_TZ).replace(tzinfo=None)
    ws = wb.create_sheet(title=_sheet_title(export.title))
    for index, column in enumerate(export.columns, start=1):
        ws.column_dimensions[_column_letter(index)].width = column.width
    ws.freeze_panes = "A4"
    ws.oddHeader.center.text = stamp.replace("&", "&&")
    ws.oddFooter.center.text = "&P / &N"

    masked = export.masked_columns(user)
    masked_keys = {c.name for c in masked}
    filters = export.filters_text()
    bold = Font(bold=True)
    grey = Font(color="666666", size=9)
    ws.append([_text_cell(ws, stamp, Font(bold=True, color="C00000"))])
    filter_line = "; ".join(f"{k}: {v}" for k, v in filters.items()) or _("no filters")
    summary = _("Filters: %(filters)s · rows: %(rows)s · masked columns: %(masked)s") % {
        "filters": filter_line,
        "rows": export.row_count(),
        "masked": "、".join(str(c.header) for c in masked) or _("none"),
    }
    ws.append([_text_cell(ws, summary, grey)])
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    ws.append([_text_cell(ws, c.header, bold, header_fill) for c in export.columns])

    # Plain values, not styled cells: safe_cell_value already made every string inert (no leading "=").
    plan = [(c.getter, c.masker if c.name in masked_keys else None) for c in export.columns]
    written = 0
    for obj in export.iter_rows():
        values = []
        for getter, masker in plan:
            value = getter(obj)
            if masker is not None:
                value = masker(str(value)) if value not in (None, "") else ""
            values.append(safe_cell_value(value))
        ws.append(values)
        written += 1
    wb.save(fileobj)
    return written


def _sheet_title(title: Any) -> str:
    text = str(title)
    for ch in "[]:*?/\\":
        text = text.replace(ch, " ")
    return text[:31] or "Sheet1"


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _audit_extra(export: Export, user) -> dict[str, Any]:
    return {
        "filters": export.filters_text(),
        "columns": [c.name for c in export.columns],
        "masked": bool(export.masked_columns(user)),
    }


def export_view(
    request: HttpRequest,
    export: Export,
    *,
    cancel_url: str | None = None,
    template_name: str = CONFIRM_TEMPLATE,
    extra_context: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """GET: the confirm page. POST with the right password: the .xlsx. Permission checks come first, in the caller."""
    user = request.user
    if request.method == "POST":
        form = ExportConfirmForm(request.POST, user=user)
        if form.is_valid():
            request.session.pop(_FAILURES_KEY, None)
            return _file_response(request, export)
        failures = int(request.session.get(_FAILURES_KEY, 0)) + 1
        request.session[_FAILURES_KEY] = failures
        audit_record(
            action=export.action,
            outcome="failure",
            acting_user=user,
            target=export.target,
            reason="wrong_password",
            failures=failures,
            **_audit_extra(export, user),
        )
        if failures >= EXPORT_REAUTH_LIMIT:
            audit_record(action="auth.reauth_locked", outcome="denied", acting_user=user, context=export.action)
            logout(request)
            messages.error(request, _("Too many wrong passwords. You were signed out; sign in again to continue."))
            return redirect(settings.LOGIN_URL)
    else:
        form = ExportConfirmForm(user=user)
    context = {
        "export": export,
        "title": export.title,
        "row_count": export.row_count(),
        "filters": export.filters_text(),
        "columns": export.columns,
        "masked_columns": export.masked_columns(user),
        "form": form,
        "cancel_url": cancel_url,
        **(extra_context or {}),
    }
    return render(request, template_name, context)


def _file_response(request: HttpRequest, export: Export) -> FileResponse:
    user = request.user
    at = timezone.now()
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # closed by the response when it is sent
    rows = write_workbook(export, user, spool, at=at)
    spool.seek(0)
    audit_record(
        action=export.action,
        outcome="success",
        acting_user=user,
        target=export.target,
        rows=rows,
        **_audit_extra(export, user),
    )
    filename = export.filename or f"{export.title}-{timezone.localtime(at, STAMP_TZ):%Y%m%d-%H%M}.xlsx"
    response = FileResponse(
        spool,
        as_attachment=True,
        filename=_safe_filename(filename),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response


def _safe_filename(name: str) -> str:
    for ch in '\\/:*?"<>|\r\n\t':
        name = name.replace(ch, "_")
    return name[:150]


class ExportView(LoginRequiredMixin, View):
    """Class-based front to `export_view`: implement `get_export()`; check permissions in it or in dispatch."""

    template_name = CONFIRM_TEMPLATE

    def get_export(self) -> Export:
        raise NotImplementedError

    def get_cancel_url(self) -> str | None:
        return None

    def get_extra_context(self) -> dict[str, Any]:
        return {}

    def get(self, request, *args, **kwargs):
        return export_view(
            request,
            self.get_export(),
            cancel_url=self.get_cancel_url(),
            template_name=self.template_name,
            extra_context=self.get_extra_context(),
        )

    post = get
