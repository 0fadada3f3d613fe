"""The monthly attendance report's approval workflow: the department head, then the training office.

The request's department is the report's department, so the head step goes to that department's
head (the engine hands a step nobody can decide to the office).
"""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from approvals.registry import StepSpec, Workflow, register_workflow

from .services import attendance

register_workflow(
    Workflow(
        code=attendance.ATTENDANCE_WORKFLOW,
        label=_("Monthly attendance report"),
        default_steps=(
            StepSpec(name=_("Department head approval"), role=Role.DEPARTMENT_HEAD),
            StepSpec(name=_("Training office approval"), role=Role.TRAINING_OFFICE),
        ),
        on_approved=attendance.on_report_approved,
        on_rejected=attendance.on_report_rejected,
        on_returned=attendance.on_report_returned,
        on_withdrawn=attendance.on_report_withdrawn,
        on_resubmitted=attendance.on_report_resubmitted,
        detail_template="rotation/attendance/approval_detail.html",
    )
)
