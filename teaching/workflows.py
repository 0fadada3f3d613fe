"""The monthly teaching plan's approval workflow: the department head (the department's teaching
director), then the training office. The request's department is the plan's, so the head step goes
to that department's head (a step nobody can decide goes to the office)."""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from approvals.registry import StepSpec, Workflow, register_workflow

from .services import plans

register_workflow(
    Workflow(
        code=plans.PLAN_WORKFLOW,
        label=_("Monthly teaching plan"),
        default_steps=(
            StepSpec(name=_("Teaching director approval"), role=Role.DEPARTMENT_HEAD),
            StepSpec(name=_("Training office approval"), role=Role.TRAINING_OFFICE),
        ),
        on_approved=plans.on_plan_approved,
        on_rejected=plans.on_plan_rejected,
        on_returned=plans.on_plan_returned,
        on_withdrawn=plans.on_plan_withdrawn,
        on_resubmitted=plans.on_plan_resubmitted,
        detail_template="teaching/plans/approval_detail.html",
    )
)
