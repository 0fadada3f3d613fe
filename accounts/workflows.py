from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from approvals.registry import StepSpec, Workflow, register_workflow

from . import services

register_workflow(
    Workflow(
        code=services.REGISTRATION_WORKFLOW,
        label=_("Account registration"),
        default_steps=(StepSpec(name=_("Training office review"), role=Role.TRAINING_OFFICE),),
        on_approved=services.registration_approved,
        on_rejected=services.registration_rejected,
        detail_template="accounts/includes/registration_target.html",
    )
)
