import pytest
from django.urls import reverse

from tests.factories.accounts import make_id_number
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db


def test_public_pages_open_without_signing_in(client, personas):
    for name in ("accounts:login", "accounts:register"):
        response = client.get(reverse(name))
        assert response.status_code == 200


def test_own_account_pages_need_a_sign_in(client, personas):
    for name in ("accounts:profile", "accounts:password_change", "core:home"):
        expected = {p: (LOGIN if p == "anonymous" else 200) for p in personas}
        assert_access(client, personas, expected, reverse(name))


def test_the_account_list_is_for_the_office_and_system_admins(client, personas):
    assert_access(
        client,
        personas,
        {
            "anonymous": LOGIN,
            "resident": 403,
            "supervisor": 403,
            "director": 403,
            "auditor": 403,
            "outsider": 403,
            "office": 200,
            "sysadmin": 200,
        },
        reverse("accounts:user_list"),
    )


def test_an_account_page_is_visible_to_its_owner_and_the_managers_only(client, personas, resident):
    url = reverse("accounts:user_detail", args=[resident.uuid])
    assert_access(
        client,
        personas,
        {
            "anonymous": LOGIN,
            "other_resident": 404,
            "supervisor": 404,
            "director": 404,
            "auditor": 404,
            "outsider": 404,
            "resident": 200,
            "office": 200,
            "sysadmin": 200,
        },
        url,
    )


def test_only_the_training_office_may_reveal_an_id_number(client, personas, resident):
    url = reverse("accounts:reveal_id", args=[resident.uuid])
    assert_access(
        client,
        personas,
        {"anonymous": LOGIN, "outsider": 404, "supervisor": 404, "resident": 403, "sysadmin": 403, "office": 200},
        url,
        method="post",
    )


def test_id_numbers_and_phones_are_masked_until_revealed_and_the_reveal_is_audited(
    login, office, resident, audit_events
):
    full = resident.id_number
    client = login(office)
    page = client.get(reverse("accounts:user_detail", args=[resident.uuid])).content.decode()
    assert full not in page and resident.phone not in page
    assert f"{full[:3]}***********{full[-4:]}" in page
    assert f"{resident.phone[:3]}****{resident.phone[-4:]}" in page

    revealed = client.post(reverse("accounts:reveal_id", args=[resident.uuid])).content.decode()
    assert full in revealed
    reveal = [e for e in audit_events if e["action"] == "pii.reveal"]
    assert len(reveal) == 1
    assert reveal[0]["user"]["username"] == "office" and reveal[0]["target"]["id"] == str(resident.uuid)
    assert full not in str(audit_events)


def test_the_user_list_filters_by_role_and_base(login, office, resident, other_resident, supervisor, org):
    client = login(office)
    response = client.get(reverse("accounts:user_list"), {"role": "resident", "base": org.internal.pk})
    assert [u.username for u in response.context["object_list"]] == ["resident"]
    response = client.get(reverse("accounts:user_list"), {"q": "王外"})
    assert [u.username for u in response.context["object_list"]] == ["resident_surgery"]


def test_the_user_list_has_a_bounded_number_of_queries(login, office, org, django_assert_max_num_queries):
    from tests.factories.accounts import RoleAssignmentFactory, UserFactory

    for i in range(25):
        RoleAssignmentFactory(user=UserFactory(id_number=make_id_number(700 + i)), role="resident", base=org.internal)
    client = login(office)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("accounts:user_list"))
    assert len(response.context["object_list"]) == 26  # 25 residents and the office herself


def test_a_profile_shows_the_roles_held(login, supervisor):
    page = login(supervisor).get(reverse("accounts:profile")).content.decode()
    assert "心血管内科" in page


def test_the_admin_screens_are_for_the_office_and_system_admins_never_the_auditor(client, personas):
    for name in (
        "admin:index",
        "admin:accounts_department_changelist",
        "admin:accounts_specialtybase_add",
        "admin:approvals_approvalchain_changelist",
    ):
        url = reverse(name)
        got = {}
        for persona in ("anonymous", "resident", "auditor", "director", "office", "sysadmin"):
            client.logout()
            if personas[persona]:
                client.force_login(personas[persona])
            got[persona] = client.get(url).status_code
        assert got == {
            "anonymous": 302,
            "resident": 302,
            "auditor": 302,
            "director": 302,
            "office": 200,
            "sysadmin": 200,
        }, name


def test_the_office_adds_a_department_in_the_admin_and_it_is_audited(login, office, org, audit_events):
    from accounts.models import Department

    response = login(office).post(
        reverse("admin:accounts_department_add"),
        {"hospital": org.hospital.pk, "base": org.internal.pk, "code": "RESP", "name": "呼吸内科", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Department.objects.filter(code="RESP", base=org.internal).exists()
    assert any(e["action"] == "admin.add.department" for e in audit_events)
