"""The resident app's approval workflow: training changes, decided by the base director, then the office."""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from approvals.registry import StepSpec, Workflow, register_workflow

from . import changes

register_workflow(
    Workflow(
        code=changes.TRAINING_CHANGE_WORKFLOW,
        label=_("Training change"),
        default_steps=(
            StepSpec(name=_("Base director review"), role=Role.BASE_DIRECTOR),
            StepSpec(name=_("Training office approval"), role=Role.TRAINING_OFFICE),
        ),
        on_approved=changes.on_change_approved,
        on_rejected=changes.on_change_rejected,
        on_withdrawn=changes.on_change_withdrawn,
        detail_template="residents/includes/training_change_target.html",
    )
)
