"""The faculty archive: list, teacher page, the office's edits and grants, the departments' records."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView, View
from django_filters.views import FilterView

from accounts.choices import Role
from accounts.models import User
from core import timeline
from core.exports import Export, ExportView
from core.masking import mask_phone
from core.permissions import RoleRequiredMixin, can, deny, get_visible_or_404, require
from core.uploads import serve_file

from . import exports, selectors, services
from .exports import may_export_faculty
from .filters import FacultyFilter
from .forms import (
    AchievementForm,
    AssessmentForm,
    FacultyCreateForm,
    FacultyProfileForm,
    QualifyForm,
    RevokeForm,
    TeachingPostForm,
    TrainingForm,
)
from .models import FacultyProfile, FacultyTraining, QualificationRule, SupervisorQualification
from .permissions import may_list_faculty


class FacultyListView(LoginRequiredMixin, FilterView):
    """带教师资: the teachers a manager is responsible for, filtered, sorted, counted."""

    filterset_class = FacultyFilter
    template_name = "faculty/facultyprofile_list.html"
    context_object_name = "teachers"
    paginate_by = 30
    strict = False  # an unknown filter value is ignored rather than emptying the list

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_list_faculty(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.faculty_for(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            counts=selectors.list_counts(self.filterset.qs),
            can_create=user.scope.is_office,
            can_export=may_export_faculty(user),
            today=timezone.localdate(),
        )
        return context


class MyArchiveView(LoginRequiredMixin, View):
    """我的师资档案: the signed-in teacher's own page."""

    def get(self, request):
        profile = FacultyProfile.objects.filter(user=request.user).only("uuid").first()
        if profile is None:
            raise Http404(_("You have no teaching archive yet. The training office opens it."))
        return redirect("faculty:detail", uuid=profile.uuid)


class _ProfileMixin(LoginRequiredMixin):
    """Look the teacher up inside the user's scope (404 outside), then check the action (403)."""

    action = "view"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.profile = get_visible_or_404(
            request.user,
            FacultyProfile.objects.select_related("user", "department__base", "department__hospital"),
            uuid=kwargs["uuid"],
        )
        if self.action != "view":
            require(request.user, self.action, self.profile)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["profile"] = self.profile
        return context

    def back(self, anchor: str = ""):
        return redirect(reverse("faculty:detail", kwargs={"uuid": self.profile.uuid}) + anchor)


def qualification_state(
    qualifications: list[SupervisorQualification], day
) -> tuple[str, SupervisorQualification | None]:
    """valid / expired / revoked / never, and the qualification that says so."""
    valid = [q for q in qualifications if q.is_valid(day)]
    if valid:
        return "valid", max(valid, key=lambda q: q.expires_on or day)
    if not qualifications:
        return "never", None
    latest = qualifications[0]
    return ("revoked" if latest.revoked_on else "expired"), latest


class FacultyDetailView(_ProfileMixin, TemplateView):
    template_name = "faculty/facultyprofile_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, profile = self.request.user, self.profile
        today = timezone.localdate()
        qualifications = list(profile.qualifications.select_related("granted_by").order_by("-granted_on", "-pk"))
        state, shown = qualification_state(qualifications, today)
        rule = QualificationRule.current()
        sees_phone = user.scope.is_office or user.pk == profile.user_id
        context.update(
            teacher=profile.user,
            phone=profile.user.phone if sees_phone else mask_phone(profile.user.phone),
            teaching_years=profile.teaching_years(today),
            qualifications=qualifications,
            qualification_state=state,
            qualification=shown,
            rule=rule,
            shortfalls=services.rule_shortfalls(profile, rule, on=today),
            trainings=list(profile.trainings.all()),
            posts=list(profile.teaching_posts.select_related("department", "base")),
            roles=list(selectors.teaching_roles(profile)),
            assessments=list(profile.assessments.select_related("assessed_by")),
            achievements=list(profile.achievements.all()),
            supervision=selectors.supervision_counts(profile, today),
            timeline=timeline.entries(timeline.FACULTY, profile, user),
            today=today,
            can_edit=can(user, "edit", profile),
            can_records=can(user, "records", profile),
            can_qualify=can(user, "qualify", profile),
            can_assess=can(user, "assess", profile),
            can_list=may_list_faculty(user),
        )
        return context


# ---------------------------------------------------------------- the office: open and edit an archive
class FacultyCreateView(LoginRequiredMixin, RoleRequiredMixin, FormView):
    required_roles = (Role.TRAINING_OFFICE,)
    form_class = FacultyCreateForm
    template_name = "faculty/facultyprofile_form.html"

    def hospitals(self) -> set[int]:
        return self.request.user.scope.hospitals(Role.TRAINING_OFFICE)

    def get_initial(self):
        return {**super().get_initial(), "account": self.request.GET.get("account", "")}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "hospitals": self.hospitals()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        hospitals = self.hospitals()
        teachers = (
            User.objects.filter(
                is_active=True,
                faculty_profile__isnull=True,
                role_assignments__role__in=selectors.TEACHING_ROLES,
            )
            .filter(
                Q(role_assignments__department__hospital_id__in=hospitals)
                | Q(role_assignments__department__hospital__parent_id__in=hospitals)
                | Q(role_assignments__base__hospital_id__in=hospitals)
            )
            .distinct()
            .order_by("staff_number", "username")
            .only("username", "staff_number", "real_name")[:300]
        )
        context["candidates"] = teachers
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            profile = services.faculty_create(
                user=data["account"], **{name: data[name] for name in services.PROFILE_FIELDS},
                acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("The teaching archive of %(name)s was opened.") % {"name": profile})
        return redirect("faculty:detail", uuid=profile.uuid)


class FacultyEditView(_ProfileMixin, FormView):
    action = "edit"
    form_class = FacultyProfileForm
    template_name = "faculty/facultyprofile_form.html"

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "instance": self.profile,
            "hospitals": self.request.user.scope.hospitals(Role.TRAINING_OFFICE),
        }

    def form_valid(self, form):
        values = {name: form.cleaned_data[name] for name in services.PROFILE_FIELDS}
        # the form wrote into the instance while validating: compare against the stored row
        self.profile.refresh_from_db()
        services.faculty_update(profile=self.profile, acting_user=self.request.user, **values)
        messages.success(self.request, _("The archive was saved."))
        return self.back()


# ---------------------------------------------------------------- 指导医师准入
class QualifyView(_ProfileMixin, FormView):
    """Shows the rule and what is missing; grants when it is met."""

    action = "qualify"
    form_class = QualifyForm
    template_name = "faculty/qualify_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rule = QualificationRule.current()
        today = timezone.localdate()
        context.update(
            rule=rule,
            shortfalls=services.rule_shortfalls(self.profile, rule, on=today),
            teaching_years=self.profile.teaching_years(today),
            current=self.profile.qualifications.valid_on(today).order_by("-expires_on").first(),
        )
        return context

    def form_valid(self, form):
        try:
            qualification = services.qualification_grant(
                profile=self.profile, granted_on=form.cleaned_data["granted_on"], note=form.cleaned_data["note"],
                acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("The supervisor qualification was granted to %(name)s, valid until %(until)s.")
            % {"name": self.profile, "until": qualification.expires_on},
        )
        return self.back("#qualification")


class RevokeView(LoginRequiredMixin, FormView):
    form_class = RevokeForm
    template_name = "faculty/revoke_form.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.profile = get_visible_or_404(
            request.user, FacultyProfile.objects.select_related("user"), qualifications__uuid=kwargs["uuid"]
        )
        require(request.user, "qualify", self.profile)
        self.qualification = self.profile.qualifications.select_related("granted_by").get(uuid=kwargs["uuid"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(profile=self.profile, qualification=self.qualification)
        return context

    def form_valid(self, form):
        try:
            services.qualification_revoke(
                qualification=self.qualification, reason=form.cleaned_data["reason"], acting_user=self.request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("The qualification was revoked."))
        return redirect(reverse("faculty:detail", kwargs={"uuid": self.profile.uuid}) + "#qualification")


# ---------------------------------------------------------------- records: trainings, posts, achievements, assessments
class _RecordFormView(_ProfileMixin, FormView):
    """One page per record kind: the form, then back to the teacher's page."""

    action = "records"
    template_name = "faculty/record_form.html"
    heading = ""
    anchor = ""
    done_message = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["heading"] = self.heading
        context["anchor"] = self.anchor
        return context

    def save(self, form) -> None:
        raise NotImplementedError

    def form_valid(self, form):
        try:
            self.save(form)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, self.done_message)
        return self.back(self.anchor)


class TrainingAddView(_RecordFormView):
    form_class = TrainingForm
    heading = gettext_lazy("Add a faculty development training")
    anchor = "#trainings"
    done_message = gettext_lazy("The training was added.")

    def save(self, form) -> None:
        data = form.cleaned_data
        services.training_add(
            profile=self.profile, name=data["name"], organiser=data["organiser"], level=data["level"],
            start_date=data["start_date"], end_date=data["end_date"], hours=data["hours"],
            certificate_number=data["certificate_number"], certificate=data["certificate"],
            acting_user=self.request.user,
        )  # fmt: skip


class TeachingPostAddView(_RecordFormView):
    form_class = TeachingPostForm
    heading = gettext_lazy("Add a teaching post")
    anchor = "#posts"
    done_message = gettext_lazy("The post was added.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "profile": self.profile}

    def save(self, form) -> None:
        data = form.cleaned_data
        services.post_add(
            profile=self.profile, kind=data["kind"], department=data["department"], base=data["base"],
            start_date=data["start_date"], end_date=data["end_date"], acting_user=self.request.user,
        )  # fmt: skip


class AchievementAddView(_RecordFormView):
    form_class = AchievementForm
    heading = gettext_lazy("Add an achievement")
    anchor = "#achievements"
    done_message = gettext_lazy("The achievement was added.")

    def save(self, form) -> None:
        data = form.cleaned_data
        services.achievement_add(
            profile=self.profile, kind=data["kind"], title=data["title"], date=data["date"], level=data["level"],
            detail=data["detail"], acting_user=self.request.user,
        )  # fmt: skip


class AssessmentAddView(_RecordFormView):
    action = "assess"
    form_class = AssessmentForm
    heading = gettext_lazy("Add an annual teaching assessment")
    anchor = "#assessments"
    done_message = gettext_lazy("The assessment was saved.")

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.assessment_add(
                profile=self.profile, year=data["year"], result=data["result"], score=data["score"],
                note=data["note"], acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error("year" if exc.code == "duplicate" else None, exc)
            return self.form_invalid(form)
        messages.success(self.request, self.done_message)
        return self.back(self.anchor)


class AssessmentEditView(_RecordFormView):
    action = "assess"
    form_class = AssessmentForm
    heading = gettext_lazy("Edit the annual teaching assessment")
    anchor = "#assessments"
    done_message = gettext_lazy("The assessment was saved.")

    def get_form_kwargs(self):
        self.assessment = get_object_or_404(self.profile.assessments, year=self.kwargs["year"])
        return {**super().get_form_kwargs(), "instance": self.assessment}

    def save(self, form) -> None:
        data = form.cleaned_data
        services.assessment_update(
            assessment=self.assessment, result=data["result"], score=data["score"], note=data["note"],
            acting_user=self.request.user,
        )  # fmt: skip


class _RecordDeleteView(_ProfileMixin, View):
    """POST only: remove one record of this teacher (looked up under the teacher, so never someone else's)."""

    action = "records"
    anchor = ""
    done_message = ""

    def delete(self, record) -> None:
        raise NotImplementedError

    def lookup(self):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        self.delete(self.lookup())
        messages.success(request, self.done_message)
        return self.back(self.anchor)


class TeachingPostDeleteView(_RecordDeleteView):
    anchor = "#posts"
    done_message = gettext_lazy("The post was removed.")

    def lookup(self):
        return get_object_or_404(self.profile.teaching_posts, pk=self.kwargs["pk"])

    def delete(self, record) -> None:
        services.post_delete(post=record, acting_user=self.request.user)


class AchievementDeleteView(_RecordDeleteView):
    anchor = "#achievements"
    done_message = gettext_lazy("The achievement was removed.")

    def lookup(self):
        return get_object_or_404(self.profile.achievements, pk=self.kwargs["pk"])

    def delete(self, record) -> None:
        services.achievement_delete(achievement=record, acting_user=self.request.user)


class _TrainingMixin(LoginRequiredMixin):
    """A training is reached by its own UUID; its teacher is looked up in the user's scope first."""

    action = "view"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.profile = get_visible_or_404(
            request.user, FacultyProfile.objects.select_related("user"), trainings__uuid=kwargs["uuid"]
        )
        if self.action != "view":
            require(request.user, self.action, self.profile)
        self.training = FacultyTraining.objects.get(faculty=self.profile, uuid=kwargs["uuid"])
        return super().dispatch(request, *args, **kwargs)


class TrainingDeleteView(_TrainingMixin, View):
    action = "records"

    def post(self, request, uuid):
        services.training_delete(training=self.training, acting_user=request.user)
        messages.success(request, _("The training was removed."))
        return redirect(reverse("faculty:detail", kwargs={"uuid": self.profile.uuid}) + "#trainings")


class TrainingCertificateView(_TrainingMixin, View):
    """Anyone who may see the teacher may open the certificate; for everybody else it does not exist."""

    def get(self, request, uuid):
        if not self.training.certificate:
            raise Http404(_("This training has no certificate."))
        try:
            return serve_file(
                self.training.certificate,
                filename=self.training.certificate_name or self.training.certificate.name,
                content_type=self.training.certificate_type or "application/octet-stream",
            )
        except FileNotFoundError:
            raise Http404(_("The file is missing from storage.")) from None


# ---------------------------------------------------------------- export
class FacultyExportView(ExportView):
    """The filtered list as .xlsx, through the shared export (password again, stamp, audit)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_export_faculty(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def get_export(self) -> Export:
        user = self.request.user
        filterset = FacultyFilter(self.request.GET or None, queryset=selectors.faculty_for(user), request=self.request)
        rows = exports.exportable(user, filterset.qs)
        return Export(
            domain="faculty",
            title=_("Faculty"),
            rows=rows,
            columns=exports.FACULTY_COLUMNS,
            filters=exports.filters_of(filterset),
            unmask=exports.unmask,
        )

    def get_cancel_url(self) -> str:
        query = self.request.GET.urlencode()
        return reverse("faculty:list") + (f"?{query}" if query else "")
