"""Changing one resident's months: in a draft run (the office, applied at once) or in the published
schedule (the office and the base's managers, applied once the base director approves).

The page shows the resident's months in a row; as the user edits, the form posts to the check
endpoint (htmx) which answers with the before/after row and every rule the change would break.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from accounts.models import Department
from core.audit import audit_record
from core.permissions import get_visible_or_404, require
from residents.choices import TrainingStatus
from residents.models import ResidentProfile

from .choices import RunStatus
from .forms_changes import FREE_CHOICE, OPERATION_FIELDS, Operation, ScheduleChangeForm, month_value
from .models import ScheduleChange, ScheduleEntry, ScheduleRun
from .permissions import grid_residents_q
from .scheduling.problem import LEAVE, month_index
from .services import changes, schedule_moves
from .services.schedule_moves import Move

IN_TRAINING = (TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED)


@dataclass
class Cell:
    month: str
    before: str
    after: str
    changed: bool
    started: bool
    leave: bool


def _label(value, names: dict[int, str]) -> str:
    if value is None:
        return "—"
    if value == LEAVE:
        return _("Leave")
    return names.get(value, "?")


def _row(months: schedule_moves.Months, moves: list[Move], resident: int, names: dict[int, str]) -> list[Cell]:
    after = {m.month: m.after for m in moves if m.resident == resident}
    this_month = month_index(timezone.localdate())
    return [
        Cell(
            month=month_value(month),
            before=_label(value, names),
            after=_label(after.get(month, value), names),
            changed=month in after,
            started=month_index(month) <= this_month,
            leave=value == LEAVE,
        )
        for month, value in sorted(months.items())
    ]


class _ChangeView(LoginRequiredMixin, View):
    """Shared by the draft and the published pages: the resident, their months, the form and the check."""

    template_name = "rotation/changes/change_form.html"
    check_template = "rotation/changes/_check.html"
    #: None for the published schedule
    run: ScheduleRun | None = None

    def resolve(self, request, **kwargs) -> None:
        raise NotImplementedError

    def departments(self) -> list[tuple[int, str]]:
        rows = Department.objects.filter(Q(hospital_id=self.hospital_id) | Q(hospital__parent_id=self.hospital_id))
        return list(rows.filter(is_active=True).order_by("hospital__kind", "code").values_list("pk", "name"))

    def others(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def other_months(self, uuid: str) -> tuple[int, schedule_moves.Months]:
        other = self.other_queryset().filter(uuid=uuid).first()
        if other is None:
            raise ValidationError(_("Choose another resident to swap with."))
        return other.pk, schedule_moves.current_months(self.run, [other.pk]).get(other.pk, {})

    def other_queryset(self):
        raise NotImplementedError

    @property
    def hospital_id(self) -> int:
        return self.run.hospital_id if self.run else self.profile.base.hospital_id

    @property
    def op(self) -> str:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        op = source.get("op", "")
        return op if op in Operation.values else Operation.ASSIGN

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.resolve(request, **kwargs)
        self.months = schedule_moves.current_months(self.run, [self.profile.pk]).get(self.profile.pk, {})
        self.department_choices = self.departments()
        self.names = dict(self.department_choices)
        extra = {v for v in self.months.values() if v not in (None, LEAVE) and v not in self.names}
        self.names.update(Department.objects.filter(pk__in=extra).values_list("pk", "name"))
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None) -> ScheduleChangeForm:
        return ScheduleChangeForm(
            data,
            op=self.op,
            months=self.months,
            departments=self.department_choices,
            others=self.others(),
            names=self.names,
            needs_reason=self.run is None,
        )

    def evaluate(self, form: ScheduleChangeForm) -> tuple[list[Move], list[str]]:
        """The moves the form means and the sentences against them (a form error stops before the check)."""
        if not form.is_valid():
            return [], []
        try:
            moves = form.build_moves(resident=self.profile.pk, months=self.months, other_months=self.other_months)
        except ValidationError as exc:
            form.add_error(None, exc)
            return [], []
        return moves, schedule_moves.check_moves(self.run, moves)

    def context(self, form, moves: list[Move], errors: list[str], checked: bool) -> dict:
        rows = []
        if moves:
            residents = {m.resident for m in moves}
            state = schedule_moves.current_months(self.run, residents)
            names = dict(ResidentProfile.objects.filter(pk__in=residents).values_list("pk", "user__real_name"))
            missing = {m.after for m in moves if m.after not in (None, LEAVE) and m.after not in self.names}
            self.names.update(Department.objects.filter(pk__in=missing).values_list("pk", "name"))
            for resident in sorted(residents, key=lambda pk: pk != self.profile.pk):
                cells = _row(state[resident], moves, resident, self.names)
                rows.append({"name": names.get(resident, ""), "cells": cells})
        return {
            "profile": self.profile,
            "run": self.run,
            "is_draft": self.run is not None,
            "form": form,
            "op": self.op,
            "operations": [(value, label) for value, label in Operation.choices],
            "operation_fields": OPERATION_FIELDS,
            "row": _row(self.months, [], self.profile.pk, self.names),
            "preview": rows,
            "errors": errors,
            "checked": checked,
            "moves": moves,
            "check_url": self.check_url(),
            "page_url": self.page_url(),
            "pending": changes.pending_changes([self.profile.pk]) if self.run is None else [],
            "free_choice": FREE_CHOICE,
        }

    def page_url(self) -> str:
        raise NotImplementedError

    def check_url(self) -> str:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        return TemplateResponse(request, self.template_name, self.context(self.form(), [], [], False))

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        moves, errors = self.evaluate(form)
        if form.is_valid() and moves and not errors:
            try:
                return self.submit(form, moves)
            except ValidationError as exc:
                errors = exc.messages
        return TemplateResponse(request, self.template_name, self.context(form, moves, errors, True), status=400)

    def submit(self, form, moves: list[Move]):
        raise NotImplementedError


class CheckMixin:
    """The htmx endpoint: the same form, answered with the before/after row and the violations only."""

    def form(self, data=None):
        form = super().form(data)
        if "reason" in form.fields:  # asked for on submit, not while trying out months
            form.fields["reason"].required = False
        return form

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        moves, errors = self.evaluate(form)
        return TemplateResponse(request, self.check_template, self.context(form, moves, errors, True))


class DraftChangeView(_ChangeView):
    """The office edits a draft run: the entries change at once."""

    def resolve(self, request, *, run, resident) -> None:
        self.run = get_visible_or_404(request.user, ScheduleRun.objects.select_related("hospital"), uuid=run)
        require(request.user, "edit", self.run)
        if self.run.status != RunStatus.DRAFT:
            raise Http404(_("Only a draft can be edited; change the published schedule instead."))
        in_run = ScheduleEntry.objects.filter(run=self.run).values("resident_id")
        self.profile = get_object_or_404(
            ResidentProfile.objects.select_related("user", "base__hospital"), uuid=resident, pk__in=in_run
        )

    def other_queryset(self):
        in_run = ScheduleEntry.objects.filter(run=self.run).values("resident_id")
        return ResidentProfile.objects.filter(pk__in=in_run).exclude(pk=self.profile.pk)

    def others(self) -> list[tuple[str, str]]:
        rows = self.other_queryset().select_related("user", "base").order_by("base__code", "cohort", "user__real_name")
        return [(str(p.uuid), f"{p.user.display_name} · {p.base} · {p.cohort}") for p in rows]

    def page_url(self) -> str:
        return reverse("rotation:change_draft", args=[self.run.uuid, self.profile.uuid])

    def check_url(self) -> str:
        return reverse("rotation:change_draft_check", args=[self.run.uuid, self.profile.uuid])

    def submit(self, form, moves):
        count = changes.apply_to_draft(self.run, moves, self.request.user)
        messages.success(self.request, _("The draft was changed (%(count)s months).") % {"count": count})
        return redirect(self.page_url())


class DraftCheckView(CheckMixin, DraftChangeView):
    pass


class PublishedChangeView(_ChangeView):
    """The office or a base manager asks to change the published schedule; the base director approves."""

    def resolve(self, request, *, resident) -> None:
        self.run = None
        self.profile = get_visible_or_404(
            request.user, ResidentProfile.objects.select_related("user", "base__hospital"), uuid=resident
        )
        if not changes.may_change_resident(request.user, self.profile):
            audit_record(
                action="access.denied",
                outcome="denied",
                acting_user=request.user,
                target=self.profile,
                attempted="rotation.schedule_change",
            )
            raise PermissionDenied

    def other_queryset(self):
        return (
            ResidentProfile.objects.filter(grid_residents_q(self.request.user) or Q(pk__in=[]))
            .filter(base__hospital_id=self.profile.base.hospital_id, status__in=IN_TRAINING)
            .exclude(pk=self.profile.pk)
        )

    def others(self) -> list[tuple[str, str]]:
        rows = self.other_queryset().select_related("user", "base").order_by("base__code", "cohort", "user__real_name")
        return [(str(p.uuid), f"{p.user.display_name} · {p.base} · {p.cohort}") for p in rows]

    def page_url(self) -> str:
        return reverse("rotation:change_published", args=[self.profile.uuid])

    def check_url(self) -> str:
        return reverse("rotation:change_published_check", args=[self.profile.uuid])

    def submit(self, form, moves):
        change = changes.request_change(moves, form.cleaned_data["reason"], self.request.user)
        messages.success(
            self.request, _("The change was sent for approval. The schedule changes once the base director approves.")
        )
        approval = changes.approval_request_for(change)
        return redirect("approvals:detail", uuid=approval.uuid)


class PublishedCheckView(CheckMixin, PublishedChangeView):
    pass


class ChangeApprovalView(LoginRequiredMixin, View):
    """From a schedule change (a notice, a list) to its approval request."""

    def get(self, request, uuid):
        change = get_visible_or_404(request.user, ScheduleChange, uuid=uuid)
        approval = changes.approval_request_for(change)
        if approval is None:
            raise Http404(_("This change has no approval request."))
        return redirect("approvals:detail", uuid=approval.uuid)
