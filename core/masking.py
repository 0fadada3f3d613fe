"""Masking of personal identifiers on the server, before anything is rendered (PIPL, GB/T 35273)."""


def mask_id_number(value: str) -> str:
    """110105199001011234 -> 110***********1234."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
