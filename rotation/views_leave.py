"""Leave pages: the resident's leave (phone-first), a request, 销假, the managers' list, the rules, the ledger.

Everything goes through LeaveRequestPolicy (outside scope 404, forbidden actions 403); decisions
happen on the approval engine's pages, linked from the request.
"""

from datetime import date

import django_filters
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django_filters.views import FilterView

from accounts.choices import Role
from accounts.models import Department, SpecialtyBase
from approvals.models import ApprovalRequest
from core.exports import Column, Export, export_view
from core.filters import StyledFilterSet
from core.permissions import can, deny, get_visible_or_404, require, visible
from core.uploads import serve_file
from residents.models import ResidentProfile

from .choices import LeaveKind, LeaveStatus, MakeupKind
from .forms_leave import LeaveRequestForm, LeaveSettingsForm, MakeupForm, ReportBackForm
from .models import LeaveAttachment, LeaveRequest, MakeupEntry
from .months import month_end, parse_month
from .permissions import BASE_MANAGERS, DEPARTMENT_MANAGERS, office_hospitals
from .services import leave as services

LIST_ROLES = (*DEPARTMENT_MANAGERS, Role.ATTENDANCE_CLERK, *BASE_MANAGERS, Role.TRAINING_OFFICE)


def _profile_or_deny(request) -> ResidentProfile:
    profile = ResidentProfile.objects.select_related("base__hospital", "user").filter(user=request.user).first()
    if profile is None:
        deny(request)
    return profile


def _summary(profile: ResidentProfile) -> dict:
    rules = services.settings_for_resident(profile)
    return {
        "cumulative": services.cumulative_leave_days(profile),
        "extension": services.extension_due(profile, rules),
        "balance": services.makeup_balance(profile),
        "rules": rules,
    }


# ---------------------------------------------------------------- the resident


class MyLeaveView(LoginRequiredMixin, View):
    def get(self, request):
        profile = _profile_or_deny(request)
        leaves = list(
            LeaveRequest.objects.filter(resident=profile).select_related("block__department").order_by("-start_date")
        )
        today = timezone.localdate()
        return render(
            request,
            "rotation/leave/mine.html",
            {
                "profile": profile,
                "leaves": leaves,
                "today": today,
                "to_report": [
                    lv
                    for lv in leaves
                    if lv.status == LeaveStatus.APPROVED and lv.returned_on is None and lv.end_date < today
                ],
                **_summary(profile),
            },
        )


class LeaveCreateView(LoginRequiredMixin, View):
    template_name = "rotation/leave/form.html"

    def get(self, request):
        _profile_or_deny(request)
        return render(request, self.template_name, {"form": LeaveRequestForm()})

    def post(self, request):
        profile = _profile_or_deny(request)
        form = LeaveRequestForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                leave = services.leave_request_submit(
                    resident=profile,
                    kind=data["kind"],
                    start_date=data["start_date"],
                    start_afternoon=data["start_afternoon"],
                    end_date=data["end_date"],
                    end_morning=data["end_morning"],
                    reason=data["reason"],
                    files=data["attachments"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(
                    request,
                    _("Your leave request (%(days)s days) was sent for approval.")
                    % {"days": services.format_days(leave.days)},
                )
                return redirect("rotation:leave_detail", uuid=leave.uuid)
        return render(request, self.template_name, {"form": form}, status=400)


def _leave(request, uuid) -> LeaveRequest:
    queryset = LeaveRequest.objects.select_related(
        "resident__user", "resident__base__hospital", "block__department", "block__supervisor"
    )
    return get_visible_or_404(request.user, queryset, uuid=uuid)


class LeaveDetailView(LoginRequiredMixin, View):
    def get(self, request, uuid):
        leave = _leave(request, uuid)
        approval = services.approval_request_for(leave)
        approval_visible = (
            approval is not None and visible(request.user, ApprovalRequest).filter(pk=approval.pk).exists()
        )
        today = timezone.localdate()
        return render(
            request,
            "rotation/leave/detail.html",
            {
                "leave": leave,
                "attachments": list(leave.attachments.all()),
                "approval": approval,
                "approval_visible": approval_visible,
                "actions": list(approval.actions.select_related("actor", "step")) if approval else [],
                "effective_days": services.effective_days(leave),
                "can_withdraw": can(request.user, "withdraw", leave) and services.may_withdraw(request.user, leave),
                "can_report_back": can(request.user, "report_back", leave) and leave.start_date < today,
                "owed": MakeupEntry.objects.filter(leave=leave, kind=MakeupKind.OWED).first(),
            },
        )


class LeaveWithdrawView(LoginRequiredMixin, View):
    def post(self, request, uuid):
        leave = _leave(request, uuid)
        require(request.user, "withdraw", leave)
        try:
            services.leave_request_withdraw(leave=leave, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The leave request was withdrawn."))
        return redirect("rotation:leave_detail", uuid=leave.uuid)


class LeaveReportBackView(LoginRequiredMixin, View):
    template_name = "rotation/leave/report_back.html"

    def get(self, request, uuid):
        leave = _leave(request, uuid)
        require(request.user, "report_back", leave)
        form = ReportBackForm(initial={"returned_on": min(leave.end_date, timezone.localdate())})
        return render(request, self.template_name, {"leave": leave, "form": form})

    def post(self, request, uuid):
        leave = _leave(request, uuid)
        require(request.user, "report_back", leave)
        form = ReportBackForm(request.POST)
        if form.is_valid():
            try:
                leave = services.leave_request_report_back(
                    leave=leave, returned_on=form.cleaned_data["returned_on"], acting_user=request.user
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("returned_on", message)
            else:
                messages.success(
                    request,
                    _("Your return was recorded: the leave counts %(days)s days.")
                    % {"days": services.format_days(leave.days)},
                )
                return redirect("rotation:leave_detail", uuid=leave.uuid)
        return render(request, self.template_name, {"leave": leave, "form": form}, status=400)


class LeaveAttachmentView(LoginRequiredMixin, View):
    """A sick note opens only for those who may see the request."""

    def get(self, request, uuid, pk):
        leave = _leave(request, uuid)
        attachment = get_object_or_404(LeaveAttachment, request=leave, pk=pk)
        try:
            return serve_file(attachment.file, filename=attachment.original_name, content_type=attachment.content_type)
        except FileNotFoundError:
            raise Http404(_("The file is missing from storage.")) from None


# ---------------------------------------------------------------- managers: the list


def _departments(request):
    if request is None:
        return Department.objects.none()
    ids = visible(request.user, LeaveRequest).values("block__department_id")
    return Department.objects.filter(pk__in=ids).order_by("code")


class LeaveFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(label=gettext_lazy("Status"), choices=LeaveStatus.choices)
    kind = django_filters.ChoiceFilter(label=gettext_lazy("Type"), choices=LeaveKind.choices)
    department = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Department"), queryset=_departments, field_name="block__department"
    )
    month = django_filters.CharFilter(label=gettext_lazy("Month (YYYY-MM)"), method="in_month")
    q = django_filters.CharFilter(label=gettext_lazy("Resident name"), method="search")

    class Meta:
        model = LeaveRequest
        fields = ["status", "kind", "department", "month", "q"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["month"].field.widget.input_type = "month"

    def in_month(self, queryset, name, value):
        month = parse_month(value)
        if month is None:
            return queryset
        return queryset.filter(start_date__lte=month_end(month), end_date__gte=month)

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(resident__user__real_name__icontains=value) if value else queryset


class LeaveListView(LoginRequiredMixin, FilterView):
    filterset_class = LeaveFilter
    template_name = "rotation/leave/list.html"
    paginate_by = 30

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.scope.has_role(*LIST_ROLES):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return visible(self.request.user, LeaveRequest).select_related(
            "resident__user", "resident__base", "block__department"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["may_ledger"] = _ledger_scope(self.request.user) is not None
        context["may_settings"] = bool(office_hospitals(self.request.user))
        return context


# ---------------------------------------------------------------- the office: rules


class LeaveSettingsView(LoginRequiredMixin, View):
    template_name = "rotation/leave/settings.html"

    def _rules(self, request):
        from accounts.models import Hospital

        hospitals = sorted(office_hospitals(request.user))
        if not hospitals:
            deny(request)
        return services.settings_for_hospital(Hospital.objects.get(pk=hospitals[0]))

    def get(self, request):
        rules = self._rules(request)
        return render(request, self.template_name, {"form": LeaveSettingsForm(instance=rules), "rules": rules})

    def post(self, request):
        rules = self._rules(request)
        form = LeaveSettingsForm(request.POST, instance=LeaveSettingsForm.Meta.model.objects.get(pk=rules.pk))
        if form.is_valid():
            try:
                services.leave_settings_update(rules=rules, values=form.cleaned_data, acting_user=request.user)
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("The leave rules were saved."))
                return redirect("rotation:leave_settings")
        return render(request, self.template_name, {"form": form, "rules": rules}, status=400)


# ---------------------------------------------------------------- the make-up ledger


def _ledger_scope(user) -> Q | None:
    """Residents whose ledger a user sees: the office's hospital, the base managers' base."""
    if not user.is_authenticated:
        return None
    hospitals = office_hospitals(user)
    bases = user.scope.bases(*BASE_MANAGERS)
    if not hospitals and not bases:
        return None
    return Q(base__hospital_id__in=hospitals) | Q(base__hospital__parent_id__in=hospitals) | Q(base_id__in=bases)


def _ledger_rows(request) -> tuple[list[dict], dict]:
    scope = _ledger_scope(request.user)
    if scope is None:
        deny(request)
    residents = ResidentProfile.objects.filter(scope).filter(makeup_entries__isnull=False).distinct()
    base = request.GET.get("base") or ""
    cohort = request.GET.get("cohort") or ""
    if base.isdigit():
        residents = residents.filter(base_id=int(base))
    if cohort.isdigit():
        residents = residents.filter(cohort=int(cohort))
    residents = list(residents.select_related("user", "base").order_by("base__code", "cohort", "user__real_name"))
    entries = MakeupEntry.objects.filter(resident__in=residents).values_list("resident_id", "kind", "days")
    totals: dict[int, dict] = {r.pk: {"owed": 0, "made_up": 0} for r in residents}
    for resident_id, kind, days in entries:
        totals[resident_id]["owed" if kind == MakeupKind.OWED else "made_up"] += days
    rows = [
        {"resident": r, **totals[r.pk], "balance": totals[r.pk]["owed"] - totals[r.pk]["made_up"]} for r in residents
    ]
    filters = {"base": base, "cohort": cohort}
    return rows, filters


def _ledger_bases(user):
    scope = _ledger_scope(user)
    return SpecialtyBase.objects.filter(pk__in=ResidentProfile.objects.filter(scope).values("base_id")).order_by("code")


class MakeupLedgerView(LoginRequiredMixin, View):
    def get(self, request):
        rows, filters = _ledger_rows(request)
        return render(
            request,
            "rotation/leave/ledger.html",
            {"rows": rows, "filters": filters, "bases": _ledger_bases(request.user), "query": request.GET.urlencode()},
        )


class MakeupLedgerExportView(LoginRequiredMixin, View):
    def _export(self, request) -> Export:
        rows, filters = _ledger_rows(request)
        return Export(
            domain="rotation.makeup",
            title=_("Make-up ledger"),
            rows=rows,
            count=len(rows),
            columns=[
                Column(gettext_lazy("Name"), lambda r: r["resident"].user.real_name, key="name", width=10),
                Column(gettext_lazy("Specialty base"), lambda r: r["resident"].base.name, key="base", width=12),
                Column(gettext_lazy("Cohort"), lambda r: r["resident"].cohort, key="cohort", width=7),
                Column(gettext_lazy("Days owed"), lambda r: float(r["owed"]), key="owed", width=10),
                Column(gettext_lazy("Days made up"), lambda r: float(r["made_up"]), key="made_up", width=10),
                Column(gettext_lazy("Balance"), lambda r: float(r["balance"]), key="balance", width=10),
            ],
            filters={_("Specialty base"): filters["base"] or "—", _("Cohort"): filters["cohort"] or "—"},
        )

    def get(self, request):
        return export_view(request, self._export(request), cancel_url=reverse("rotation:leave_ledger"))

    def post(self, request):
        return export_view(request, self._export(request), cancel_url=reverse("rotation:leave_ledger"))


class MakeupResidentView(LoginRequiredMixin, View):
    """One resident's ledger: what is owed (from which leave) and made up; the office records made-up days."""

    template_name = "rotation/leave/makeup.html"

    def _resident(self, request, uuid) -> ResidentProfile:
        scope = _ledger_scope(request.user)
        if scope is None:
            deny(request)
        return get_object_or_404(
            ResidentProfile.objects.filter(scope).select_related("user", "base__hospital"), uuid=uuid
        )

    def _render(self, request, resident, form, status=200):
        entries = (
            MakeupEntry.objects.filter(resident=resident).select_related("leave", "created_by").order_by("day", "pk")
        )
        may_record = resident.base.hospital_id in office_hospitals(request.user) or (
            resident.base.hospital.parent_id in office_hospitals(request.user)
        )
        return render(
            request,
            self.template_name,
            {
                "resident": resident,
                "entries": entries,
                "form": form if may_record else None,
                **_summary(resident),
            },
            status=status,
        )

    def get(self, request, uuid):
        resident = self._resident(request, uuid)
        return self._render(request, resident, MakeupForm(initial={"day": timezone.localdate()}))

    def post(self, request, uuid):
        resident = self._resident(request, uuid)
        hospitals = office_hospitals(request.user)
        if resident.base.hospital_id not in hospitals and resident.base.hospital.parent_id not in hospitals:
            deny(request)  # base managers read the ledger; the office records
        form = MakeupForm(request.POST)
        if form.is_valid():
            try:
                services.makeup_record(
                    resident=resident,
                    days=form.cleaned_data["days"],
                    day=form.cleaned_data["day"] or date.today(),
                    note=form.cleaned_data["note"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("days", message)
            else:
                messages.success(request, _("The make-up days were recorded."))
                return redirect("rotation:leave_makeup", uuid=resident.uuid)
        return self._render(request, resident, form, status=400)
