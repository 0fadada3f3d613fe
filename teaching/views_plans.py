"""Teaching plan pages: types and rules (office), the secretary's months, one plan with its activities,
compliance and submission, changes after approval, the calendar (month / week / agenda) and the iCal feed.

Plans follow TeachingPlanPolicy and activities ActivityPolicy: outside scope 404, a visible object
with a forbidden action 403. The head and the office decide in the approvals inbox (the workflow's
detail template shows the plan).
"""

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from accounts.choices import Role
from accounts.models import Department, SpecialtyBase
from core.audit import audit_record
from core.permissions import can, deny, get_visible_or_404, require, visible
from rotation.months import add_months, month_start, parse_month

from . import workflows  # noqa: F401  (registers the workflow wherever the pages are served)
from .choices import ActivityStatus, PlanStatus
from .forms_plans import ActivityForm, CalendarFilter, CancelForm, ChangeForm
from .models import Activity, ActivityType, TeachingPlan
from .permissions import BASE_MANAGERS, DEPARTMENT_STAFF, PLANNERS
from .services import plans, records, types

#: Months the secretary's page offers per department: last month to two months ahead.
INDEX_MONTHS = (-1, 0, 1, 2)


def may_view_plans(user) -> bool:
    """From the roles alone (menu, page access): who has plan pages at all."""
    return bool(getattr(user, "is_authenticated", False)) and user.scope.has_role(
        *DEPARTMENT_STAFF, *BASE_MANAGERS, Role.TRAINING_OFFICE
    )


def may_edit_types(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (user.scope.is_office or user.scope.is_system_admin)


def _say(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


def _warn(request, warnings: list[str]) -> None:
    for warning in warnings:
        messages.warning(request, warning)


class _SignedIn(LoginRequiredMixin):
    allowed = staticmethod(may_view_plans)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not self.allowed(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)


# ---------------------------------------------------------------- types and rules


class TypesView(_SignedIn, View):
    allowed = staticmethod(may_edit_types)

    def get(self, request):
        hospitals = request.user.scope.hospitals(Role.TRAINING_OFFICE, Role.SYSTEM_ADMIN)
        rows = (
            ActivityType.objects.filter(hospital_id__in=hospitals)
            .prefetch_related("rules__base", "rules__department")
            .select_related("hospital")
            .order_by("hospital", "position", "code")
        )
        return render(request, "teaching/plans/types.html", {"types": rows})


# ---------------------------------------------------------------- plans


class PlansIndexView(_SignedIn, View):
    """The secretary's departments and months; everybody else the plans they may read."""

    def get(self, request):
        this_month = month_start(timezone.localdate())
        months = [add_months(this_month, i) for i in INDEX_MONTHS]
        departments = Department.objects.filter(pk__in=request.user.scope.departments(*PLANNERS)).order_by("name")
        existing = {
            (plan.department_id, plan.month): plan
            for plan in TeachingPlan.objects.filter(department__in=departments, month__in=months)
        }
        rows = [{"department": d, "months": [(m, existing.get((d.pk, m))) for m in months]} for d in departments]
        status = request.GET.get("status", "")
        plan_list = visible(request.user, TeachingPlan).select_related("department__hospital")
        if status in PlanStatus.values:
            plan_list = plan_list.filter(status=status)
        context = {
            "rows": rows,
            "plans": plan_list.order_by("-month", "department__name")[:100],
            "statuses": PlanStatus.choices,
            "status": status,
        }
        return render(request, "teaching/plans/index.html", context)


class PlanOpenView(_SignedIn, View):
    """POST month=YYYY-MM: the secretary opens (or goes to) the department's plan of that month."""

    def post(self, request, uuid):
        department = Department.objects.filter(uuid=uuid, pk__in=request.user.scope.departments(*PLANNERS)).first()
        if department is None:
            audit_record(
                action="access.not_found",
                outcome="denied",
                acting_user=request.user,
                target=None,
                model="accounts.department",
                lookup=f"uuid={uuid}",
            )
            raise Http404
        month = parse_month(request.POST.get("month"))
        if month is None:
            messages.error(request, _("Choose a month."))
            return redirect("teaching:plans_index")
        try:
            plan = plans.plan_open(department=department, month=month, acting_user=request.user)
        except ValidationError as exc:
            _say(request, exc)
            return redirect("teaching:plans_index")
        return redirect("teaching:plans_detail", plan.uuid)


class _PlanMixin(_SignedIn):
    def plan(self, request, uuid, action: str = "view") -> TeachingPlan:
        plan = get_visible_or_404(
            request.user, TeachingPlan.objects.select_related("department__hospital", "department__base"), uuid=uuid
        )
        if action != "view":
            require(request.user, action, plan)
        return plan


class PlanDetailView(_PlanMixin, View):
    def get(self, request, uuid):
        plan = self.plan(request, uuid)
        activities = list(
            plan.activities.select_related("activity_type", "teacher", "audience_base").order_by("starts_at", "pk")
        )
        warnings = [w for a in activities if a.status != ActivityStatus.CANCELLED for w in plans.warnings_for(a)]
        context = {
            "plan": plan,
            "activities": activities,
            "compliance": plans.compliance(plan.department, plan.month, activities),
            "warnings": warnings,
            "can_edit": can(request.user, "edit", plan),
            "can_submit": can(request.user, "submit", plan),
            "may_change": plan.status == PlanStatus.APPROVED and plans.may_plan(request.user, plan.department),
            "approval": plans.approval_request_for(plan),
            "return_comment": plans.last_return_comment(plan),
            "previous_exists": TeachingPlan.objects.filter(
                department=plan.department, month=add_months(plan.month, -1)
            ).exists(),
        }
        return render(request, "teaching/plans/plan.html", context)


class PlanCopyView(_PlanMixin, View):
    def post(self, request, uuid):
        plan = self.plan(request, uuid, "edit")
        try:
            result = plans.plan_copy_previous(plan=plan, acting_user=request.user)
        except ValidationError as exc:
            _say(request, exc)
        else:
            messages.success(request, _("%(count)s activities copied from last month.") % {"count": result["copied"]})
            if result["skipped"]:
                messages.warning(
                    request,
                    _("Not copied (past the month's end, teacher busy or no longer in the department): %(titles)s")
                    % {"titles": "、".join(result["skipped"])},
                )
        return redirect("teaching:plans_detail", plan.uuid)


class PlanSubmitView(_PlanMixin, View):
    def post(self, request, uuid):
        plan = self.plan(request, uuid, "submit")
        try:
            plans.plan_submit(plan=plan, acting_user=request.user)
        except ValidationError as exc:
            _say(request, exc)
        else:
            messages.success(request, _("Plan submitted to the teaching director and the training office."))
        return redirect("teaching:plans_detail", plan.uuid)


def _activity_form_kwargs(department: Department) -> dict:
    return {
        "types": types.active_types(department.hospital),
        "teachers": plans.department_teachers(department),
        "bases": SpecialtyBase.objects.filter(hospital_id=department.hospital.parent_id or department.hospital_id),
    }


def _errors_to_form(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            if field in ("starts_at",):
                target = "date"
            elif field == "ends_at":
                target = "end"
            for error in errors:
                form.add_error(target, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


class ActivityCreateView(_PlanMixin, View):
    def render_page(self, request, plan, form, status=200):
        return render(request, "teaching/plans/activity_form.html", {"plan": plan, "form": form}, status=status)

    def get(self, request, uuid):
        plan = self.plan(request, uuid, "edit")
        initial = {"date": request.GET.get("date") or plan.month, "start": "14:00", "end": "15:00"}
        return self.render_page(request, plan, ActivityForm(initial=initial, **_activity_form_kwargs(plan.department)))

    def post(self, request, uuid):
        plan = self.plan(request, uuid, "edit")
        form = ActivityForm(request.POST, **_activity_form_kwargs(plan.department))
        if form.is_valid():
            try:
                activity, warnings = plans.activity_add(plan=plan, values=form.values(), acting_user=request.user)
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, _("Activity added: %(title)s") % {"title": activity.title})
                _warn(request, warnings)
                if request.POST.get("then") == "another":
                    return redirect("teaching:plans_activity_new", plan.uuid)
                return redirect("teaching:plans_detail", plan.uuid)
        return self.render_page(request, plan, form, status=400)


class _ActivityMixin(_SignedIn):
    allowed = staticmethod(lambda user: bool(user.is_authenticated))

    def activity(self, request, uuid) -> Activity:
        return get_visible_or_404(
            request.user,
            Activity.objects.select_related(
                "plan", "department__hospital", "department__base", "activity_type", "teacher", "audience_base"
            ),
            uuid=uuid,
        )


class ActivityDetailView(_ActivityMixin, View):
    def get(self, request, uuid):
        activity = self.activity(request, uuid)
        plan_editable = activity.plan_id and activity.plan.status in plans.EDITABLE
        context = {
            "activity": activity,
            "warnings": plans.warnings_for(activity),
            "can_edit": can(request.user, "edit", activity)
            and (
                activity.status == ActivityStatus.APPROVED
                or (plan_editable and can(request.user, "edit", activity.plan))
            ),
            "can_cancel": can(request.user, "edit", activity) and activity.status == ActivityStatus.APPROVED,
            "cancel_form": CancelForm(),
            "can_show_code": can(request.user, "show_code", activity),
            "can_see_attendance": can(request.user, "attendance", activity),
            "can_see_record": records.may_see_record(request.user, activity),
            "can_rate": records.may_rate(request.user, activity),
        }
        return render(request, "teaching/plans/activity.html", context)


class ActivityEditView(_ActivityMixin, View):
    """Before approval the whole activity (the plan must be editable); after, time, teacher and place."""

    def _form(self, activity, data=None):
        if activity.status == ActivityStatus.APPROVED:
            return ChangeForm(
                data,
                initial={**ChangeForm.initial_for(activity), "teacher": activity.teacher_id, "place": activity.place},
                teachers=plans.department_teachers(activity.department),
            )
        return ActivityForm(
            data, initial=ActivityForm.initial_for(activity), **_activity_form_kwargs(activity.department)
        )

    def _activity(self, request, uuid) -> Activity:
        activity = self.activity(request, uuid)
        if activity.status == ActivityStatus.APPROVED:
            require(request.user, "edit", activity)
        elif activity.plan_id:
            require(request.user, "edit", activity.plan)
        else:
            require(request.user, "no_such_action", activity)
        return activity

    def render_page(self, request, activity, form, status=200):
        context = {
            "activity": activity,
            "plan": activity.plan,
            "form": form,
            "after_approval": activity.status == ActivityStatus.APPROVED,
        }
        return render(request, "teaching/plans/activity_form.html", context, status=status)

    def get(self, request, uuid):
        activity = self._activity(request, uuid)
        return self.render_page(request, activity, self._form(activity))

    def post(self, request, uuid):
        activity = self._activity(request, uuid)
        form = self._form(activity, request.POST)
        if form.is_valid():
            try:
                if activity.status == ActivityStatus.APPROVED:
                    activity, warnings = plans.activity_change(
                        activity=activity, values=form.values(), acting_user=request.user
                    )
                    done = _("Activity changed; the residents and the teachers have been notified.")
                else:
                    activity, warnings = plans.activity_update(
                        activity=activity, values=form.values(), acting_user=request.user
                    )
                    done = _("Activity saved.")
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, done)
                _warn(request, warnings)
                if activity.status == ActivityStatus.APPROVED:
                    return redirect("teaching:activity_detail", activity.uuid)
                return redirect("teaching:plans_detail", activity.plan.uuid)
        return self.render_page(request, activity, form, status=400)


class ActivityDeleteView(_ActivityMixin, View):
    def post(self, request, uuid):
        activity = self.activity(request, uuid)
        if not activity.plan_id:
            raise Http404
        require(request.user, "edit", activity.plan)
        try:
            plans.activity_delete(activity=activity, acting_user=request.user)
        except ValidationError as exc:
            _say(request, exc)
        else:
            messages.success(request, _("Activity removed from the plan."))
        return redirect("teaching:plans_detail", activity.plan.uuid)


class ActivityCancelView(_ActivityMixin, View):
    def post(self, request, uuid):
        activity = self.activity(request, uuid)
        require(request.user, "edit", activity)
        form = CancelForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give the reason for the cancellation: the residents read it."))
            return redirect("teaching:activity_detail", activity.uuid)
        try:
            plans.activity_cancel(activity=activity, reason=form.cleaned_data["reason"], acting_user=request.user)
        except ValidationError as exc:
            _say(request, exc)
        else:
            messages.success(request, _("Activity cancelled; the residents and the teacher have been notified."))
        return redirect("teaching:activity_detail", activity.uuid)


# ---------------------------------------------------------------- calendar


def _week_start(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


class CalendarView(LoginRequiredMixin, View):
    """Approved activities the user may see: a month grid (the agenda on phones), a week, or a list."""

    def get(self, request):
        today = timezone.localdate()
        view = request.GET.get("view", "month")
        if view not in ("month", "week", "list"):
            view = "month"
        base = plans.calendar_activities(request.user)
        filterset = CalendarFilter(request.GET or None, queryset=base)
        activities = filterset.qs if filterset.is_bound and filterset.is_valid() else base
        tz = timezone.get_current_timezone()
        context = {"filter": filterset, "view": view, "today": today}
        if view == "week":
            try:
                first = _week_start(datetime.date.fromisoformat(request.GET.get("week", "")))
            except ValueError:
                first = _week_start(today)
            last = first + datetime.timedelta(days=7)
            start = datetime.datetime.combine(first, datetime.time.min, tzinfo=tz)
            end = datetime.datetime.combine(last, datetime.time.min, tzinfo=tz)
            rows = list(activities.filter(starts_at__gte=start, starts_at__lt=end))
            days = [first + datetime.timedelta(days=i) for i in range(7)]
            context.update(
                days=[(d, [a for a in rows if timezone.localtime(a.starts_at).date() == d]) for d in days],
                first=first,
                previous=first - datetime.timedelta(days=7),
                next=last,
            )
        else:
            month = parse_month(request.GET.get("month")) or month_start(today)
            start, end = plans.month_bounds(month)
            rows = list(activities.filter(starts_at__gte=start, starts_at__lt=end))
            by_day: dict[datetime.date, list] = {}
            for activity in rows:
                by_day.setdefault(timezone.localtime(activity.starts_at).date(), []).append(activity)
            grid_start = _week_start(month)
            weeks = []
            day = grid_start
            while day < add_months(month, 1) or day.weekday() != 0:
                if day.weekday() == 0:
                    weeks.append([])
                weeks[-1].append((day, day.month == month.month, by_day.get(day, [])))
                day += datetime.timedelta(days=1)
            context.update(
                month=month,
                weeks=weeks,
                agenda=sorted(by_day.items()),
                previous=add_months(month, -1),
                next=add_months(month, 1),
            )
        query = request.GET.copy()
        for key in ("view", "month", "week"):
            query.pop(key, None)
        context["filter_query"] = query.urlencode()
        return render(request, "teaching/plans/calendar.html", context)


class CalendarSubscribeView(LoginRequiredMixin, View):
    """The user's teaching feed address (the same secret as the rotation feed: one token, two feeds)."""

    def get(self, request):
        from rotation.ical import feed_token_get_or_create

        token = feed_token_get_or_create(user=request.user)
        url = request.build_absolute_uri(reverse("teaching:calendar_ics")) + f"?token={token.token}"
        return render(request, "teaching/plans/subscribe.html", {"feed_url": url})


def calendar_feed(request):
    """The teaching iCal feed: no session, the rotation feed's token in the address is the key."""
    from rotation.ical import feed_user

    if request.method not in ("GET", "HEAD"):
        raise Http404
    user = feed_user(request.GET.get("token", ""))
    if user is None:
        raise Http404
    response = HttpResponse(plans.feed_for(user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="teaching.ics"'
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    return response
