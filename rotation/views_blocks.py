"""A block's 入科教育 and 出科 pages, the exits waiting for someone, and entry-education completion rates.

Blocks are looked up inside the user's scope (RotationBlockPolicy: outside it 404); each step then
asks the practice policies (EntryEducationPolicy, ExitReviewPolicy) and answers 403 when the role
may not do it. Business rules and their messages come from the services.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from accounts.choices import Role
from accounts.models import RoleAssignment, SpecialtyBase, User
from core.audit import audit_record
from core.permissions import can, deny, get_visible_or_404, require

from .choices import ExitStage
from .forms_blocks import (
    AssessmentForm,
    BaseReviewForm,
    EntryEducationForm,
    HeadDecisionForm,
    SummaryForm,
    TheoryForm,
    TopicsForm,
)
from .models import EntryEducation, ExitReview, MakeupTask, RotationBlock
from .permissions import BASE_MANAGERS, managed_departments, office_hospitals
from .selectors import department_or_404, may_view_departments, viewable_departments
from .services import entry_education, exits

STAFF_ROLES = (Role.SUPERVISOR, Role.DEPARTMENT_HEAD, Role.TEACHING_SECRETARY, *BASE_MANAGERS)


def _block(request, uuid) -> RotationBlock:
    return get_visible_or_404(
        request.user,
        RotationBlock.objects.select_related(
            "resident__user", "resident__base__hospital", "department__hospital", "department__base", "supervisor"
        ),
        uuid=uuid,
    )


def _review(request, uuid) -> ExitReview:
    return get_visible_or_404(
        request.user,
        ExitReview.objects.select_related(
            "block__resident__user", "block__resident__base__hospital", "block__department__hospital", "form"
        ),
        block__uuid=uuid,
    )


def _exit_can(user, block: RotationBlock, review: ExitReview | None, action: str) -> bool:
    """The ExitReviewPolicy answer, also before the block has a review (the policy only looks at the block)."""
    return can(user, action, review if review is not None else ExitReview(block=block))


def _flash(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- the block page ---------------------------------------------------------------------------------


def _exit_context(request, block: RotationBlock, review: ExitReview | None) -> dict:
    user = request.user
    stage = review.stage if review else ExitStage.SUMMARY
    form = review.form if review and review.form_id else exits.form_for(block.department)
    items = exits.items_of(form)
    scores = review.scores if review else {}
    theory = exits.theory_points(review, form) if review else None
    rows = [
        {**item, "given": theory if item["is_theory"] else scores.get(item["key"])} for item in items
    ]  # the form's items with what was given
    open_stage = stage in (ExitStage.SUMMARY, ExitStage.ASSESSMENT)
    context = {
        "review": review,
        "stage": stage,
        "exit_form": form,
        "rows": rows,
        "max_total": exits.max_total(form),
        "summary_open": exits.summary_open(block),
        "summary_opens_on": exits.summary_opens_on(block),
        "can_summary": _exit_can(user, block, review, "summary") and open_stage,
        "can_theory": _exit_can(user, block, review, "theory") and open_stage,
        "can_assess": _exit_can(user, block, review, "assess") and stage == ExitStage.ASSESSMENT,
        "can_agree": _exit_can(user, block, review, "agree") and stage == ExitStage.HEAD,
        "can_review": _exit_can(user, block, review, "review") and stage == ExitStage.BASE,
        "makeup_task": MakeupTask.objects.filter(review=review).first() if review else None,
    }
    if stage in (ExitStage.SUMMARY, ExitStage.ASSESSMENT):
        context["rules"] = exits.auto_fail_rules(block, form)  # live until the assessment stores them
    else:
        context["stored_reasons"] = exits.stored_reasons(review)
        context["fail_reasons"] = exits.fail_reasons(review)
    if context["can_theory"]:
        context["theory_form"] = TheoryForm(
            initial={"score": review.theory_score if review else "", "version": review.version if review else None}
        )
    if context["can_agree"]:
        context["head_form"] = HeadDecisionForm(initial={"version": review.version})
    if context["can_review"]:
        context["review_form"] = BaseReviewForm(
            initial={"version": review.version, "passed": "no" if context["fail_reasons"] else "yes"}
        )
    return context


class BlockView(LoginRequiredMixin, View):
    """One block: its entry education and its 出科, with the step the viewer may take."""

    def get(self, request, uuid):
        block = _block(request, uuid)
        education = (
            EntryEducation.objects.filter(block=block).select_related("given_by").prefetch_related("topics").first()
        )
        review = ExitReview.objects.filter(block=block).select_related("form", "assessor", "head", "reviewer").first()
        context = {
            "rotation_block": block,
            "education": education,
            "checklist": entry_education.topics_for(block.department),
            "may_record": entry_education.may_record(request.user, block)
            and (education is None or education.confirmed_at is None),
            "may_confirm": education is not None and can(request.user, "confirm", education),
            "is_self": block.resident.user_id == request.user.pk,
            **_exit_context(request, block, review),
        }
        if education is not None:
            covered = {t.pk for t in education.topics.all()}
            context["covered"] = covered
        return render(request, "rotation/blocks/block.html", context)


def _people(block: RotationBlock, user) -> "list[User]":
    ids = RoleAssignment.objects.active_on().filter(
        department=block.department, role__in=[Role.SUPERVISOR, Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD]
    )
    return User.objects.filter(
        Q(pk__in=ids.values("user_id")) | Q(pk=user.pk) | Q(pk=block.supervisor_id or 0), is_active=True
    ).order_by("real_name", "username")


class EntryRecordView(LoginRequiredMixin, View):
    """The department records the entry education (or corrects it until the resident confirms)."""

    def _setup(self, request, uuid):
        block = _block(request, uuid)
        if not entry_education.may_record(request.user, block):
            deny(request)
        return block, EntryEducation.objects.filter(block=block).prefetch_related("topics").first()

    def _form(self, request, block, education, data=None):
        initial = {"given_by": request.user.pk}
        if education is not None:
            initial = {
                "given_by": education.given_by_id,
                "given_on": education.given_on,
                "topics": list(education.topics.all()),
                "note": education.note,
            }
        else:
            initial["topics"] = entry_education.topics_for(block.department)
        return EntryEducationForm(
            data,
            topics=entry_education.topics_for(block.department),
            people=_people(block, request.user),
            initial=initial,
        )

    def get(self, request, uuid):
        block, education = self._setup(request, uuid)
        form = self._form(request, block, education)
        return render(request, "rotation/blocks/entry_form.html", {"rotation_block": block, "form": form})

    def post(self, request, uuid):
        block, education = self._setup(request, uuid)
        form = self._form(request, block, education, request.POST)
        if form.is_valid():
            try:
                entry_education.entry_education_record(
                    block=block,
                    given_on=form.cleaned_data["given_on"],
                    topics=list(form.cleaned_data["topics"]),
                    note=form.cleaned_data["note"],
                    given_by=form.cleaned_data["given_by"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Entry education recorded; the resident has been asked to confirm it."))
                return redirect("rotation:blocks_block", uuid=block.uuid)
        return render(request, "rotation/blocks/entry_form.html", {"rotation_block": block, "form": form}, status=400)


class EntryConfirmView(LoginRequiredMixin, View):
    def post(self, request, uuid):
        education = get_visible_or_404(
            request.user, EntryEducation.objects.select_related("block__resident__user"), block__uuid=uuid
        )
        require(request.user, "confirm", education)
        try:
            entry_education.entry_education_confirm(education=education, acting_user=request.user)
        except ValidationError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Thank you: your entry education is confirmed."))
        return redirect("rotation:blocks_block", uuid=uuid)


# --- 出科 steps -------------------------------------------------------------------------------------


class SummaryView(LoginRequiredMixin, View):
    """The resident's 出科小结, phone first."""

    def _setup(self, request, uuid):
        block = _block(request, uuid)
        review = ExitReview.objects.filter(block=block).first()
        require(request.user, "summary", review or ExitReview(block=block))
        return block, review

    def _render(self, request, block, review, form, status=200):
        context = {
            "rotation_block": block,
            "review": review,
            "form": form,
            "summary_open": exits.summary_open(block),
            "summary_opens_on": exits.summary_opens_on(block),
            "editable": review is None or review.stage in (ExitStage.SUMMARY, ExitStage.ASSESSMENT),
        }
        return render(request, "rotation/blocks/summary.html", context, status=status)

    def get(self, request, uuid):
        block, review = self._setup(request, uuid)
        form = SummaryForm(initial={"summary": review.summary if review else "", "version": review and review.version})
        return self._render(request, block, review, form)

    def post(self, request, uuid):
        block, review = self._setup(request, uuid)
        form = SummaryForm(request.POST)
        if form.is_valid():
            try:
                exits.exit_summary_submit(
                    block=block,
                    summary=form.cleaned_data["summary"],
                    version=form.cleaned_data["version"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Your self-summary has been handed in to your supervising doctor."))
                return redirect("rotation:blocks_block", uuid=block.uuid)
        return self._render(request, block, review, form, status=400)


class TheoryView(LoginRequiredMixin, View):
    """The department (secretary or head) enters the theory exam score."""

    def post(self, request, uuid):
        block = _block(request, uuid)
        review = ExitReview.objects.filter(block=block).first()
        require(request.user, "theory", review or ExitReview(block=block))
        form = TheoryForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect("rotation:blocks_block", uuid=block.uuid)
        try:
            exits.exit_theory_enter(
                block=block,
                score=form.cleaned_data["score"],
                version=form.cleaned_data["version"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Theory exam score saved."))
        return redirect("rotation:blocks_block", uuid=block.uuid)


class AssessView(LoginRequiredMixin, View):
    """The supervisor's 出科考核表 with the automatic-fail panel."""

    def _setup(self, request, uuid):
        review = _review(request, uuid)
        require(request.user, "assess", review)
        form = review.form or exits.form_for(review.block.department)
        return review, form

    def _render(self, request, review, exit_form, form, status=200):
        block = review.block
        context = {
            "rotation_block": block,
            "review": review,
            "exit_form": exit_form,
            "form": form,
            "rules": exits.auto_fail_rules(block, exit_form),
            "theory": exits.theory_points(review, exit_form),
            "theory_item": next((i for i in exits.items_of(exit_form) if i["is_theory"]), None),
            "max_total": exits.max_total(exit_form),
            "open": review.stage == ExitStage.ASSESSMENT,
        }
        return render(request, "rotation/blocks/assess.html", context, status=status)

    def get(self, request, uuid):
        review, exit_form = self._setup(request, uuid)
        initial = {f"item_{k}": v for k, v in (review.scores or {}).items()}
        form = AssessmentForm(items=exits.items_of(exit_form), initial={**initial, "version": review.version})
        return self._render(request, review, exit_form, form)

    def post(self, request, uuid):
        review, exit_form = self._setup(request, uuid)
        form = AssessmentForm(request.POST, items=exits.items_of(exit_form))
        if form.is_valid():
            try:
                exits.exit_assess(
                    review=review,
                    scores=form.scores(),
                    comment=form.cleaned_data["comment"],
                    version=form.cleaned_data["version"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Assessment saved; the department head has been asked to agree."))
                return redirect("rotation:blocks_block", uuid=uuid)
        return self._render(request, review, exit_form, form, status=400)


class HeadDecisionView(LoginRequiredMixin, View):
    def post(self, request, uuid):
        review = _review(request, uuid)
        require(request.user, "agree", review)
        form = HeadDecisionForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect("rotation:blocks_block", uuid=uuid)
        try:
            exits.exit_head_decide(
                review=review,
                agreed=form.cleaned_data["agreed"],
                comment=form.cleaned_data["comment"],
                version=form.cleaned_data["version"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Decision saved; the base will review the exit."))
        return redirect("rotation:blocks_block", uuid=uuid)


class BaseReviewView(LoginRequiredMixin, View):
    def post(self, request, uuid):
        review = _review(request, uuid)
        require(request.user, "review", review)
        form = BaseReviewForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect("rotation:blocks_block", uuid=uuid)
        try:
            review = exits.exit_review_close(
                review=review,
                passed=form.cleaned_data["passed"],
                comment=form.cleaned_data["comment"],
                version=form.cleaned_data["version"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            _flash(request, exc)
        else:
            if review.passed:
                messages.success(request, _("The exit is closed: passed."))
            else:
                messages.warning(request, _("The exit is closed: failed. A make-up task has been opened."))
        return redirect("rotation:blocks_block", uuid=uuid)


# --- lists ----------------------------------------------------------------------------------------


class ExitInboxView(LoginRequiredMixin, View):
    """Exits waiting for me: assessments (supervisor), theory scores (secretary, head), agreements, base reviews."""

    def get(self, request):
        if not request.user.scope.has_role(*STAFF_ROLES):
            deny(request)
        due = exits.due_for(request.user)
        sections = [
            ("assess", _("Assessments to fill in"), list(due["assess"][:200])),
            ("theory", _("Theory exam scores to enter"), list(due["theory"][:200])),
            ("head", _("Exits waiting for the department head's agreement"), list(due["head"][:200])),
            ("base", _("Exits waiting for the base's review"), list(due["base"][:200])),
        ]
        return render(request, "rotation/blocks/exits.html", {"sections": sections})


class MyExitView(LoginRequiredMixin, View):
    """The resident's blocks so far with their entry education and 出科; the current one first."""

    def get(self, request):
        if not request.user.scope.is_resident:
            deny(request)
        today = timezone.localdate()
        blocks = list(
            RotationBlock.objects.filter(resident__user=request.user, start_date__lte=today)
            .select_related("department", "supervisor", "entry_education", "exit_review")
            .order_by("-start_date")
        )
        current = next((b for b in blocks if b.end_date >= today), None)
        rows = []
        for block in blocks:
            education = getattr(block, "entry_education", None) if _has(block, "entry_education") else None
            review = block.exit_review if _has(block, "exit_review") else None
            rows.append({"block": block, "education": education, "review": review})
        context = {
            "rows": rows,
            "current": current,
            "summary_open": exits.summary_open(current) if current else False,
            "summary_opens_on": exits.summary_opens_on(current) if current else None,
        }
        return render(request, "rotation/blocks/mine.html", context)


def _has(block: RotationBlock, relation: str) -> bool:
    try:
        getattr(block, relation)
    except (EntryEducation.DoesNotExist, ExitReview.DoesNotExist):
        return False
    return True


# --- entry-education completion ---------------------------------------------------------------------


def _period(request) -> tuple[datetime.date, datetime.date]:
    first, last = entry_education.default_period()
    try:
        first = datetime.date.fromisoformat(request.GET.get("from") or "") if request.GET.get("from") else first
        last = datetime.date.fromisoformat(request.GET.get("to") or "") if request.GET.get("to") else last
    except ValueError:
        messages.error(request, _("Enter dates as YYYY-MM-DD; the last twelve months are shown."))
        first, last = entry_education.default_period()
    if last < first:
        first, last = last, first
    return first, last


def _viewable_bases(user):
    hospitals = office_hospitals(user)
    return SpecialtyBase.objects.filter(
        Q(pk__in=user.scope.bases(*BASE_MANAGERS)) | Q(hospital_id__in=hospitals)
    ).select_related("hospital")


class EntryIndexView(LoginRequiredMixin, View):
    """The bases and departments whose entry-education completion a user follows."""

    def get(self, request):
        if not (may_view_departments(request.user)):
            deny(request)
        first, last = _period(request)
        bases = list(_viewable_bases(request.user).order_by("hospital__kind", "code"))
        departments = list(viewable_departments(request.user).order_by("hospital__kind", "code")[:300])
        if len(bases) == 1 and not request.GET:
            return redirect("rotation:blocks_entry_base", uuid=bases[0].uuid)
        if not bases and len(departments) == 1 and not request.GET:
            return redirect("rotation:blocks_entry_department", uuid=departments[0].uuid)
        rates = []
        for department in departments:
            rates.append((department, entry_education.completion_rate(department, first, last)))
        return render(
            request,
            "rotation/blocks/entry_index.html",
            {"bases": bases, "rates": rates, "first": first, "last": last},
        )


class EntryBaseView(LoginRequiredMixin, View):
    """The departments of a base with their entry-education completion (target 100 %)."""

    def get(self, request, uuid):
        if not (request.user.scope.bases(*BASE_MANAGERS) or office_hospitals(request.user)):
            deny(request)
        base = _viewable_bases(request.user).filter(uuid=uuid).first()
        if base is None:
            audit_record(
                action="access.not_found",
                outcome="denied",
                acting_user=request.user,
                model="accounts.specialtybase",
                lookup=f"uuid={uuid}",
            )
            raise Http404
        first, last = _period(request)
        rows = entry_education.base_rates(base, first, last)
        started = sum(c.started for _d, c in rows)
        confirmed = sum(c.confirmed for _d, c in rows)
        total = entry_education.Completion(started, confirmed, sum(c.recorded for _d, c in rows))
        return render(
            request,
            "rotation/blocks/entry_base.html",
            {"base": base, "rows": rows, "total": total, "first": first, "last": last},
        )


class EntryDepartmentView(LoginRequiredMixin, View):
    """A department's entry education: the rate over a period and every block started in it."""

    def get(self, request, uuid):
        if not may_view_departments(request.user):
            deny(request)
        department = department_or_404(request.user, uuid)
        first, last = _period(request)
        blocks = list(
            entry_education.blocks_started(RotationBlock.objects.filter(department=department), first, last)
            .select_related("resident__user", "supervisor", "entry_education__given_by")
            .order_by("-start_date", "resident__user__real_name")[:500]
        )
        rows = [{"block": b, "education": getattr(b, "entry_education", None) if _has(b, "entry_education") else None}
                for b in blocks]  # fmt: skip
        context = {
            "department": department,
            "completion": entry_education.completion_rate(department, first, last),
            "rows": rows,
            "first": first,
            "last": last,
            "topics": entry_education.topics_for(department),
            "own_topics": entry_education.has_own_topics(department),
            "may_edit_topics": managed_departments(request.user).filter(pk=department.pk).exists(),
        }
        return render(request, "rotation/blocks/entry_department.html", context)


class EntryTopicsView(LoginRequiredMixin, View):
    """The department's own checklist (secretary, head, base managers, office); empty = the hospital's default."""

    def _department(self, request, uuid):
        department = managed_departments(request.user).filter(uuid=uuid).select_related("hospital").first()
        if department is None:
            if not may_view_departments(request.user):
                deny(request)
            department_or_404(request.user, uuid)  # 404 outside scope, audited
            deny(request)  # visible (e.g. to a clerk) but not theirs to edit
        return department

    def get(self, request, uuid):
        department = self._department(request, uuid)
        own = entry_education.has_own_topics(department)
        titles = "\n".join(t.title for t in entry_education.topics_for(department)) if own else ""
        form = TopicsForm(initial={"titles": titles})
        defaults = entry_education.ensure_default_topics(entry_education.main_hospital_id(department))
        return render(
            request, "rotation/blocks/entry_topics.html", {"department": department, "form": form, "defaults": defaults}
        )

    def post(self, request, uuid):
        department = self._department(request, uuid)
        form = TopicsForm(request.POST)
        if form.is_valid():
            try:
                entry_education.entry_topics_set(
                    department=department, titles=form.cleaned_data["titles"], acting_user=request.user
                )
            except ValidationError as exc:
                form.add_error("titles", exc)
            else:
                messages.success(request, _("The entry-education checklist is saved."))
                return redirect("rotation:blocks_entry_department", uuid=department.uuid)
        defaults = entry_education.ensure_default_topics(entry_education.main_hospital_id(department))
        return render(
            request,
            "rotation/blocks/entry_topics.html",
            {"department": department, "form": form, "defaults": defaults},
            status=400,
        )
