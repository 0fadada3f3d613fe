import pytest
from django.test import Client
from django.urls import reverse

from approvals.choices import RequestStatus
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db


def test_everyone_signed_in_has_an_inbox_and_a_list_of_own_requests(client, personas):
    for name in ("approvals:inbox", "approvals:handled", "approvals:mine"):
        expected = {p: (LOGIN if p == "anonymous" else 200) for p in personas}
        assert_access(client, personas, expected, reverse(name))


def test_a_request_is_visible_only_to_the_people_involved(client, personas, leave):
    request = leave(2)
    url = reverse("approvals:detail", args=[request.uuid])
    assert_access(
        client,
        personas,
        {
            "anonymous": LOGIN,
            "outsider": 404,
            "other_resident": 404,
            "other_director": 404,
            "secretary": 404,
            "clerk": 404,
            "auditor": 404,
            "resident": 200,
            "supervisor": 200,
            "office": 200,
        },
        url,
    )


def test_deciding_through_the_view_requires_being_the_current_approver(client, personas, leave):
    request = leave(2)
    url = reverse("approvals:decide", args=[request.uuid])
    data = {"decision": "approve", "version": request.version}
    assert_access(
        client,
        personas,
        {"anonymous": LOGIN, "outsider": 404, "resident": 403, "office": 403},
        url,
        method="post",
        data=data,
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and request.version == 0


def test_the_inbox_shows_the_waiting_request_and_its_count(login, supervisor, leave):
    request = leave(2)
    response = login(supervisor).get(reverse("approvals:inbox"))
    assert request.title in response.content.decode()
    assert response.context["inbox_count"] == 1
    home = login(supervisor).get(reverse("core:home"))
    assert 'data-testid="nav-badge">1<' in home.content.decode()


def test_a_supervisor_approves_from_the_page_and_the_head_sees_it_next(login, supervisor, head, leave):
    request = leave(2)
    client = login(supervisor)
    page = client.get(reverse("approvals:detail", args=[request.uuid]))
    assert page.context["can_decide"] is True
    response = client.post(
        reverse("approvals:decide", args=[request.uuid]),
        {"decision": "approve", "version": request.version},
        follow=True,
    )
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.current_step.name == "科主任审批"
    assert login(head).get(reverse("approvals:inbox")).context["inbox_count"] == 1


def test_rejecting_without_a_reason_shows_the_error_next_to_the_field_and_keeps_the_request(login, supervisor, leave):
    request = leave(2)
    response = login(supervisor).post(
        reverse("approvals:decide", args=[request.uuid]), {"decision": "reject", "version": request.version}
    )
    assert response.status_code == 400
    assert response.context["decision_form"].errors["comment"]
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_the_second_of_two_approvers_sees_a_clear_message(login, supervisor, org, leave):
    from tests.factories.accounts import RoleAssignmentFactory, UserFactory

    colleague = UserFactory(username="colleague")
    RoleAssignmentFactory(user=colleague, role="supervisor", department=org.cardiology)
    request = leave(2)
    version = request.version
    login(supervisor).post(
        reverse("approvals:decide", args=[request.uuid]), {"decision": "approve", "version": version}
    )
    response = login(colleague).post(
        reverse("approvals:decide", args=[request.uuid]), {"decision": "approve", "version": version}, follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("已由他人处理" in m or "already been handled" in m for m in messages)
    assert request.actions.filter(kind="approve").count() == 1


def test_the_submitter_withdraws_and_resubmits_through_the_views(login, resident, supervisor, head, leave):
    request = leave(2)
    client = login(supervisor)
    client.post(reverse("approvals:decide", args=[request.uuid]), {"decision": "approve", "version": 0})
    login(head).post(
        reverse("approvals:decide", args=[request.uuid]), {"decision": "return", "version": 1, "comment": "补材料"}
    )
    client = login(resident)
    page = client.get(reverse("approvals:detail", args=[request.uuid]))
    assert page.context["can_resubmit"] and page.context["can_withdraw"]
    assert "补材料" in page.content.decode()
    client.post(reverse("approvals:resubmit", args=[request.uuid]), {"comment": "已补"})
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    client.post(reverse("approvals:withdraw", args=[request.uuid]), {})
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN


def test_only_the_submitter_may_withdraw_or_resubmit(client, personas, leave):
    request = leave(2)
    for name in ("approvals:withdraw", "approvals:resubmit"):
        url = reverse(name, args=[request.uuid])
        assert_access(
            client,
            personas,
            {"anonymous": LOGIN, "outsider": 404, "supervisor": 403, "office": 403},
            url,
            method="post",
        )
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_the_inbox_has_a_bounded_number_of_queries(login, supervisor, leave, django_assert_max_num_queries):
    for days in range(1, 16):
        leave(days)
    client = login(supervisor)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("approvals:inbox"))
    assert len(response.context["object_list"]) == 15


def test_posts_without_a_csrf_token_are_refused(resident, leave):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident)
    request = leave(2)
    response = client.post(reverse("approvals:withdraw", args=[request.uuid]), {})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "pending"


def test_approvers_always_see_the_inbox_panel_residents_only_when_asked_to_act(login, resident, supervisor):
    assert 'data-testid="inbox-panel"' in login(supervisor).get(reverse("core:home")).content.decode()
    assert 'data-testid="inbox-panel"' not in login(resident).get(reverse("core:home")).content.decode()
