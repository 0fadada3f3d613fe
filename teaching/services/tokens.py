"""Server-signed rotating QR tokens for check-in and check-out.

A token is `<activity>.<purpose>.<window>.<nonce>.<mac>`: the activity id, the purpose (i = check-in,
o = check-out, r1..r3 = random check k), the window index floor(epoch / ROTATE_SECONDS) in base 36, a
random nonce, and an HMAC-SHA256 (key derived from SECRET_KEY with a salt, truncated to 128 bits,
URL-safe base64). Only the server can make one; the display shows what the server issues. The server
accepts the current window and the previous one (≈ 10–20 s of grace for a slow scan), nothing else.

Unlike the provincial platform's "dynamic" code (built in the browser from the activity id and the
clock, unsigned), changing any part of a token breaks its MAC.
"""

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.crypto import salted_hmac

from teaching.choices import Purpose

SALT = "zhupei.teaching.qr-token.v1"
MAC_BYTES = 16
PURPOSE_CODES = {Purpose.CHECK_IN: "i", Purpose.CHECK_OUT: "o"}
MAX_RANDOM_CHECKS = 3


def rotate_seconds() -> int:
    return max(1, int(getattr(settings, "TEACHING_QR_ROTATE_SECONDS", 10)))


def window_of(now: datetime) -> int:
    return int(now.timestamp()) // rotate_seconds()


class TokenError(Exception):
    """A refused token; `reason` is one of REASONS (what the ScanFailure row and the audit event carry)."""

    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    FUTURE = "future"
    MALFORMED = "malformed"
    REASONS = (BAD_SIGNATURE, EXPIRED, FUTURE, MALFORMED)

    def __init__(self, reason: str, activity_id: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.activity_id = activity_id


@dataclass(frozen=True)
class Verified:
    activity_id: int
    purpose: str  # Purpose value: in / out / random
    window: int
    check: int = 0  # k of a random check (1..3), 0 otherwise


def _encode_purpose(purpose: str, check: int) -> str:
    if purpose == Purpose.RANDOM:
        if not 1 <= check <= MAX_RANDOM_CHECKS:
            raise ValueError("a random check needs k in 1..3")
        return f"r{check}"
    return PURPOSE_CODES[Purpose(purpose)]


def _decode_purpose(code: str) -> tuple[str, int]:
    for purpose, letter in PURPOSE_CODES.items():
        if code == letter:
            return str(purpose), 0
    if len(code) == 2 and code[0] == "r" and code[1].isdigit() and 1 <= int(code[1]) <= MAX_RANDOM_CHECKS:
        return str(Purpose.RANDOM), int(code[1])
    raise TokenError(TokenError.MALFORMED)


def _mac(body: str) -> str:
    digest = salted_hmac(SALT, body, algorithm="sha256").digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(activity, purpose: str, now: datetime, check: int = 0) -> str:
    """A fresh token for `activity` (or its id) and `purpose`, valid in now's window and the next."""
    activity_id = getattr(activity, "pk", activity)
    body = ".".join(
        [
            _b36(int(activity_id)),
            _encode_purpose(purpose, check),
            _b36(window_of(now)),
            secrets.token_urlsafe(4),
        ]
    )
    return f"{body}.{_mac(body)}"


def verify(token: str, now: datetime) -> Verified:
    """The token's claims if its MAC holds and its window is the current or the previous one; else TokenError."""
    if not isinstance(token, str) or len(token) > 120:
        raise TokenError(TokenError.MALFORMED)
    parts = token.split(".")
    if len(parts) != 5 or not all(parts):
        raise TokenError(TokenError.MALFORMED)
    body, mac = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_mac(body).encode(), mac.encode()):
        # Say which activity was named only for the report: nothing about a forged token is trusted.
        raise TokenError(TokenError.BAD_SIGNATURE, _int36(parts[0]))
    activity_id, window = _int36(parts[0]), _int36(parts[2])
    if activity_id is None or window is None:
        raise TokenError(TokenError.MALFORMED)
    purpose, check = _decode_purpose(parts[1])
    current = window_of(now)
    if window > current:
        raise TokenError(TokenError.FUTURE, activity_id)
    if window < current - 1:
        raise TokenError(TokenError.EXPIRED, activity_id)
    return Verified(activity_id=activity_id, purpose=purpose, window=window, check=check)


def _b36(number: int) -> str:
    if number < 0:
        raise ValueError("negative")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _int36(text: str) -> int | None:
    if not text or len(text) > 13 or not text.isalnum() or not text.isascii() or text != text.lower():
        return None
    return int(text, 36)
