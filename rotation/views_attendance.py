"""Monthly attendance (月度考勤) pages: the clerk's months, one month's report, statistics and export.

Who sees what follows AttendanceReportPolicy: the department's clerk, teaching secretary and head,
the base managers and the office. Opening a month is the clerk's (another department: 404; a
secretary or head of the same department: 403). The head and the office decide in the approvals
inbox (the workflow's detail template shows the report).
"""

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django_filters.views import FilterView

from accounts.choices import Role
from accounts.models import Department
from core.permissions import can, deny, get_visible_or_404, require, visible

from . import workflows_attendance  # noqa: F401  (registers the workflow wherever the pages are served)
from .exports_attendance import export_statistics
from .forms_attendance import AttendanceFilter, AttendanceLineFormSet, ReopenForm, ReportFilter
from .models import AttendanceLine, AttendanceReport
from .months import add_months, month_start, parse_month
from .permissions import DEPARTMENT_MANAGERS
from .selectors import department_or_404
from .services import attendance
from .services.attendance import may_use_attendance

#: Months the clerk's page lists per department (this one and the ones before).
INDEX_MONTHS = 6


def department_roles(user) -> set[int]:
    """Departments whose months a user follows on the attendance page (clerk, secretary, head)."""
    return user.scope.departments(Role.ATTENDANCE_CLERK, *DEPARTMENT_MANAGERS)


def _report_url(report: AttendanceReport) -> str:
    return reverse("rotation:attendance_report", args=[report.uuid])


def _reports(user) -> QuerySet[AttendanceReport]:
    return visible(user, AttendanceReport).select_related("department__hospital", "department__base", "opened_by")


class _SignedIn(LoginRequiredMixin):
    """Sign-in first (anonymous users go to the login page), then the attendance roles."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not may_use_attendance(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)


class AttendanceIndexView(_SignedIn, View):
    """The clerk's (secretary's, head's) departments and their recent months with each report's status.

    Base managers and the office follow many departments: they get the report list instead.
    """

    def get(self, request):
        department_ids = department_roles(request.user)
        if not department_ids:
            return redirect("rotation:attendance_reports")
        departments = list(Department.objects.filter(pk__in=department_ids).select_related("hospital"))
        this_month = month_start(timezone.localdate())
        months = [add_months(this_month, -i) for i in range(INDEX_MONTHS)]
        reports = attendance.month_statuses(departments, months)
        clerk_of = request.user.scope.departments(Role.ATTENDANCE_CLERK)
        rows = []
        for department in departments:
            rows.append(
                {
                    "department": department,
                    "may_open": department.pk in clerk_of,
                    "months": [(month, reports.get((department.pk, month))) for month in months],
                }
            )
        return render(
            request,
            "rotation/attendance/index.html",
            {"rows": rows, "this_month": this_month, "sees_reports": True},
        )


class AttendanceOpenView(_SignedIn, View):
    """POST month=YYYY-MM: the clerk opens (or goes to) the department's report of that month."""

    def post(self, request, uuid):
        department = department_or_404(request.user, uuid)
        if not attendance.may_open(request.user, department):
            deny(request)
        month = parse_month(request.POST.get("month"))
        if month is None:
            messages.error(request, _("Choose a month."))
            return redirect("rotation:attendance")
        try:
            report = attendance.attendance_report_open(department=department, month=month, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("rotation:attendance")
        return redirect(_report_url(report))


class _ReportMixin(_SignedIn):
    def report(self, request, uuid, action: str = "view") -> AttendanceReport:
        report = get_visible_or_404(request.user, _reports(request.user), uuid=uuid)
        if action != "view":
            require(request.user, action, report)
        return report


class AttendanceReportView(_ReportMixin, View):
    """One department's month: editable while open or returned (clerk), read-only otherwise."""

    def lines(self, report: AttendanceReport) -> QuerySet[AttendanceLine]:
        return report.lines.select_related("resident__user", "resident__base", "block").order_by(
            "resident__user__real_name", "resident_id"
        )

    def render_page(self, request, report: AttendanceReport, formset=None, status: int = 200):
        can_edit = can(request.user, "edit", report)
        if can_edit and formset is None:
            formset = AttendanceLineFormSet(queryset=self.lines(report), month=report.month)
        approval = attendance.approval_request_for(report)
        context = {
            "report": report,
            "department": report.department,
            "lines": list(self.lines(report)),
            "formset": formset if can_edit else None,
            "can_edit": can_edit,
            "can_submit": can(request.user, "submit", report),
            "can_reopen": can(request.user, "reopen", report),
            "reopen_form": ReopenForm(),
            "approval": approval,
            "return_comment": attendance.last_return_comment(report),
            "totals": attendance.totals(report),
            "days_in_month": attendance.days_in_month(report.month),
            "previous_month": add_months(report.month, -1),
            "next_month": add_months(report.month, 1),
        }
        return render(request, "rotation/attendance/report.html", context, status=status)

    def get(self, request, uuid):
        return self.render_page(request, self.report(request, uuid))

    def post(self, request, uuid):
        report = self.report(request, uuid, "edit")
        formset = AttendanceLineFormSet(request.POST, queryset=self.lines(report), month=report.month)
        if not formset.is_valid():
            messages.error(request, _("Some figures are not right; nothing was saved. See the marked rows."))
            return self.render_page(request, report, formset, status=400)
        values = {form.instance.pk: form.cleaned_data for form in formset.forms}
        try:
            changed = attendance.attendance_lines_update(report=report, values=values, acting_user=request.user)
        except attendance.LineErrors as exc:
            for form in formset.forms:
                for field, errors in exc.lines.get(form.instance.pk, {}).items():
                    for error in errors:
                        form.add_error(field, error)
            messages.error(request, _("Some figures are not right; nothing was saved. See the marked rows."))
            return self.render_page(request, report, formset, status=400)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(_report_url(report))
        if request.POST.get("then") == "submit":
            return AttendanceSubmitView().post(request, uuid)
        messages.success(request, _("Saved (%(count)s rows changed).") % {"count": changed})
        return redirect(_report_url(report))


class AttendanceRefreshView(_ReportMixin, View):
    """POST: recompute the pre-fill (schedule and approved leave) while the month is open."""

    def post(self, request, uuid):
        report = self.report(request, uuid, "edit")
        counts = attendance.attendance_report_refresh(report=report, acting_user=request.user)
        messages.success(
            request,
            _(
                "Recomputed from the schedule and approved leave: %(added)s added, %(updated)s updated, "
                "%(removed)s removed."
            )
            % counts,
        )
        return redirect(_report_url(report))


class AttendanceSubmitView(_ReportMixin, View):
    """POST: send the month to the department head and the training office."""

    def post(self, request, uuid):
        report = self.report(request, uuid, "submit")
        try:
            attendance.attendance_report_submit(report=report, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, _("The report cannot be submitted yet:") + " " + " ".join(exc.messages))
        else:
            messages.success(request, _("Submitted: the department head reviews it next."))
        return redirect(_report_url(report))


class AttendanceReopenView(_ReportMixin, View):
    """POST reason: the office unlocks an approved month for a correction."""

    def post(self, request, uuid):
        report = self.report(request, uuid, "reopen")
        form = ReopenForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect(_report_url(report))
        try:
            attendance.attendance_report_reopen(
                report=report, reason=form.cleaned_data["reason"], acting_user=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The month is open again; the clerk has been told."))
        return redirect(_report_url(report))


class AttendanceReportListView(_SignedIn, FilterView):
    """Every monthly report the user may see, filtered by department, base, months and status."""

    filterset_class = ReportFilter
    template_name = "rotation/attendance/report_list.html"
    context_object_name = "reports"
    paginate_by = 50
    strict = False

    def get_queryset(self):
        return _reports(self.request.user).order_by("-month", "department__hospital__kind", "department__code")

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "request": self.request}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["has_departments"] = bool(department_roles(self.request.user))
        return context


class _StatisticsMixin(_SignedIn):
    def statistics(self, request) -> tuple[AttendanceFilter, str, list[dict]]:
        lines = AttendanceLine.objects.filter(report__in=visible(request.user, AttendanceReport))
        filterset = AttendanceFilter(request.GET or None, queryset=lines, request=request)
        if filterset.is_bound and not filterset.is_valid():
            rows_qs = lines.none()
        else:
            rows_qs = filterset.qs
        by = request.GET.get("by") if request.GET.get("by") in attendance.GROUPINGS else "resident"
        return filterset, by, attendance.statistics(rows_qs, by)

    def filters_text(self, filterset: AttendanceFilter, by: str) -> dict:
        labels = {"resident": _("per resident"), "department": _("per department"), "month": _("per month")}
        shown = {_("Grouped"): labels[by]}
        if filterset.is_bound and filterset.is_valid():
            for name, value in filterset.form.cleaned_data.items():
                if value in (None, ""):
                    continue
                label = filterset.filters[name].label
                if isinstance(value, datetime.date):
                    value = f"{value:%Y-%m}"
                elif name == "status":
                    value = dict(filterset.filters["status"].extra["choices"]).get(value, value)
                shown[label] = value
        return shown


class AttendanceStatisticsView(_StatisticsMixin, View):
    """Per resident, department or month: months reported, scheduled, leave, duty and absence days."""

    def get(self, request):
        filterset, by, rows = self.statistics(request)
        totals = {key: sum((r[key] for r in rows), 0) for key in ("scheduled", "leave", "duty", "absence")}
        query = request.GET.copy()
        query.pop("by", None)
        return render(
            request,
            "rotation/attendance/statistics.html",
            {"filter": filterset, "by": by, "rows": rows, "totals": totals, "query": query.urlencode()},
        )


class AttendanceExportView(_StatisticsMixin, View):
    """The statistics as shown, to Excel (password re-auth, watermark, audited)."""

    def get(self, request):
        filterset, by, rows = self.statistics(request)
        cancel = reverse("rotation:attendance_statistics") + ("?" + request.GET.urlencode() if request.GET else "")
        return export_statistics(request, rows, by=by, filters=self.filters_text(filterset, by), cancel_url=cancel)

    post = get
