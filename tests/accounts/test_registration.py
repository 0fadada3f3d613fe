import pytest
from django.urls import reverse

from accounts.choices import Role, UserStatus
from accounts.models import RoleAssignment, User
from approvals.models import ApprovalRequest
from tests.factories.accounts import make_id_number

pytestmark = pytest.mark.django_db


def _form(org, **overrides):
    data = {
        "real_name": "林新生",
        "id_number": make_id_number(501),
        "phone": "13912345678",
        "email": "lin@example.cn",
        "base": org.internal.pk,
        "username": "linxs",
        "password1": "Xinsheng#2025",
        "password2": "Xinsheng#2025",
    }
    return {**data, **overrides}


def test_an_applicant_registers_the_office_approves_and_the_applicant_signs_in(client, org, office):
    response = client.post(reverse("accounts:register"), _form(org))
    assert response.status_code == 200
    user = User.objects.get(username="linxs")
    assert user.status == UserStatus.PENDING and not user.is_active
    assert user.id_number == make_id_number(501)

    # pending: cannot sign in
    response = client.post(reverse("accounts:login"), {"username": "linxs", "password": "Xinsheng#2025"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session

    request = ApprovalRequest.objects.get(target_id=str(user.pk))
    client.force_login(office)
    assert request in ApprovalRequest.objects.filter(current_approvers=office)
    response = client.post(
        reverse("approvals:decide", args=[request.uuid]), {"decision": "approve", "version": request.version}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.status == UserStatus.ACTIVE
    assert RoleAssignment.objects.filter(user=user, role=Role.RESIDENT, base=org.internal).exists()

    client.logout()
    response = client.post(reverse("accounts:login"), {"username": "linxs", "password": "Xinsheng#2025"})
    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 200


def test_a_bad_id_number_is_refused_and_nothing_is_created(client, org, office):
    bad = make_id_number(502)[:-1] + ("0" if make_id_number(502)[-1] != "0" else "1")
    response = client.post(reverse("accounts:register"), _form(org, id_number=bad))
    assert response.status_code == 200
    assert "校验码" in response.content.decode() or "check digit" in response.content.decode()
    assert response.context["form"]["real_name"].value() == "林新生"
    assert not User.objects.filter(username="linxs").exists()
    assert not ApprovalRequest.objects.exists()
