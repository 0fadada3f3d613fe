"""出科: leaving a department, from the resident's self-summary to the base's review (standards.md §6.1).

Stages (ExitReview.stage):
1. SUMMARY: in the last EXIT_SUMMARY_DAYS of the block (setting ROTATION_EXIT_SUMMARY_DAYS, default 14)
   the resident writes the 出科小结 and hands it in → ASSESSMENT. The form's `require_evaluation`
   gate ("evaluate the teacher and the department first") waits for the evaluation app: while it is
   on, the summary is refused with "the evaluation is not available yet"; it is off by default.
2. ASSESSMENT: the block's supervisor (the head when the block has none) fills the 出科考核表 (ExitForm
   items and points); the theory item comes from the theory exam score (0–100) the department's
   secretary or head enters until the exams app provides it. The automatic-fail rules are
   evaluated then and stored with the total → HEAD.
3. HEAD: the department head agrees (同意出科) or not, with a comment (required when not) → BASE.
4. BASE: the base's director or secretary closes it: PASSED only when nothing fails (no automatic
   fail, total ≥ pass mark, the head agreed); FAILED otherwise (a comment is required to fail a
   review that would pass). A failed exit opens a MakeupTask and tells the resident and the office.

Automatic fail rules (each with its reason, shown before and after the assessment):
- caseload: the lowest completion of 病种/病例/操作 (rotation.services.caseload_progress.progress) below the
  form's quota_gate (80 %); not applicable when the department has no quotas;
- leave over the hospital's share of the block (rotation.services.leave.block_leave_exceeds, 1/3);
- a serious disciplinary record: ConductRecord has no severity, so an *open* (is_closed=False)
  disciplinary record dated within the block counts as serious.

Every step is audited, bumps `version` (compare-and-swap: a form posted against an older version is
refused, so two people editing at once cannot overwrite each other) and notifies the next actor.
"""

import datetime
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import Role
from accounts.models import Department, RoleAssignment, User
from core.audit import audit_record
from notices.notify import notify
from residents.choices import ConductKind
from residents.models import ConductRecord

from ..choices import CaseloadKind, ExitStage
from ..models import ExitForm, ExitReview, MakeupTask, RotationBlock
from ..permissions import BASE_MANAGERS

EXIT_SUMMARY_DAYS = getattr(settings, "ROTATION_EXIT_SUMMARY_DAYS", 14)
THEORY_KEY = "theory"
DAILY, EXAM = "daily", "exam"
OPEN_STAGES = (ExitStage.SUMMARY, ExitStage.ASSESSMENT, ExitStage.HEAD, ExitStage.BASE)
ONE_DECIMAL = Decimal("0.1")

#: Form B of standards.md §6.1: daily performance 50 points, the exit exam 50 (theory 10, skills 40).
DEFAULT_ITEMS = (
    ("ethics", DAILY, 8, gettext_lazy("Professional ethics (职业道德)")),
    ("attitude", DAILY, 7, gettext_lazy("Work attitude (工作态度)")),
    ("communication", DAILY, 7, gettext_lazy("Communication with patients and colleagues (沟通)")),
    ("attendance", DAILY, 7, gettext_lazy("Attendance (出勤)")),
    ("records", DAILY, 7, gettext_lazy("Quality of medical records (病历质量)")),
    ("handbook", DAILY, 7, gettext_lazy("Registration handbook (登记手册)")),
    ("learning", DAILY, 7, gettext_lazy("Case discussions and learning (业务学习)")),
    (THEORY_KEY, EXAM, 10, gettext_lazy("Theory exam (理论考核)")),
    ("skills", EXAM, 40, gettext_lazy("Clinical skills exam (技能考核)")),
)

STALE = gettext_lazy("Someone else changed this exit review in the meantime. Reload the page and try again.")


# --- the form ------------------------------------------------------------------------------------


def _main_hospital_id(department: Department) -> int:
    return department.hospital.parent_id or department.hospital_id


def default_form(hospital_id: int) -> ExitForm:
    """The hospital's default 出科考核表, created in the hospital language on first use."""
    form = ExitForm.objects.filter(hospital_id=hospital_id, department__isnull=True).first()
    if form is not None:
        return form
    with translation.override(settings.LANGUAGE_CODE):
        items = [
            {"key": key, "section": section, "points": points, "label": str(label)}
            for key, section, points, label in DEFAULT_ITEMS
        ]
        name = str(gettext_lazy("Exit assessment form"))
    form, _created = ExitForm.objects.get_or_create(
        hospital_id=hospital_id, department=None, defaults={"name": name, "items": items}
    )
    return form


def form_for(department: Department) -> ExitForm:
    """The department's own form, else the hospital's default one."""
    return ExitForm.objects.filter(department=department).first() or default_form(_main_hospital_id(department))


def items_of(form: ExitForm) -> list[dict]:
    """The form's items, each with Decimal points; the theory item marked."""
    items = []
    for item in form.items or []:
        points = Decimal(str(item.get("points", 0)))
        items.append({**item, "points": points, "is_theory": item.get("key") == THEORY_KEY})
    return items


def max_total(form: ExitForm) -> Decimal:
    return sum((i["points"] for i in items_of(form)), Decimal(0))


# --- windows and look-ups --------------------------------------------------------------------------


def summary_opens_on(block: RotationBlock) -> datetime.date:
    return block.end_date - datetime.timedelta(days=EXIT_SUMMARY_DAYS)


def summary_open(block: RotationBlock, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    return today >= summary_opens_on(block) and today >= block.start_date


def review_of(block: RotationBlock) -> ExitReview | None:
    return ExitReview.objects.filter(block=block).first()


def _ensure(block: RotationBlock) -> ExitReview:
    """The block's review, locked; created (stage SUMMARY, with the department's form) when missing."""
    review, _created = ExitReview.objects.get_or_create(block=block, defaults={"form": form_for(block.department)})
    return ExitReview.objects.select_for_update().get(pk=review.pk)


def _locked(review: ExitReview, version: int | None) -> ExitReview:
    locked = ExitReview.objects.select_for_update().get(pk=review.pk)
    if version is not None and locked.version != version:
        raise ValidationError(str(STALE), code="stale")
    return locked


def _expect(review: ExitReview, *stages: str) -> None:
    if review.stage not in stages:
        raise ValidationError(
            _("This exit review is at the stage “%(stage)s”; this step is not possible now.")
            % {"stage": review.get_stage_display()},
            code="wrong_stage",
        )


def _save(review: ExitReview, fields: list[str]) -> None:
    review.version += 1
    review.save(update_fields=[*fields, "version"])


def _url(block: RotationBlock) -> str:
    return reverse("rotation:blocks_block", args=[block.uuid])


def _role_users(role: str, **scope) -> QuerySet[User]:
    return RoleAssignment.objects.active_on().filter(role=role, **scope).holders()


def department_heads(department: Department) -> QuerySet[User]:
    return _role_users(Role.DEPARTMENT_HEAD, department=department)


def base_managers(block: RotationBlock) -> QuerySet[User]:
    return RoleAssignment.objects.active_on().filter(role__in=BASE_MANAGERS, base_id=block.resident.base_id).holders()


def office_users(block: RotationBlock) -> QuerySet[User]:
    return _role_users(Role.TRAINING_OFFICE, hospital_id=block.resident.base.hospital_id)


def _who(block: RotationBlock) -> str:
    period = f"{block.start_date:%Y-%m-%d} – {block.end_date:%Y-%m-%d}"
    return f"{block.resident.user.display_name} · {block.department.name} · {period}"


# --- automatic fail rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One automatic-fail rule's outcome for a block: failed, passed or not applicable, with the reason."""

    code: str
    label: str
    failed: bool
    applicable: bool
    detail: str


def _caseload_completion(block: RotationBlock) -> dict[str, float] | None:
    """Completion per kind (病种, 病例, 操作 with 手术) from rotation.services.caseload_progress; None = no quotas."""
    from .caseload_progress import progress

    result = progress(block)
    if not result.has_standards:
        return None
    return {kind.kind: kind.completion for kind in result.kinds if kind.lines}


def _leave_exceeds(block: RotationBlock) -> tuple[bool, Decimal]:
    """Approved leave in the block against the hospital's share (rotation.services.leave)."""
    from .leave import block_leave_days, block_leave_exceeds

    return block_leave_exceeds(block), block_leave_days(block)


def serious_discipline(block: RotationBlock) -> list[ConductRecord]:
    """Open disciplinary records dated within the block (ConductRecord has no severity; see the module docstring)."""
    return list(
        ConductRecord.objects.filter(
            resident_id=block.resident_id,
            kind=ConductKind.DISCIPLINE,
            is_closed=False,
            date__gte=block.start_date,
            date__lte=block.end_date,
        )
    )


def _percent(value: float) -> str:
    return f"{math.floor(value * 1000) / 10:g} %"


def auto_fail_rules(block: RotationBlock, form: ExitForm) -> list[Rule]:
    """Every automatic-fail rule evaluated now, in the viewer's language."""
    rules = []
    gate = float(form.quota_gate)
    completion = _caseload_completion(block)
    if completion is None:
        rules.append(Rule("quota", _("Caseload quotas"), False, False, _("The department has no caseload quotas.")))
    else:
        labels = dict(CaseloadKind.choices)
        below = {k: v for k, v in completion.items() if v < gate}
        parts = ", ".join(f"{labels.get(k, k)} {_percent(v)}" for k, v in sorted(completion.items()))
        if below:
            detail = _("Caseload completion below %(gate)s: %(kinds)s.") % {
                "gate": _percent(gate),
                "kinds": ", ".join(f"{labels.get(k, k)} {_percent(v)}" for k, v in sorted(below.items())),
            }
        else:
            detail = _("Caseload completion at least %(gate)s: %(kinds)s.") % {"gate": _percent(gate), "kinds": parts}
        rules.append(Rule("quota", _("Caseload quotas"), bool(below), True, detail))
    exceeds, days = _leave_exceeds(block)
    block_days = (block.end_date - block.start_date).days + 1
    rules.append(
        Rule(
            "leave",
            _("Leave"),
            exceeds,
            True,
            (
                _("%(days)s days of leave in a block of %(total)s days: more than allowed.")
                if exceeds
                else _("%(days)s days of leave in a block of %(total)s days.")
            )
            % {"days": f"{days.normalize():f}" if isinstance(days, Decimal) else days, "total": block_days},
        )
    )
    records = serious_discipline(block)
    rules.append(
        Rule(
            "discipline",
            _("Disciplinary record"),
            bool(records),
            True,
            _("Open disciplinary record during the rotation: %(titles)s.")
            % {"titles": "; ".join(f"{r.title} ({r.date:%Y-%m-%d})" for r in records)}
            if records
            else _("No open disciplinary record during the rotation."),
        )
    )
    return rules


def stored_reasons(review: ExitReview) -> list[str]:
    """The reasons stored at the assessment (already in the hospital language)."""
    return [item.get("detail", "") for item in review.auto_fail or []]


def fail_reasons(review: ExitReview) -> list[str]:
    """Everything that makes the review fail: the automatic rules, the total, the head's disagreement."""
    reasons = stored_reasons(review)
    form = review.form
    if review.total is not None and form is not None and review.total < form.pass_mark:
        reasons.append(
            _("The total %(total)s is below the pass mark %(mark)s.") % {"total": review.total, "mark": form.pass_mark}
        )
    if review.head_agreed is False:
        reasons.append(_("The department head did not agree to the exit."))
    return reasons


# --- steps -----------------------------------------------------------------------------------------


@transaction.atomic
def exit_summary_submit(
    *, block: RotationBlock, summary: str, version: int | None = None, acting_user: User
) -> ExitReview:
    """The resident hands in (or revises, until the supervisor assesses) the 出科小结."""
    block = RotationBlock.objects.select_related("resident__user", "department__hospital").get(pk=block.pk)
    summary = (summary or "").strip()
    if len(summary) < 20:
        raise ValidationError(_("Write a self-summary of at least 20 characters."), code="too_short")
    if not summary_open(block):
        raise ValidationError(
            _("The self-summary opens on %(day)s, %(days)s days before the rotation ends.")
            % {"day": summary_opens_on(block), "days": EXIT_SUMMARY_DAYS},
            code="too_early",
        )
    review = _ensure(block)
    if version is not None and review.version != version:
        raise ValidationError(str(STALE), code="stale")
    _expect(review, ExitStage.SUMMARY, ExitStage.ASSESSMENT)
    form = review.form or form_for(block.department)
    if form.require_evaluation:
        raise ValidationError(
            _(
                "Evaluate your supervising doctor and the department before the self-summary. "
                "The evaluation is not available yet; ask the training office to switch this requirement off."
            ),
            code="evaluation_first",
        )
    first = review.stage == ExitStage.SUMMARY
    before = review.summary
    review.summary, review.summary_at, review.stage, review.form = summary, timezone.now(), ExitStage.ASSESSMENT, form
    _save(review, ["summary", "summary_at", "stage", "form"])
    audit_record(
        action="rotation.exit_summary" if first else "rotation.exit_summary_revise",
        target=review,
        acting_user=acting_user,
        changes={
            "summary": [before or None, summary],
            "stage": [ExitStage.SUMMARY if first else review.stage, review.stage],
        },
    )
    if first:
        assessors = [block.supervisor] if block.supervisor_id else list(department_heads(block.department))
        notify(
            assessors,
            title=gettext_lazy("An exit assessment is waiting for you"),
            body=_who(block),
            url=_url(block),
            kind="rotation.exit_assess",
        )
        if review.theory_score is None:
            secretaries = _role_users(Role.TEACHING_SECRETARY, department=block.department)
            notify(
                secretaries,
                title=gettext_lazy("Enter the exit theory score"),
                body=_who(block),
                url=_url(block),
                kind="rotation.exit_theory",
            )
    return review


def _score(value, *, label: str, maximum: Decimal) -> Decimal:
    try:
        number = Decimal(str(value)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise ValidationError(_("%(item)s: enter a number.") % {"item": label}, code="not_a_number") from None
    if number < 0:
        raise ValidationError(_("%(item)s: the score cannot be negative.") % {"item": label}, code="negative")
    if number > maximum:
        raise ValidationError(
            _("%(item)s: at most %(max)s points.") % {"item": label, "max": f"{maximum.normalize():f}"},
            code="too_high",
        )
    return number


@transaction.atomic
def exit_theory_enter(*, block: RotationBlock, score, version: int | None = None, acting_user: User) -> ExitReview:
    """The department enters the exit theory exam score (0–100), before the assessment, until the exams app does."""
    block = RotationBlock.objects.select_related("department__hospital").get(pk=block.pk)
    number = _score(score, label=_("Theory exam score"), maximum=Decimal(100))
    review = _ensure(block)
    if version is not None and review.version != version:
        raise ValidationError(str(STALE), code="stale")
    _expect(review, ExitStage.SUMMARY, ExitStage.ASSESSMENT)
    before = review.theory_score
    review.theory_score = number
    if review.form_id is None:
        review.form = form_for(block.department)
    _save(review, ["theory_score", "form"])
    audit_record(
        action="rotation.exit_theory",
        target=review,
        acting_user=acting_user,
        changes={"theory_score": [str(before) if before is not None else None, str(number)]},
    )
    return review


def theory_points(review: ExitReview, form: ExitForm) -> Decimal | None:
    item = next((i for i in items_of(form) if i["is_theory"]), None)
    if item is None or review.theory_score is None:
        return None
    return (review.theory_score * item["points"] / 100).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@transaction.atomic
def exit_assess(
    *,
    review: ExitReview,
    scores: dict[str, object],
    comment: str = "",
    version: int | None = None,
    acting_user: User,
) -> ExitReview:
    """The supervisor's 出科考核表: each item within its points; the total and the automatic-fail rules are stored."""
    review = _locked(review, version)
    _expect(review, ExitStage.ASSESSMENT)
    block = RotationBlock.objects.select_related("resident__user", "resident__base", "department__hospital").get(
        pk=review.block_id
    )
    form = review.form or form_for(block.department)
    items = items_of(form)
    theory = theory_points(review, form)
    if theory is None and any(i["is_theory"] for i in items):
        raise ValidationError(
            _("The department has not entered the theory exam score yet; ask the teaching secretary."), code="no_theory"
        )
    given: dict[str, float] = {}
    errors = []
    for item in items:
        if item["is_theory"]:
            continue
        value = scores.get(item["key"])
        if value in (None, ""):
            errors.append(_("%(item)s: enter a score.") % {"item": item["label"]})
            continue
        try:
            given[item["key"]] = float(_score(value, label=item["label"], maximum=item["points"]))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    total = sum((Decimal(str(v)) for v in given.values()), Decimal(0)) + (theory or 0)
    with translation.override(settings.LANGUAGE_CODE):  # stored for everyone: in the hospital language
        rules = auto_fail_rules(block, form)
    failed = [{"code": r.code, "detail": r.detail} for r in rules if r.failed]
    review.form, review.scores, review.total, review.auto_fail = form, given, total.quantize(ONE_DECIMAL), failed
    review.assessor, review.assessed_at, review.assessor_comment = acting_user, timezone.now(), comment.strip()
    review.stage = ExitStage.HEAD
    _save(review, ["form", "scores", "total", "auto_fail", "assessor", "assessed_at", "assessor_comment", "stage"])
    audit_record(
        action="rotation.exit_assess",
        target=review,
        acting_user=acting_user,
        changes={
            "scores": [None, given],
            "total": [None, str(review.total)],
            "stage": [ExitStage.ASSESSMENT, ExitStage.HEAD],
        },
        auto_fail=",".join(r.code for r in rules if r.failed) or "none",
    )
    notify(
        department_heads(block.department),
        title=gettext_lazy("An exit is waiting for your agreement"),
        body=f"{_who(block)} · {review.total}",
        url=_url(block),
        kind="rotation.exit_head",
    )
    return review


@transaction.atomic
def exit_head_decide(
    *, review: ExitReview, agreed: bool, comment: str = "", version: int | None = None, acting_user: User
) -> ExitReview:
    """The department head agrees to the exit (同意出科) or not; disagreeing needs a comment. Then the base reviews."""
    review = _locked(review, version)
    _expect(review, ExitStage.HEAD)
    comment = (comment or "").strip()
    if not agreed and not comment:
        raise ValidationError(_("Say why you do not agree to the exit."), code="comment_required")
    block = RotationBlock.objects.select_related("resident__user", "resident__base", "department").get(
        pk=review.block_id
    )
    review.head, review.head_agreed, review.head_comment, review.head_at = acting_user, agreed, comment, timezone.now()
    review.stage = ExitStage.BASE
    _save(review, ["head", "head_agreed", "head_comment", "head_at", "stage"])
    audit_record(
        action="rotation.exit_head",
        target=review,
        acting_user=acting_user,
        changes={"head_agreed": [None, agreed], "stage": [ExitStage.HEAD, ExitStage.BASE]},
        comment=comment,
    )
    notify(
        base_managers(block),
        title=gettext_lazy("An exit is waiting for the base's review"),
        body=_who(block),
        url=_url(block),
        kind="rotation.exit_base",
    )
    return review


@transaction.atomic
def exit_review_close(
    *, review: ExitReview, passed: bool, comment: str = "", version: int | None = None, acting_user: User
) -> ExitReview:
    """The base closes the exit: passed only when nothing fails; a failed exit opens a make-up task."""
    review = _locked(review, version)
    _expect(review, ExitStage.BASE)
    comment = (comment or "").strip()
    block = RotationBlock.objects.select_related("resident__user", "resident__base", "department").get(
        pk=review.block_id
    )
    review.block = block
    reasons = fail_reasons(review)
    if passed and reasons:
        raise ValidationError([_("This exit cannot pass:")] + reasons, code="cannot_pass")
    if not passed and not reasons and not comment:
        raise ValidationError(_("Say why this exit fails."), code="comment_required")
    review.passed, review.reviewer, review.reviewed_at, review.review_comment = (
        passed,
        acting_user,
        timezone.now(),
        comment,
    )
    review.stage = ExitStage.PASSED if passed else ExitStage.FAILED
    _save(review, ["passed", "reviewer", "reviewed_at", "review_comment", "stage"])
    audit_record(
        action="rotation.exit_close",
        target=review,
        acting_user=acting_user,
        changes={"passed": [None, passed], "stage": [ExitStage.BASE, review.stage]},
        total=str(review.total),
    )
    if passed:
        notify(
            [block.resident.user],
            title=gettext_lazy("You passed the exit assessment"),
            body=f"{block.department.name} · {review.total}",
            url=_url(block),
            kind="rotation.exit_passed",
        )
        return review
    with translation.override(settings.LANGUAGE_CODE):
        reason = "\n".join(fail_reasons(review) + ([comment] if comment else []))
    task = MakeupTask.objects.create(resident=block.resident, review=review, reason=reason)
    audit_record(action="rotation.makeup_task_open", target=task, acting_user=acting_user, review=str(review.uuid))
    notify(
        [block.resident.user],
        title=gettext_lazy("You did not pass the exit assessment; a make-up is required"),
        body=f"{block.department.name} · {reason}",
        url=_url(block),
        kind="rotation.exit_failed",
    )
    notify(
        office_users(block),
        title=gettext_lazy("A failed exit needs a make-up"),
        body=f"{_who(block)}\n{reason}",
        url=_url(block),
        kind="rotation.makeup_task",
    )
    return review


# --- inboxes -----------------------------------------------------------------------------------


def due_for(user) -> dict[str, QuerySet[ExitReview]]:
    """Exit reviews waiting for this user's step: assessments, theory scores, agreements, base reviews."""
    scope = user.scope
    base = ExitReview.objects.select_related("block__resident__user", "block__department", "block__supervisor")
    heads = scope.departments(Role.DEPARTMENT_HEAD)
    department_staff = scope.departments(Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD)
    bases = scope.bases(*BASE_MANAGERS)
    return {
        "assess": base.filter(
            Q(block__supervisor_id=user.pk) | Q(block__supervisor__isnull=True, block__department_id__in=heads),
            stage=ExitStage.ASSESSMENT,
        ).order_by("block__end_date"),
        "theory": base.filter(
            block__department_id__in=department_staff,
            stage__in=[ExitStage.SUMMARY, ExitStage.ASSESSMENT],
            theory_score__isnull=True,
        ).order_by("block__end_date"),
        "head": base.filter(block__department_id__in=heads, stage=ExitStage.HEAD).order_by("block__end_date"),
        "base": base.filter(
            Q(block__resident__base_id__in=bases) | Q(block__department__base_id__in=bases), stage=ExitStage.BASE
        ).order_by("block__end_date"),
    }


def summary_due(user, today: datetime.date | None = None) -> list[RotationBlock]:
    """The resident's blocks whose summary window is open and whose summary is not handed in yet."""
    today = today or timezone.localdate()
    blocks = RotationBlock.objects.filter(
        resident__user_id=user.pk,
        start_date__lte=today,
        end_date__gte=today - datetime.timedelta(days=30),
        end_date__lte=today + datetime.timedelta(days=EXIT_SUMMARY_DAYS),
    ).select_related("department")
    blocks = blocks.filter(Q(exit_review__isnull=True) | Q(exit_review__stage=ExitStage.SUMMARY))
    return list(blocks.order_by("end_date"))
