import pytest

from accounts.choices import Role
from approvals.registry import Relation, StepSpec, Workflow, register_relation, register_workflow

CALLS: list[tuple[str, int]] = []


def _hook(name):
    def hook(*, request, acting_user):
        CALLS.append((name, request.pk))

    return hook


register_relation(
    Relation(
        code="test.supervisor_of_subject",
        label="the subject's supervisor",
        resolve=lambda request: __import__("accounts.models", fromlist=["User"]).User.objects.filter(
            role_assignments__role=Role.SUPERVISOR, role_assignments__department=request.department
        ),
    )
)

register_workflow(
    Workflow(
        code="test.leave",
        label="测试请假",
        default_steps=(
            StepSpec(name="带教审批", role=Role.SUPERVISOR, relation="test.supervisor_of_subject"),
            StepSpec(name="科主任审批", role=Role.DEPARTMENT_HEAD),
            StepSpec(name="基地审批", role=Role.BASE_DIRECTOR, condition=("days", "gt", 3)),
            StepSpec(name="培训处审批", role=Role.TRAINING_OFFICE, condition=("days", "gt", 30)),
        ),
        on_approved=_hook("approved"),
        on_rejected=_hook("rejected"),
        on_returned=_hook("returned"),
        on_withdrawn=_hook("withdrawn"),
    )
)


@pytest.fixture
def hook_calls():
    CALLS.clear()
    yield CALLS
    CALLS.clear()


@pytest.fixture
def leave(org, resident, supervisor, head, director, office):
    """Submit a leave-like request of `days` days by the resident rotating in cardiology."""
    from approvals.services import approval_submit

    def submit(days: int):
        return approval_submit(
            workflow="test.leave",
            target=resident,
            title=f"李住院 请假 {days} 天",
            acting_user=resident,
            subject=resident,
            department=org.cardiology,
            base=org.internal,
            context={"days": days},
        )

    return submit
