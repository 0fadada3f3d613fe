"""Login throttling, session limits, password policy and CSRF."""

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username, password):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_five_failures_lock_the_account_even_with_the_right_password(client, resident, settings, audit_events):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(5):
        _login(client, "resident", "wrong-password")
    response = _login(client, "resident", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert any(e["action"] == "auth.lockout" for e in audit_events)
    assert sum(1 for e in audit_events if e["action"] == "auth.login" and e["outcome"] == "failure") >= 5


def test_four_failures_do_not_lock_and_a_success_resets_the_count(client, resident):
    for _ in range(4):
        _login(client, "resident", "wrong-password")
    assert _login(client, "resident", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, "resident", "wrong-password")
    assert _login(client, "resident", PASSWORD).status_code == 302


def test_a_lockout_of_one_account_does_not_lock_a_colleague_behind_the_same_ip(client, resident, supervisor):
    for _ in range(5):
        _login(client, "resident", "wrong-password")
    assert _login(client, "supervisor", PASSWORD).status_code == 302


def test_an_idle_session_is_signed_out(client, resident, settings, audit_events):
    client.force_login(resident)
    assert client.get(reverse("core:home")).status_code == 200
    session = client.session
    session["zhupei_last_seen"] = time.time() - settings.SESSION_IDLE_TIMEOUT - 1
    session.save()
    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert client.get(reverse("core:home")).status_code == 302
    assert any(e["action"] == "auth.session_timeout" for e in audit_events)


def test_an_active_session_stays_signed_in(client, resident, settings):
    client.force_login(resident)
    session = client.session
    session["zhupei_last_seen"] = time.time() - settings.SESSION_IDLE_TIMEOUT + 60
    session.save()
    assert client.get(reverse("core:home")).status_code == 200


def test_a_session_ends_after_the_absolute_limit_even_when_active(client, resident, settings):
    client.force_login(resident)
    client.get(reverse("core:home"))
    session = client.session
    session["zhupei_started"] = time.time() - settings.SESSION_ABSOLUTE_TIMEOUT - 1
    session.save()
    assert client.get(reverse("core:home")).status_code == 302


@pytest.mark.parametrize(
    "password,ok",
    [
        ("short1A", False),
        ("alllowercase", False),
        ("lowerUPPER", False),
        ("lower123UPPER", True),
        ("lower-123", True),
        ("Password1", False),
    ],  # the last is on the common-password list
)
def test_the_password_policy_wants_eight_characters_of_three_kinds(password, ok):
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_an_expired_password_must_be_renewed_before_anything_else(client, resident, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.PASSWORD_EXPIRY_DAYS = 90
    resident.password_changed_at = timezone.now() - timedelta(days=91)
    resident.save()
    client.force_login(resident)
    response = client.get(reverse("approvals:inbox"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_set")
    client.post(reverse("accounts:password_set"), {"new_password1": "Renewed#2026", "new_password2": "Renewed#2026"})
    assert client.get(reverse("approvals:inbox")).status_code == 200


def test_pending_and_disabled_accounts_cannot_sign_in(client, resident):
    for status in ("pending", "disabled"):
        resident.status = status
        resident.save()
        assert _login(client, "resident", PASSWORD).status_code == 200
        assert "_auth_user_id" not in client.session


def test_the_office_unlocks_a_locked_account_in_the_admin(client, resident, office):
    from axes.models import AccessAttempt

    for _ in range(5):
        _login(client, "resident", "wrong-password")
    attempt = AccessAttempt.objects.get(username="resident")
    client.force_login(office)
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    response = client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302
    client.logout()
    assert _login(client, "resident", PASSWORD).status_code == 302
