"""Records, review, ratings and statistics pages.

Activities are looked up inside ActivityPolicy's scope (outside it 404); a visible activity whose record
the user may not see or act on is a 403 (audited). Statistics: one's own, or others' for those who look
after them (residents: ResidentProfilePolicy; teachers: the departments the viewer manages).
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.choices import Role
from accounts.models import Department, User
from core.audit import audit_record
from core.exports import Column, Export, export_view
from core.permissions import deny, get_visible_or_404, visible
from core.uploads import serve_file
from faculty.models import FacultyProfile
from residents.models import ResidentProfile

from .choices import RecordStatus
from .forms_records import RatingForm, RecordForm, ReviewForm
from .models import Activity, ActivityRecord, RecordFile
from .permissions import BASE_MANAGERS, DEPARTMENT_STAFF, _department_q, office_hospitals
from .services import records as services
from .services import stats

STATS_MANAGERS = (*DEPARTMENT_STAFF, *BASE_MANAGERS, Role.TRAINING_OFFICE)


def _forbid(request, obj, attempted: str):
    audit_record(action="access.denied", outcome="denied", acting_user=request.user, target=obj, attempted=attempted)
    raise PermissionDenied


def _activity(request, uuid) -> Activity:
    queryset = Activity.objects.select_related("department__hospital", "activity_type", "teacher")
    return get_visible_or_404(request.user, queryset, uuid=uuid)


def _year(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


# ---------------------------------------------------------------- records


@login_required
def record_detail(request, uuid):
    """The record of one activity: upload (teacher, secretary), review (office), the ratings' summary."""
    activity = _activity(request, uuid)
    if not services.may_see_record(request.user, activity):
        _forbid(request, activity, "record")
    record = services.record_of(activity)
    may_submit = services.may_submit(request.user, activity)
    form = RecordForm(initial={"summary": record.summary if record else ""})
    status = 200
    if request.method == "POST":
        if not may_submit:
            _forbid(request, activity, "record")
        form = RecordForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.record_submit(
                    activity=activity,
                    summary=form.cleaned_data["summary"],
                    photos=form.cleaned_data["photos"],
                    slides=form.cleaned_data["slides"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("The record was sent to the training office for review."))
                return redirect("teaching:records_detail", uuid=activity.uuid)
        status = 400
    reviewer = services.is_reviewer(request.user, activity)
    context = {
        "activity": activity,
        "record": record,
        "files": list(record.files.order_by("kind", "pk")) if record else [],
        "form": form if may_submit else None,
        "ended": services.has_ended(activity),
        "review_form": ReviewForm() if reviewer and record and record.status == RecordStatus.SUBMITTED else None,
        "ratings": services.rating_summary(activity, request.user),
    }
    return render(request, "teaching/records/detail.html", context, status=status)


@login_required
@require_POST
def record_review(request, uuid):
    activity = _activity(request, uuid)
    record = services.record_of(activity)
    if record is None:
        raise Http404
    if not services.is_reviewer(request.user, activity):
        _forbid(request, record, "review")
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.record_review(
                record=record,
                accept=form.cleaned_data["decision"] == ReviewForm.ACCEPT,
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Your decision was recorded and the uploader notified."))
            return redirect("teaching:records_detail", uuid=activity.uuid)
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect("teaching:records_detail", uuid=activity.uuid)


@login_required
def record_file(request, uuid, pk):
    """A photo or the slides: only through this view, for those who may see the record."""
    activity = _activity(request, uuid)
    if not services.may_see_record(request.user, activity):
        _forbid(request, activity, "record")
    stored = get_object_or_404(RecordFile, record__activity=activity, pk=pk)
    try:
        return serve_file(stored.file, filename=stored.original_name, content_type=stored.content_type)
    except FileNotFoundError:
        raise Http404(_("The file is missing from storage.")) from None


@login_required
def record_list(request):
    """Records of the activities the user may see: the office's review queue first."""
    if not request.user.scope.has_role(*STATS_MANAGERS) and not Activity.objects.filter(teacher=request.user).exists():
        deny(request)
    wanted = request.GET.get("status", RecordStatus.SUBMITTED)
    if wanted not in RecordStatus.values and wanted != "all":
        wanted = RecordStatus.SUBMITTED
    activities = visible(request.user, Activity).filter(
        Q(pk__in=Activity.objects.filter(_department_q(request.user)).values("pk")) | Q(teacher=request.user)
    )
    records = ActivityRecord.objects.filter(activity__in=activities.values("pk")).select_related(
        "activity__department", "activity__activity_type", "activity__teacher", "submitted_by"
    )
    if wanted != "all":
        records = records.filter(status=wanted)
    records = records.order_by("-submitted_at")[:200]
    context = {"records": records, "wanted": wanted, "statuses": RecordStatus.choices}
    return render(request, "teaching/records/list.html", context)


# ---------------------------------------------------------------- ratings


@login_required
def rate(request, uuid):
    """A resident who checked out rates the activity once; afterwards they see their own rating."""
    activity = _activity(request, uuid)
    own = services.own_rating(request.user, activity)
    if own is None and not services.may_rate(request.user, activity):
        _forbid(request, activity, "rate")
    indicators = services.indicators_for(services.rating_hospital(activity))
    form = None if own else RatingForm(indicators=indicators)
    status = 200
    if request.method == "POST" and own is None:
        form = RatingForm(request.POST, indicators=indicators)
        if form.is_valid():
            try:
                services.rating_submit(
                    activity=activity,
                    scores=form.scores(),
                    comment=form.cleaned_data["comment"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("Thank you: your rating was saved."))
                return redirect("teaching:records_rate", uuid=activity.uuid)
        status = 400
    names = {str(i.pk): i.name for i in indicators}
    own_scores = [(names.get(k, "?"), v) for k, v in own.scores.items()] if own else []
    context = {"activity": activity, "form": form, "own": own, "own_scores": own_scores}
    return render(request, "teaching/records/rate.html", context, status=status)


# ---------------------------------------------------------------- statistics


def _teacher_or_404(request, uuid) -> User:
    """Oneself, or a teacher whose archive or activities the viewer manages."""
    if uuid is None:
        return request.user
    teacher = get_object_or_404(User, uuid=uuid)
    if teacher.pk == request.user.pk:
        return teacher
    if not request.user.scope.has_role(*STATS_MANAGERS):
        audit_record(action="access.not_found", outcome="denied", acting_user=request.user, model="accounts.user")
        raise Http404
    managed = Activity.objects.filter(_department_q(request.user), teacher=teacher).exists()
    if not managed and not visible(request.user, FacultyProfile).filter(user=teacher).exists():
        audit_record(action="access.not_found", outcome="denied", acting_user=request.user, model="accounts.user")
        raise Http404
    return teacher


def _teacher_activities(request, teacher):
    if teacher.pk == request.user.pk:
        return Activity.objects.all()
    return Activity.objects.filter(_department_q(request.user))


@login_required
def teacher_stats(request, uuid=None):
    teacher = _teacher_or_404(request, uuid)
    year = _year(request)
    result = stats.teacher_stats(
        teacher, date(year, 1, 1), date(year, 12, 31), activities=_teacher_activities(request, teacher)
    )
    context = {"teacher": teacher, "year": year, "stats": result, "own": teacher.pk == request.user.pk}
    return render(request, "teaching/records/teacher_stats.html", context)


@login_required
def teacher_stats_export(request, uuid):
    teacher = _teacher_or_404(request, uuid)
    year = _year(request)
    result = stats.teacher_stats(
        teacher, date(year, 1, 1), date(year, 12, 31), activities=_teacher_activities(request, teacher)
    )
    export = Export(
        domain="teaching.teacher_stats",
        title=_("Teaching given by %(name)s in %(year)s") % {"name": teacher.display_name, "year": year},
        rows=result.activities,
        count=len(result.activities),
        columns=[
            Column(_("Date"), lambda a: timezone.localtime(a.starts_at).strftime("%Y-%m-%d %H:%M"), key="date"),
            Column(_("Department"), lambda a: a.department.name, key="department"),
            Column(_("Type"), lambda a: a.activity_type.name, key="type"),
            Column(_("Title"), lambda a: a.title, key="title", width=30),
            Column(_("Credit hours"), lambda a: a.hours, key="hours"),
        ],
        filters={_("Year"): year, _("Teacher"): teacher.display_name},
    )
    return export_view(request, export, cancel_url=reverse("teaching:stats_teacher_user", args=[teacher.uuid]))


def _own_profile(request) -> ResidentProfile:
    profile = ResidentProfile.objects.select_related("user", "base").filter(user=request.user).first()
    if profile is None:
        deny(request)
    return profile


def _profile(request, uuid) -> ResidentProfile:
    if uuid is None:
        return _own_profile(request)
    return get_visible_or_404(request.user, ResidentProfile.objects.select_related("user", "base"), uuid=uuid)


@login_required
def resident_stats(request, uuid=None):
    profile = _profile(request, uuid)
    year = _year(request)
    result = stats.resident_stats(profile, date(year, 1, 1), date(year, 12, 31))
    context = {"profile": profile, "year": year, "stats": result, "own": profile.user_id == request.user.pk}
    return render(request, "teaching/records/resident_stats.html", context)


def _presence_text(row) -> str:
    _activity, item, expected, excused = row
    if item.credited:
        return _("attended (marked by hand)") if item.manual else _("attended")
    if item.checked_in or item.checked_out:
        return _("incomplete (no check-out)") if item.checked_in else _("incomplete (no check-in)")
    if excused:
        return _("excused (leave)")
    return _("absent") if expected else ""


@login_required
def resident_stats_export(request, uuid):
    profile = _profile(request, uuid)
    year = _year(request)
    result = stats.resident_stats(profile, date(year, 1, 1), date(year, 12, 31))
    export = Export(
        domain="teaching.resident_stats",
        title=_("Teaching attended by %(name)s in %(year)s") % {"name": profile.user.display_name, "year": year},
        rows=result.activities,
        count=len(result.activities),
        columns=[
            Column(_("Date"), lambda r: timezone.localtime(r[0].starts_at).strftime("%Y-%m-%d %H:%M"), key="date"),
            Column(_("Type"), lambda r: r[0].activity_type.name, key="type"),
            Column(_("Title"), lambda r: r[0].title, key="title", width=30),
            Column(_("Expected"), lambda r: _("yes") if r[2] else _("no"), key="expected"),
            Column(_("Attendance"), _presence_text, key="attendance", width=22),
            Column(_("Credit hours"), lambda r: r[0].hours if r[1].credited else 0, key="hours"),
        ],
        filters={_("Year"): year, _("Resident"): profile.user.display_name},
    )
    return export_view(request, export, cancel_url=reverse("teaching:stats_resident_profile", args=[profile.uuid]))


def _departments(request):
    """Departments whose compliance the user may see: their own (staff), their bases', their hospitals'."""
    scope = request.user.scope
    hospitals = office_hospitals(request.user)
    q = Q(pk__in=scope.departments(*DEPARTMENT_STAFF)) | Q(base_id__in=scope.bases(*BASE_MANAGERS))
    q |= Q(hospital_id__in=hospitals) | Q(hospital__parent_id__in=hospitals)
    return Department.objects.filter(q).select_related("hospital", "base").order_by("base__code", "code")


def _state_labels() -> dict:
    return {
        stats.MET: _("met"),
        stats.PARTLY: _("partly met"),
        stats.NOT_MET: _("not met"),
        stats.NO_RULES: _("no rules"),
    }


def _compliance(request):
    if not request.user.scope.has_role(*STATS_MANAGERS):
        deny(request)
    departments = _departments(request)
    base = request.GET.get("base")
    if base and base.isdigit():
        departments = departments.filter(base_id=int(base))
    year = _year(request)
    months = stats.months_of_year(year)
    return year, months, list(departments)


@login_required
def compliance(request):
    """The department × month heatmap (ECharts) and the same figures as an accessible table."""
    year, months, departments = _compliance(request)
    grid = stats.compliance(departments, months)
    attendance = stats.department_attendance(departments, date(year, 1, 1), date(year, 12, 31))
    value = {stats.MET: 2, stats.PARTLY: 1, stats.NOT_MET: 0}
    labels = {
        stats.MET: _("met"),
        stats.PARTLY: _("partly met"),
        stats.NOT_MET: _("not met"),
        stats.NO_RULES: _("no rules"),
    }
    chart = {
        "months": [f"{m:%m}" for m in months],
        "departments": [d.name for d, _row in grid],
        "cells": [
            [x, y, value[cell.state]]
            for y, (_d, row) in enumerate(grid)
            for x, cell in enumerate(row)
            if cell.state in value
        ],
        "labels": [labels[stats.NOT_MET], labels[stats.PARTLY], labels[stats.MET]],
    }
    bases = {d.base_id: d.base for d in _departments(request)}
    context = {
        "year": year,
        "months": months,
        "grid": grid,
        "labels": labels,
        "attendance": [(d, attendance.get(d.pk)) for d, _row in grid],
        "chart": chart if grid else None,
        "bases": sorted(bases.values(), key=lambda b: b.code),
        "base": request.GET.get("base", ""),
    }
    return render(request, "teaching/records/compliance.html", context)


@login_required
def compliance_export(request):
    year, months, departments = _compliance(request)
    grid = stats.compliance(departments, months)
    labels = {
        stats.MET: _("met"),
        stats.PARTLY: _("partly met"),
        stats.NOT_MET: _("not met"),
        stats.NO_RULES: _("no rules"),
    }
    cells = [cell for _d, row in grid for cell in row]

    def details(cell) -> str:
        return "; ".join(f"{t.name} {count}/{required}" for t, required, count in cell.lines)

    export = Export(
        domain="teaching.compliance",
        title=_("Teaching compliance %(year)s") % {"year": year},
        rows=cells,
        count=len(cells),
        columns=[
            Column(_("Department"), lambda c: c.department.name, key="department", width=20),
            Column(_("Month"), lambda c: f"{c.month:%Y-%m}", key="month"),
            Column(_("Compliance"), lambda c: labels[c.state], key="state"),
            Column(_("Held / required"), details, key="details", width=50),
        ],
        filters={_("Year"): year, _("Base"): request.GET.get("base", "")},
    )
    return export_view(request, export, cancel_url=reverse("teaching:stats_compliance"))
