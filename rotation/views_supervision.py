"""指导医师分配 pages: a department's month of blocks with suggested supervisors, and the doctors' load.

Whoever manages the department (rotation.permissions.managed_departments: its teaching secretary and
head, its base's managers, the office) assigns; for everyone else the department does not exist (404).
"""

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from accounts.models import Department
from core.audit import audit_record

from .forms_supervision import AssignSupervisorForm
from .models import RotationBlock
from .months import add_months, month_start, parse_month
from .permissions import managed_departments
from .services import supervision


def _month(value: str | None) -> datetime.date:
    return parse_month(value) or month_start(timezone.localdate())


def _department_or_404(user, uuid) -> Department:
    return get_object_or_404(managed_departments(user).select_related("hospital", "base"), uuid=uuid)


def _block_or_404(user, uuid) -> RotationBlock:
    queryset = RotationBlock.objects.filter(department__in=managed_departments(user)).select_related(
        "resident__user", "department__hospital", "supervisor"
    )
    return get_object_or_404(queryset, uuid=uuid)


def _page_url(department: Department, month: datetime.date) -> str:
    return reverse("rotation:supervision_department", args=[department.uuid]) + f"?month={month:%Y-%m}"


def _back(request, block: RotationBlock) -> str:
    """The month page the form was posted from (else the block's first month)."""
    month = parse_month(request.POST.get("month")) or month_start(block.start_date)
    return _page_url(block.department, month)


def _month_nav(month: datetime.date) -> dict:
    return {
        "month": month,
        "previous_month": add_months(month, -1),
        "next_month": add_months(month, 1),
        "this_month": month_start(timezone.localdate()),
    }


class SupervisionIndexView(LoginRequiredMixin, View):
    """The departments a user assigns supervisors for; straight to the page when there is one."""

    def get(self, request):
        departments = list(
            managed_departments(request.user).select_related("hospital").order_by("hospital__kind", "code")
        )
        if not departments:
            audit_record(
                action="access.denied", outcome="denied", acting_user=request.user, view="rotation:supervision"
            )
            raise PermissionDenied
        month = _month(request.GET.get("month"))
        if len(departments) == 1:
            return redirect(_page_url(departments[0], month))
        rows = [(d, _page_url(d, month)) for d in departments]
        return render(request, "rotation/supervision/index.html", {"rows": rows, "month": month})


class SupervisionDepartmentView(LoginRequiredMixin, View):
    """The blocks present in a month, each with its supervisor (or none), the top suggestion and a select."""

    def get(self, request, uuid):
        department = _department_or_404(request.user, uuid)
        month = _month(request.GET.get("month"))
        blocks = list(supervision.blocks_present(department, month))
        suggestions = supervision.suggestions_for(department, blocks)
        rows = []
        for block in blocks:
            candidates = suggestions[block.pk]
            top = candidates[0] if candidates and candidates[0].available else None
            rows.append(
                {
                    "block": block,
                    "top": top,
                    "form": AssignSupervisorForm(
                        candidates=candidates,
                        may_override=supervision.may_override(request.user, block),
                        initial={"supervisor": (block.supervisor_id or (top.user.pk if top else ""))},
                        prefix=f"b{block.pk}",
                    ),
                    "starts_in_month": month_start(block.start_date) == month,
                }
            )
        others = managed_departments(request.user).order_by("hospital__kind", "code")
        context = {
            "department": department,
            "rows": rows,
            "without_supervisor": sum(1 for r in rows if r["block"].supervisor_id is None),
            "auto_candidates": sum(1 for r in rows if r["block"].supervisor_id is None and r["starts_in_month"]),
            "has_supervisors": supervision.supervisors_of(department).exists(),
            "departments": [(d, _page_url(d, month)) for d in others],
            **_month_nav(month),
        }
        return render(request, "rotation/supervision/department.html", context)


class SupervisionAssignView(LoginRequiredMixin, View):
    """POST one block's supervisor; a full doctor is refused with the reason (the office may override)."""

    def post(self, request, uuid):
        block = _block_or_404(request.user, uuid)
        back = _page_url(
            block.department,
            _month(request.POST.get("month")) if request.POST.get("month") else month_start(block.start_date),
        )
        may_override = supervision.may_override(request.user, block)
        form = AssignSupervisorForm(
            request.POST, candidates=supervision.suggest(block), may_override=may_override, prefix=f"b{block.pk}"
        )
        if not form.is_valid():
            messages.error(request, _("Choose one of the department's supervising doctors."))
            return redirect(back)
        candidate = form.cleaned_data["supervisor"]
        try:
            supervision.assign(
                block,
                candidate.user,
                request.user,
                override_reason=form.cleaned_data.get("override_reason", ""),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("%(doctor)s now supervises %(resident)s.")
                % {"doctor": candidate.user.display_name, "resident": block.resident.user.display_name},
            )
        return redirect(back)


class SupervisionUnassignView(LoginRequiredMixin, View):
    def post(self, request, uuid):
        block = _block_or_404(request.user, uuid)
        supervision.unassign(block, request.user)
        messages.success(request, _("The block has no supervising doctor now."))
        month = request.POST.get("month")
        return redirect(_page_url(block.department, _month(month) if month else month_start(block.start_date)))


class SupervisionAutoAssignView(LoginRequiredMixin, View):
    """POST: give every block starting in the month without a supervisor its top suggestion."""

    def post(self, request, uuid):
        department = _department_or_404(request.user, uuid)
        month = parse_month(request.POST.get("month"))
        if month is None:
            messages.error(request, _("Choose a month."))
            return redirect(_page_url(department, month_start(timezone.localdate())))
        result = supervision.auto_assign_report(department, month, request.user)
        if result.assigned:
            messages.success(
                request,
                ngettext(
                    "%(count)s block got a supervising doctor.", "%(count)s blocks got a supervising doctor.",
                    len(result.assigned),
                ) % {"count": len(result.assigned)},
            )  # fmt: skip
        if result.unserved:
            names = ", ".join(b.resident.user.display_name for b in result.unserved)
            messages.warning(
                request,
                ngettext(
                    "No supervising doctor has room for %(count)s block: %(names)s. Add supervisors or raise a limit.",
                    "No supervising doctor has room for %(count)s blocks: %(names)s. Add supervisors or raise a limit.",
                    len(result.unserved),
                ) % {"count": len(result.unserved), "names": names},
            )  # fmt: skip
        if not result.assigned and not result.unserved:
            messages.info(request, _("Every block starting this month already has a supervising doctor."))
        return redirect(_page_url(department, month))


class SupervisionLoadView(LoginRequiredMixin, View):
    """Each supervising doctor of the department: residents now (or on ?day=) against their limit."""

    def get(self, request, uuid):
        department = _department_or_404(request.user, uuid)
        try:
            day = datetime.date.fromisoformat(request.GET.get("day", ""))
        except ValueError:
            day = timezone.localdate()
        rows = supervision.load_table(department, day)
        return render(
            request,
            "rotation/supervision/load.html",
            {"department": department, "rows": rows, "day": day, "month": month_start(day)},
        )
