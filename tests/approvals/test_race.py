"""Two approvers press "approve" on the same step at the same moment, on two database connections."""

import threading

import pytest
from django.db import connection, connections

from approvals.choices import RequestStatus
from approvals.services import ApprovalConflict, approval_decide
from tests.factories.accounts import RoleAssignmentFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_approvals_record_exactly_one_decision(leave, org):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("needs two real connections to one database: runs on PostgreSQL in CI")
    second = UserFactory(username="second_supervisor")
    RoleAssignmentFactory(user=second, role="supervisor", department=org.cardiology)
    request = leave(2)
    first = request.current_approvers.exclude(pk=second.pk).get()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(user):
        try:
            barrier.wait(timeout=5)
            approval_decide(request=request, decision="approve", acting_user=user, expected_version=request.version)
            outcomes[user.username] = "won"
        except ApprovalConflict:
            outcomes[user.username] = "conflict"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(u,)) for u in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    assert sorted(outcomes.values()) == ["conflict", "won"]
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert request.current_step.name == "科主任审批"
    assert request.actions.filter(kind="approve").count() == 1
    assert request.version == 1
