"""Rotating QR tokens: only the server makes them, only the current and previous window pass."""

import datetime

import pytest
from django.test import override_settings

from teaching.choices import Purpose
from teaching.services import tokens

NOW = datetime.datetime(2025, 3, 3, 8, 0, 5, tzinfo=datetime.UTC)


def later(seconds: int) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


def test_a_token_verifies_in_its_window_and_the_next():
    token = tokens.issue(42, Purpose.CHECK_IN, NOW)
    assert tokens.verify(token, NOW) == tokens.Verified(42, "in", tokens.window_of(NOW), 0)
    assert tokens.verify(token, later(10)).activity_id == 42


def test_it_is_short_and_url_safe():
    token = tokens.issue(123456, Purpose.CHECK_OUT, NOW)
    assert len(token) < 50
    assert all(c.isalnum() or c in "-_." for c in token)


def test_two_tokens_of_one_window_differ_by_their_nonce():
    assert tokens.issue(1, Purpose.CHECK_IN, NOW) != tokens.issue(1, Purpose.CHECK_IN, NOW)


def test_a_random_check_carries_its_number():
    verified = tokens.verify(tokens.issue(7, Purpose.RANDOM, NOW, check=2), NOW)
    assert (verified.purpose, verified.check) == ("random", 2)


@pytest.mark.parametrize("seconds", [20, 25, 3600])
def test_it_refuses_an_expired_token(seconds):
    token = tokens.issue(1, Purpose.CHECK_IN, NOW)
    with pytest.raises(tokens.TokenError) as error:
        tokens.verify(token, later(seconds))
    assert error.value.reason == "expired" and error.value.activity_id == 1


def test_it_refuses_a_token_from_the_future():
    with pytest.raises(tokens.TokenError) as error:
        tokens.verify(tokens.issue(1, Purpose.CHECK_IN, later(30)), NOW)
    assert error.value.reason == "future"


@pytest.mark.parametrize("part,replacement", [(0, "2"), (1, "o"), (2, None)])
def test_changing_any_part_breaks_the_signature(part, replacement):
    token = tokens.issue(1, Purpose.CHECK_IN, NOW)
    pieces = token.split(".")
    pieces[part] = replacement if replacement is not None else tokens._b36(tokens.window_of(NOW) + 1)
    with pytest.raises(tokens.TokenError) as error:
        tokens.verify(".".join(pieces), NOW)
    assert error.value.reason == "bad_signature"


def test_a_token_signed_with_another_key_is_forged():
    with override_settings(SECRET_KEY="another-secret-key-" * 3):
        forged = tokens.issue(1, Purpose.CHECK_IN, NOW)
    with pytest.raises(tokens.TokenError) as error:
        tokens.verify(forged, NOW)
    assert error.value.reason == "bad_signature"


@pytest.mark.parametrize("text", ["", "abc", "1.i.2.x", "1.i.2.x.y.z", "../../etc", "A.i.b.c.d", "x" * 200])
def test_it_refuses_what_is_not_a_token(text):
    with pytest.raises(tokens.TokenError) as error:
        tokens.verify(text, NOW)
    assert error.value.reason in ("malformed", "bad_signature")


@override_settings(TEACHING_QR_ROTATE_SECONDS=5)
def test_the_rotation_period_is_a_setting():
    token = tokens.issue(1, Purpose.CHECK_IN, NOW)
    tokens.verify(token, later(5))
    with pytest.raises(tokens.TokenError):
        tokens.verify(token, later(11))
