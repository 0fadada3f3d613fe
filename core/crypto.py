"""Field-level encryption and keyed digests for identifiers (身份证号).

The cipher text is what the database holds; the digest lets us find duplicates and look
up by number without decrypting every row. The first key in FIELD_ENCRYPTION_KEYS
encrypts, every key decrypts, so keys can be rotated.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _derive(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    fernets = [Fernet(k.encode() if len(k) == 44 else _derive(k)) for k in keys]
    return MultiFernet(fernets)


def cipher() -> MultiFernet:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS) or (settings.SECRET_KEY,)
    return _cipher(keys)


def encrypt(value: str) -> str:
    return cipher().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def digest(value: str) -> str:
    """A keyed SHA-256 so that a leaked table cannot be reversed by enumerating ID numbers."""
    key = settings.ID_NUMBER_HASH_KEY.encode()
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()
