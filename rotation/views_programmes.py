"""Programmes (the office edits, base managers read), departments' rotation settings and month calendar,
the supervisors a department makes available, preference windows and the resident's elective ranking.

Outside a user's scope an object is a 404, a forbidden action on a visible one a 403 (rotation/permissions.py).
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView, View
from django_filters.views import FilterView

from accounts.models import Department, Hospital, SpecialtyBase
from core.audit import audit_record
from core.permissions import can, deny, get_visible_or_404, require, visible
from residents.models import ResidentProfile

from .choices import RequirementKind
from .filters import DepartmentSettingFilter
from .forms_programmes import (
    DepartmentMonthsForm,
    DepartmentSettingForm,
    PreferenceWindowForm,
    ProgrammeForm,
    RequirementFormSet,
    SupervisorAddForm,
    SupervisorRowForm,
)
from .models import DepartmentMonth, DepartmentSupervisor, PreferenceWindow, Programme
from .months import add_months, month_list, month_start
from .permissions import BASE_MANAGERS, managed_departments, office_hospitals
from .services import department_settings, elective_preferences
from .services import programmes as services


def _not_found(request, model: str, **lookup) -> None:
    audit_record(
        action="access.not_found",
        outcome="denied",
        acting_user=request.user,
        target=None,
        model=model,
        lookup=",".join(f"{k}={v}" for k, v in lookup.items()),
    )
    raise Http404


def _show_problems(request, problems: list[str]) -> None:
    for problem in problems:
        messages.warning(request, problem)


class _SignedIn(LoginRequiredMixin):
    """Sign-in first, then the view's own scope check (`check`), so anonymous users go to the login page."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.check(request, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def check(self, request, **kwargs) -> None:
        pass


# ---------------------------------------------------------------- programmes
class ProgrammeListView(_SignedIn, TemplateView):
    """Every base of the office's hospitals (or the manager's own base), its programme and its problems."""

    template_name = "rotation/programmes/programme_list.html"

    def check(self, request, **kwargs) -> None:
        self.hospitals = office_hospitals(request.user)
        self.bases = request.user.scope.bases(*BASE_MANAGERS)
        if not self.hospitals and not self.bases:
            deny(request)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bases = (
            SpecialtyBase.objects.filter(Q(hospital_id__in=self.hospitals) | Q(pk__in=self.bases))
            .select_related("hospital")
            .order_by("hospital__code", "code")
        )
        programmes = {
            p.base_id: p
            for p in visible(self.request.user, Programme)
            .select_related("base")
            .annotate(requirement_count=Count("requirements"))
        }
        problems = services.programme_problems(programmes.values())
        rows = [
            {
                "base": base,
                "programme": programmes.get(base.pk),
                "problems": problems.get(programmes[base.pk].pk, []) if base.pk in programmes else [],
                "can_create": base.hospital_id in self.hospitals,
            }
            for base in bases
        ]
        context.update(
            rows=rows,
            can_load=bool(self.hospitals),
            load_hospitals=Hospital.objects.filter(pk__in=self.hospitals).order_by("code"),
        )
        return context


class ProgrammeLoadView(_SignedIn, View):
    """The office loads the shipped default programmes for its hospital's bases that have none."""

    def check(self, request, **kwargs) -> None:
        self.hospitals = office_hospitals(request.user)
        if not self.hospitals:
            deny(request)

    def post(self, request):
        try:
            hospital_id = int(request.POST.get("hospital") or next(iter(sorted(self.hospitals))))
        except ValueError:
            hospital_id = 0
        if hospital_id not in self.hospitals:
            deny(request)
        hospital = Hospital.objects.get(pk=hospital_id)
        report = services.load_programmes(
            hospital, acting_user=request.user, replace=request.POST.get("replace") == "on"
        )
        for line in report.lines():
            messages.success(request, line)
        return redirect("rotation:programme_list")


class _ProgrammeMixin(_SignedIn):
    action = "view"

    def check(self, request, **kwargs) -> None:
        self.programme = get_visible_or_404(
            request.user, Programme.objects.select_related("base__hospital"), uuid=kwargs["uuid"]
        )
        if self.action != "view":
            require(request.user, self.action, self.programme)


class ProgrammeDetailView(_ProgrammeMixin, TemplateView):
    template_name = "rotation/programmes/programme_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        programme = self.programme
        requirements = list(
            programme.requirements.select_related("department__hospital").prefetch_related("options__hospital")
        )
        mandatory = [r for r in requirements if r.kind == RequirementKind.MANDATORY]
        groups = [r for r in requirements if r.kind == RequirementKind.ELECTIVE]
        at_sites = [r for r in mandatory if r.department and r.department.hospital.parent_id]
        context.update(
            programme=programme,
            mandatory=mandatory,
            groups=groups,
            mandatory_months=sum(r.months for r in mandatory),
            elective_months=sum(r.months * r.choose for r in groups),
            site_usage={
                "months": sum(r.months for r in at_sites),
                "departments": len({r.department_id for r in at_sites}),
                "sites": len({r.department.hospital_id for r in at_sites}),
            },
            problems=services.check_programme(programme),
            can_edit=can(self.request.user, "edit", programme),
        )
        return context


class ProgrammeEditView(_ProgrammeMixin, TemplateView):
    """Programme fields and an inline formset of its requirements; a broken sum rule is saved with a warning."""

    action = "edit"
    template_name = "rotation/programmes/programme_form.html"

    def forms(self, data=None):
        departments = services.hospital_departments(self.programme.base.hospital)
        form = ProgrammeForm(data, instance=self.programme, prefix="programme")
        formset = RequirementFormSet(data, instance=self.programme, prefix="req", departments=departments)
        return form, formset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "form" not in kwargs:
            context["form"], context["formset"] = self.forms()
        context.update(programme=self.programme, problems=services.check_programme(self.programme))
        return context

    def post(self, request, uuid):
        form, formset = self.forms(request.POST)
        if not (form.is_valid() and formset.is_valid()):
            messages.error(request, _("Nothing was saved: please correct the marked fields."))
            return self.render_to_response(self.get_context_data(form=form, formset=formset))
        requirements = []
        for sub in formset.forms:
            if sub.instance.pk is None and not sub.has_changed():
                continue
            data = sub.cleaned_data
            requirements.append(
                {
                    "id": sub.instance.pk,
                    "delete": bool(data.get("DELETE")),
                    **{name: data.get(name) for name in services.REQUIREMENT_FIELDS if name in data},
                    "options": list(data.get("options") or []),
                }
            )
        values = {name: form.cleaned_data[name] for name in services.PROGRAMME_FIELDS}
        self.programme.refresh_from_db()  # the forms wrote into it while validating
        try:
            problems = services.programme_update(
                programme=self.programme, values=values, requirements=requirements, acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            messages.error(request, _("Nothing was saved: please correct the marked fields."))
            return self.render_to_response(self.get_context_data(form=form, formset=formset))
        messages.success(request, _("The programme was saved."))
        _show_problems(request, problems)
        return redirect("rotation:programme_detail", uuid=self.programme.uuid)


class ProgrammeCreateView(_SignedIn, FormView):
    """An empty programme for a base that has none (the office); requirements are added on its edit page."""

    form_class = ProgrammeForm
    template_name = "rotation/programmes/programme_form.html"

    def check(self, request, **kwargs) -> None:
        hospitals = office_hospitals(request.user)
        bases = request.user.scope.bases(*BASE_MANAGERS)
        base = (
            SpecialtyBase.objects.filter(Q(hospital_id__in=hospitals) | Q(pk__in=bases), uuid=kwargs["uuid"])
            .select_related("hospital")
            .first()
        )
        if base is None:
            _not_found(request, "accounts.specialtybase", uuid=kwargs["uuid"])
        if base.hospital_id not in hospitals:
            deny(request)
        if Programme.objects.filter(base=base).exists():
            messages.info(request, _("This specialty base has a programme already."))
            self.existing = base.programme
        self.base = base

    def get(self, request, *args, **kwargs):
        if getattr(self, "existing", None):
            return redirect("rotation:programme_detail", uuid=self.existing.uuid)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if getattr(self, "existing", None):
            return redirect("rotation:programme_detail", uuid=self.existing.uuid)
        return super().post(request, *args, **kwargs)

    def get_initial(self):
        return {"name": self.base.name, "total_months": 33}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "base": self.base}

    def form_valid(self, form):
        values = {name: form.cleaned_data[name] for name in services.PROGRAMME_FIELDS}
        try:
            programme = services.programme_create(base=self.base, values=values, acting_user=self.request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("The programme was created: add its requirements now."))
        return redirect("rotation:programme_edit", uuid=programme.uuid)


# ---------------------------------------------------------------- departments
class _DepartmentMixin(_SignedIn):
    """The department must be one the user manages (office, its base's managers, its head or secretary)."""

    def check(self, request, **kwargs) -> None:
        department = (
            managed_departments(request.user)
            .select_related("hospital", "base", "rotation_setting")
            .filter(uuid=kwargs["uuid"])
            .first()
        )
        if department is None:
            _not_found(request, "accounts.department", uuid=kwargs["uuid"])
        self.department = department

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(department=self.department, setting=department_settings.setting_for(self.department))
        return context


class DepartmentListView(_SignedIn, FilterView):
    """Departments the user manages, with capacity, minimum and residents per supervising doctor."""

    filterset_class = DepartmentSettingFilter
    template_name = "rotation/programmes/department_list.html"
    context_object_name = "departments"
    paginate_by = 50
    strict = False

    def check(self, request, **kwargs) -> None:
        if not managed_departments(request.user).exists():
            deny(request)

    def get_queryset(self):
        return (
            managed_departments(self.request.user)
            .select_related("hospital", "base", "rotation_setting")
            .annotate(supervisor_count=Count("rotation_supervisors", filter=Q(rotation_supervisors__is_active=True)))
            .order_by("hospital__kind", "hospital__code", "base__code", "code")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        departments = context["departments"]
        first = month_start(timezone.localdate())
        closed = {
            row["department_id"]: row["n"]
            for row in DepartmentMonth.objects.filter(
                department__in=departments, closed=True, month__gte=first, month__lt=add_months(first, 12)
            )
            .values("department_id")
            .annotate(n=Count("pk"))
        }
        for department in departments:
            department.setting = department_settings.setting_for(department)
            department.closed_months = closed.get(department.pk, 0)
        return context


class DepartmentSettingView(_DepartmentMixin, FormView):
    form_class = DepartmentSettingForm
    template_name = "rotation/programmes/department_setting_form.html"

    def get_initial(self):
        setting = department_settings.setting_for(self.department)
        return {
            "capacity": setting.capacity,
            "minimum": setting.minimum,
            "residents_per_supervisor": setting.residents_per_supervisor,
        }

    def form_valid(self, form):
        try:
            department_settings.department_setting_save(
                department=self.department, acting_user=self.request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request, _("The rotation setting of %(department)s was saved.") % {"department": self.department}
        )
        return redirect("rotation:department_list")


class DepartmentMonthsView(_DepartmentMixin, FormView):
    """The next 36 months: capacity, minimum, closed; set one month or a range."""

    form_class = DepartmentMonthsForm
    template_name = "rotation/programmes/department_months.html"

    def get_initial(self):
        month = self.request.GET.get("month", "")
        return {"first": month or f"{timezone.localdate():%Y-%m}"}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        first = month_start(timezone.localdate())
        count = services.CALENDAR_MONTHS
        values = department_settings.capacities([self.department], first, count)[self.department.pk]
        overrides = {
            row.month: row
            for row in DepartmentMonth.objects.filter(
                department=self.department, month__gte=first, month__lt=add_months(first, count)
            )
        }
        context["calendar"] = [
            {"month": month, "capacity": cap, "minimum": minimum, "closed": closed, "override": overrides.get(month)}
            for month, (cap, minimum, closed) in zip(month_list(first, count), values, strict=True)
        ]
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            count = department_settings.department_months_set(
                department=self.department,
                first=data["first"],
                last=data["last"],
                capacity=data["capacity"],
                minimum=data["minimum"],
                closed=data["closed"],
                note=data["note"],
                acting_user=self.request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("%(n)s months were saved.") % {"n": count})
        return redirect("rotation:department_months", uuid=self.department.uuid)


class DepartmentSupervisorsView(_DepartmentMixin, FormView):
    """指导医师分配: the supervising doctors this department makes available for one-to-one supervision."""

    form_class = SupervisorAddForm
    template_name = "rotation/programmes/department_supervisors.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "candidates": department_settings.supervisor_candidates(self.department)}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        candidates = list(form.fields["user"].queryset)
        qualified = department_settings.qualified_user_ids([u.pk for u in candidates])
        not_qualified = _("not qualified")
        form.fields["user"].label_from_instance = lambda u: " · ".join(
            filter(None, [u.display_name, u.staff_number, "" if u.pk in qualified else f"({not_qualified})"])
        )
        return form

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = list(
            DepartmentSupervisor.objects.filter(department=self.department)
            .select_related("user")
            .order_by("-is_active", "user__real_name")
        )
        qualified = department_settings.qualified_user_ids([r.user_id for r in rows])
        setting = department_settings.setting_for(self.department)
        for row in rows:
            row.qualified = row.user_id in qualified
            row.effective_max = row.max_residents or setting.residents_per_supervisor
            row.form = SupervisorRowForm(
                initial={"max_residents": row.max_residents, "is_active": row.is_active}, prefix=f"s{row.pk}"
            )
        context["rows"] = rows
        return context

    def form_valid(self, form):
        user = form.cleaned_data["user"]
        try:
            _row, qualified = department_settings.supervisor_add(
                department=self.department,
                user=user,
                max_residents=form.cleaned_data["max_residents"],
                acting_user=self.request.user,
            )
        except ValidationError as exc:
            form.add_error("user", exc)
            return self.form_invalid(form)
        messages.success(self.request, _("%(name)s is now available for supervision.") % {"name": user})
        if not qualified:
            messages.warning(
                self.request,
                _("%(name)s holds no current supervisor qualification (指导医师准入); the training office grants it.")
                % {"name": user},
            )
        return redirect("rotation:department_supervisors", uuid=self.department.uuid)


class _SupervisorRowMixin(_DepartmentMixin):
    def check(self, request, **kwargs) -> None:
        super().check(request, **kwargs)
        self.row = (
            DepartmentSupervisor.objects.filter(department=self.department, pk=kwargs["pk"])
            .select_related("user")
            .first()
        )
        if self.row is None:
            _not_found(request, "rotation.departmentsupervisor", pk=kwargs["pk"])


class DepartmentSupervisorUpdateView(_SupervisorRowMixin, View):
    def post(self, request, uuid, pk):
        form = SupervisorRowForm(request.POST, prefix=f"s{pk}")
        if form.is_valid():
            department_settings.supervisor_update(
                row=self.row,
                max_residents=form.cleaned_data["max_residents"],
                is_active=form.cleaned_data["is_active"],
                acting_user=request.user,
            )
            messages.success(request, _("%(name)s was saved.") % {"name": self.row.user})
        else:
            errors = "; ".join(e for field in form.errors.values() for e in field)
            messages.error(request, _("%(name)s was not saved: %(errors)s") % {"name": self.row.user, "errors": errors})
        return redirect("rotation:department_supervisors", uuid=uuid)


class DepartmentSupervisorRemoveView(_SupervisorRowMixin, View):
    def post(self, request, uuid, pk):
        department_settings.supervisor_remove(row=self.row, acting_user=request.user)
        messages.success(request, _("%(name)s is no longer available for supervision here.") % {"name": self.row.user})
        return redirect("rotation:department_supervisors", uuid=uuid)


# ---------------------------------------------------------------- preference windows (the office)
class PreferenceWindowListView(_SignedIn, FormView):
    form_class = PreferenceWindowForm
    template_name = "rotation/programmes/window_list.html"

    def check(self, request, **kwargs) -> None:
        self.hospitals = office_hospitals(request.user)
        if not self.hospitals:
            deny(request)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "hospitals": self.hospitals}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        windows = list(
            PreferenceWindow.objects.filter(hospital_id__in=self.hospitals).select_related(
                "hospital", "base", "created_by"
            )
        )
        for window in windows:
            window.state = (
                "open"
                if window.opens_at <= now < window.closes_at
                else "upcoming"
                if window.opens_at > now
                else "closed"
            )
        context.update(windows=windows)
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            elective_preferences.open_window(
                hospital=data["hospital"],
                base=data["base"],
                cohort=data["cohort"],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                acting_user=self.request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("The preference window was opened."))
        return redirect("rotation:preference_windows")


class PreferenceWindowCloseView(_SignedIn, View):
    def check(self, request, **kwargs) -> None:
        self.window = PreferenceWindow.objects.filter(
            hospital_id__in=office_hospitals(request.user), uuid=kwargs["uuid"]
        ).first()
        if self.window is None:
            _not_found(request, "rotation.preferencewindow", uuid=kwargs["uuid"])

    def post(self, request, uuid):
        try:
            elective_preferences.close_window(window=self.window, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The preference window was closed."))
        return redirect("rotation:preference_windows")


# ---------------------------------------------------------------- my elective preferences (residents)
class MyPreferencesView(_SignedIn, TemplateView):
    """Rank the options of each elective group while a window is open: one select per rank (phone-friendly)."""

    template_name = "rotation/programmes/my_preferences.html"

    def check(self, request, **kwargs) -> None:
        self.resident = ResidentProfile.objects.filter(user=request.user).select_related("base__hospital").first()
        if self.resident is None:
            raise Http404(_("You have no resident archive."))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        resident = self.resident
        programme = Programme.objects.filter(base_id=resident.base_id).first()
        groups = elective_preferences.elective_groups(resident) if programme else []
        window = elective_preferences.window_for(resident)
        saved = elective_preferences.preferences_for([resident])[resident.pk]
        submitted = kwargs.get("submitted", {})
        errors = kwargs.get("errors", {})
        for number, group in enumerate(groups, start=1):
            group.number = number
            group.option_list = list(group.options.all())
            chosen = submitted.get(group.pk, saved.get(group.pk, []))
            names = {o.pk: o for o in group.option_list}
            group.ranking = [names[pk] for pk in chosen if pk in names]
            group.ranks = [
                {
                    "rank": rank,
                    "name": f"g{group.pk}-{rank}",
                    "value": chosen[rank - 1] if rank <= len(chosen) else None,
                }
                for rank in range(1, len(group.option_list) + 1)
            ]
            group.error = errors.get(group.pk)
        context.update(
            resident=resident,
            programme=programme,
            groups=groups,
            window=window,
            next_window=None if window else elective_preferences.next_window_for(resident),
        )
        return context

    def post(self, request):
        if elective_preferences.window_for(self.resident) is None:
            messages.error(
                request, _("Elective preferences are closed: no window is open for you now. Nothing was saved.")
            )
            return redirect("rotation:my_preferences")
        groups = elective_preferences.elective_groups(self.resident)
        submitted: dict[int, list[int]] = {}
        errors: dict[int, str] = {}
        for group in groups:
            values = []
            for rank in range(1, group.options.count() + 1):
                raw = request.POST.get(f"g{group.pk}-{rank}", "").strip()
                if raw:
                    try:
                        values.append(int(raw))
                    except ValueError:
                        errors[group.pk] = _("Only the departments of this elective group can be ranked.")
            submitted[group.pk] = values
        with transaction.atomic():
            for group in groups:
                if group.pk in errors:
                    continue
                try:
                    elective_preferences.save_preferences(
                        self.resident, group, submitted[group.pk], acting_user=request.user
                    )
                except ValidationError as exc:
                    errors[group.pk] = " ".join(exc.messages)
            if errors:
                transaction.set_rollback(True)
        if errors:
            messages.error(request, _("Nothing was saved: please correct the marked groups."))
            return self.render_to_response(self.get_context_data(submitted=submitted, errors=errors))
        messages.success(request, _("Your elective preferences were saved."))
        return redirect("rotation:my_preferences")


def department_links(department: Department) -> dict[str, str]:
    """The pages of one department's rotation settings (for other parts' templates)."""
    return {
        name: reverse(f"rotation:{name}", kwargs={"uuid": department.uuid})
        for name in ("department_setting", "department_months", "department_supervisors")
    }
