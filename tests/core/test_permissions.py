"""The one permission mechanism: role scope first, guardian grants on top, 404 outside, 403 inside."""

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import User
from core.permissions import can, visible

pytestmark = pytest.mark.django_db


def test_a_guardian_grant_opens_one_object_and_nothing_else(login, outsider, resident, other_resident):
    assert not visible(outsider, User).filter(pk=resident.pk).exists()
    assign_perm("accounts.view_user", outsider, resident)
    assert set(visible(outsider, User)) == {outsider, resident}
    client = login(outsider)
    assert client.get(reverse("accounts:user_detail", args=[resident.uuid])).status_code == 200
    assert client.get(reverse("accounts:user_detail", args=[other_resident.uuid])).status_code == 404
    remove_perm("accounts.view_user", outsider, resident)
    assert client.get(reverse("accounts:user_detail", args=[resident.uuid])).status_code == 404


def test_a_grant_to_view_is_not_a_grant_to_reveal(outsider, resident):
    assign_perm("accounts.view_user", outsider, resident)
    assert can(outsider, "view", resident)
    assert not can(outsider, "reveal", resident)


def test_disabled_users_see_nothing_whatever_they_held(resident, office):
    office.status = "disabled"
    office.save()
    assert not visible(office, User).exists()
    assert not can(office, "view", resident)


def test_refusals_are_audited_as_security_events(login, resident, other_resident, audit_events):
    client = login(other_resident)
    client.get(reverse("accounts:user_detail", args=[resident.uuid]))
    client.post(reverse("accounts:reveal_id", args=[other_resident.uuid]))
    actions = [(e["action"], e["outcome"]) for e in audit_events]
    assert ("access.not_found", "denied") in actions
    assert ("access.denied", "denied") in actions


def test_sign_ins_and_failures_are_audited(client, resident, audit_events):
    client.post(reverse("accounts:login"), {"username": "resident", "password": "nope"})
    client.post(reverse("accounts:login"), {"username": "resident", "password": "Zhupei#2025"})
    outcomes = [e["outcome"] for e in audit_events if e["action"] == "auth.login"]
    assert outcomes == ["failure", "success"]
