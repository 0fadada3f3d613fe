"""Pinyin initials for searching Chinese names by what people type on a phone ("lzy" finds 李住院)."""

from pypinyin import Style, lazy_pinyin


def initials(text: str) -> str:
    """Lower-case first letters; characters without pinyin (Latin letters, digits) are kept as they are."""
    if not text:
        return ""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(letters).lower().replace(" ", "")[:50]
