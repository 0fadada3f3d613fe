"""Generating, reviewing, publishing and comparing schedule runs.

The office generates and publishes (ScheduleRunPolicy: drafts are theirs); base managers read
published and superseded versions covering their base, and see only their residents' rows.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView, TemplateView, View

from accounts.models import Hospital
from core.permissions import can, deny, get_visible_or_404, require, visible
from residents.models import ResidentProfile

from . import explain
from .choices import RunScope, RunStatus
from .forms_runs import GenerateForm, RunGridFilter
from .grid import grid_from_run, heatmap_from_run
from .models import ScheduleRun
from .permissions import grid_residents_q, may_schedule, may_view_grid, office_hospitals
from .services import runs

STATUS_CLASSES = {
    RunStatus.QUEUED: "text-bg-secondary",
    RunStatus.RUNNING: "text-bg-info",
    RunStatus.DRAFT: "text-bg-warning",
    RunStatus.INFEASIBLE: "text-bg-danger",
    RunStatus.FAILED: "text-bg-danger",
    RunStatus.PUBLISHED: "text-bg-success",
    RunStatus.SUPERSEDED: "text-bg-light border",
    RunStatus.DISCARDED: "text-bg-light border",
}
WARNINGS_SHOWN = 100


def _runs_queryset():
    return ScheduleRun.objects.select_related("hospital", "base", "created_by", "published_by", "previous")


def _run(request, uuid) -> ScheduleRun:
    run = get_visible_or_404(request.user, _runs_queryset(), uuid=uuid)
    run.status_class = STATUS_CLASSES.get(run.status, "text-bg-secondary")
    return run


def _visible_residents(user, run: ScheduleRun):
    """The run's residents whose rows this user may see (the office: all; base managers: their base)."""
    q = grid_residents_q(user)
    if q is None:
        return ResidentProfile.objects.none()
    return ResidentProfile.objects.filter(q).filter(pk__in=run.entries.values("resident_id"))


class RunListView(LoginRequiredMixin, ListView):
    template_name = "rotation/runs/run_list.html"
    context_object_name = "runs"
    paginate_by = 20

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_view_grid(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return visible(self.request.user, _runs_queryset()).order_by("-created_at", "-pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for run in context["runs"]:
            run.status_class = STATUS_CLASSES.get(run.status, "text-bg-secondary")
        context["can_generate"] = may_schedule(self.request.user)
        return context


class RunCreateView(LoginRequiredMixin, FormView):
    template_name = "rotation/runs/run_form.html"
    form_class = GenerateForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_schedule(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "hospitals": office_hospitals(self.request.user)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        hospitals = office_hospitals(self.request.user)
        context["active"] = ScheduleRun.objects.filter(hospital__in=hospitals, status__in=runs.ACTIVE).first()
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        base = data.get("base")
        hospital = (
            base.hospital
            if base
            else Hospital.objects.filter(pk__in=office_hospitals(self.request.user)).order_by("pk").first()
        )
        try:
            run = runs.start_run(
                hospital=hospital,
                scope=data["scope"],
                base=base if data["scope"] != RunScope.HOSPITAL else None,
                cohort=data.get("cohort"),
                time_limit=data["time_limit"],
                acting_user=self.request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("The schedule is being generated; this page shows its progress."))
        return redirect("rotation:run_detail", uuid=run.uuid)


def _figures(run: ScheduleRun) -> dict:
    stats = run.stats or {}
    rate = stats.get("first_choice_rate")
    return {
        **stats,
        "first_choice_percent": round(rate * 100) if rate is not None else None,
        "capacity_ok": stats.get("overflow", 0) == 0,
    }


class RunDetailView(LoginRequiredMixin, TemplateView):
    template_name = "rotation/runs/run_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        run = _run(self.request, kwargs["uuid"])
        active = run.status in runs.ACTIVE
        warnings = run.warnings or []
        has_entries = run.status in (
            RunStatus.DRAFT,
            RunStatus.PUBLISHED,
            RunStatus.SUPERSEDED,
            RunStatus.DISCARDED,
        )
        context.update(
            run=run,
            active=active,
            figures=_figures(run),
            warning_texts=[explain.warning_text(w) for w in warnings[:WARNINGS_SHOWN]],
            warnings_hidden=max(0, len(warnings) - WARNINGS_SHOWN),
            explanation=[explain.reason_text(r) for r in run.explanation or []],
            heatmap=heatmap_from_run(run) if has_entries else None,
            has_entries=has_entries,
            can_publish=run.status == RunStatus.DRAFT and can(user, "publish", run),
            can_discard=run.status in runs.REVIEWABLE and can(user, "discard", run),
            can_generate=may_schedule(user),
        )
        return context


class RunProgressView(LoginRequiredMixin, TemplateView):
    """The progress bar, polled by htmx every second; once the run is done the page reloads."""

    template_name = "rotation/runs/_progress.html"

    def get(self, request, *args, **kwargs):
        run = _run(request, kwargs["uuid"])
        if run.status not in runs.ACTIVE and request.headers.get("HX-Request"):
            response = HttpResponse("")
            response["HX-Refresh"] = "true"
            return response
        return self.render_to_response({"run": run, "active": run.status in runs.ACTIVE})


class RunGridView(LoginRequiredMixin, TemplateView):
    template_name = "rotation/runs/run_grid.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = _run(self.request, kwargs["uuid"])
        residents = _visible_residents(self.request.user, run)
        filterset = RunGridFilter(self.request.GET or None, queryset=residents, run=run)
        rows = (filterset.qs if filterset.is_valid() else residents.none()) if filterset.is_bound else residents
        compare_with = run.previous if run.previous_id and run.previous_id != run.pk else None
        grid = grid_from_run(run, rows, page=self.request.GET.get("page"), compare_with=compare_with)
        context.update(
            run=run,
            filter=filterset,
            grid=grid,
            page_obj=grid.page,
            is_paginated=grid.page is not None and grid.page.paginator.num_pages > 1,
            compare_with=compare_with,
            change_run=run if run.status == RunStatus.DRAFT and can(self.request.user, "edit", run) else None,
        )
        return context


class _RunActionView(LoginRequiredMixin, View):
    action = ""
    http_method_names = ["post"]

    def post(self, request, uuid):
        run = _run(request, uuid)
        require(request.user, self.action, run)
        try:
            self.perform(run)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect("rotation:run_detail", uuid=run.uuid)

    def perform(self, run: ScheduleRun) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class RunPublishView(_RunActionView):
    action = "publish"

    def perform(self, run: ScheduleRun) -> None:
        if not self.request.POST.get("confirm"):
            raise ValidationError(_("Tick the box to confirm that this version should be published."))
        run = runs.publish_run(run, acting_user=self.request.user)
        messages.success(
            self.request,
            _("Version %(version)s is published; the residents' rotations and their departments were updated.")
            % {"version": run.version},
        )


class RunDiscardView(_RunActionView):
    action = "discard"

    def perform(self, run: ScheduleRun) -> None:
        runs.discard_run(run, acting_user=self.request.user)
        messages.success(self.request, _("The run was discarded."))


class RunCompareView(LoginRequiredMixin, TemplateView):
    template_name = "rotation/runs/run_compare.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        run = _run(self.request, kwargs["uuid"])
        choices = list(visible(user, runs.comparable_runs(run)))
        other = None
        wanted = self.request.GET.get("with")
        if wanted:
            other = next((c for c in choices if str(c.uuid) == wanted), None)
            if other is None:
                messages.error(self.request, _("That version cannot be compared; showing the previous one."))
        if other is None and run.previous_id and run.previous in choices:
            other = run.previous
        comparison = runs.compare(run, other)
        q = grid_residents_q(user)
        allowed = set(ResidentProfile.objects.filter(q).values_list("pk", flat=True)) if q is not None else set()
        if not may_schedule(user) or run.hospital_id not in office_hospitals(user):
            comparison.residents = [c for c in comparison.residents if c.resident.pk in allowed]
        context.update(run=run, other=other, choices=choices, comparison=comparison)
        return context
