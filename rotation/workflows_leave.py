"""Leave's approval workflow and the relation "the block's supervisor" (the lead imports this in apps.ready).

The default chain goes by length, as the shipped rules do: the block's supervisor, then the
department head; over 3 days also the base director, over 30 days also the training office. The
office edits the chain as data (approvals' chain editing); the conditions read `days` from the
request's context.
"""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from approvals.registry import Relation, StepSpec, Workflow, register_relation, register_workflow

from .services import leave

register_relation(
    Relation(
        code=leave.SUPERVISOR_RELATION,
        label=_("the supervisor of the rotation block"),
        resolve=leave.block_supervisor,
    )
)

register_workflow(
    Workflow(
        code=leave.LEAVE_WORKFLOW,
        label=_("Leave request"),
        default_steps=(
            StepSpec(name=_("Supervising doctor"), role=Role.SUPERVISOR, relation=leave.SUPERVISOR_RELATION),
            StepSpec(name=_("Department head"), role=Role.DEPARTMENT_HEAD),
            StepSpec(name=_("Base director"), role=Role.BASE_DIRECTOR, condition=("days", "gt", 3)),
            StepSpec(name=_("Training office"), role=Role.TRAINING_OFFICE, condition=("days", "gt", 30)),
        ),
        on_approved=leave.on_leave_approved,
        on_rejected=leave.on_leave_rejected,
        on_returned=leave.on_leave_returned,
        on_withdrawn=leave.on_leave_withdrawn,
        on_resubmitted=leave.on_leave_resubmitted,
        withdraw_until_first_decision=True,
        detail_template="rotation/leave/approval_detail.html",
    )
)
