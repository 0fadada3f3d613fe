"""The rotation app's approval workflow: a change to the published schedule, decided by the base director.

When nobody else directs the base (or the residents belong to two bases), the engine hands the
step to the training office.
"""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from approvals.registry import StepSpec, Workflow, register_workflow

from .services import changes

register_workflow(
    Workflow(
        code=changes.SCHEDULE_CHANGE_WORKFLOW,
        label=_("Rotation schedule change"),
        default_steps=(StepSpec(name=_("Base director approval"), role=Role.BASE_DIRECTOR),),
        on_approved=changes.on_change_approved,
        on_rejected=changes.on_change_rejected,
        on_withdrawn=changes.on_change_withdrawn,
        detail_template="rotation/changes/approval_detail.html",
    )
)
