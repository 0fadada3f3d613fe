"""Chinese is what users see by default; English is one click away; the catalogue is complete and compiled."""

import ast
import gettext
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

CATALOGUE = Path(django_settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = CATALOGUE / "django.po"
MO = CATALOGUE / "django.mo"


def _page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# --- the pages ------------------------------------------------------------------------------------------


def test_the_login_page_is_chinese_by_default(client):
    html = _page(client.get(reverse("accounts:login")))
    assert '<html lang="zh-hans">' in html
    assert "登录" in html
    assert "住院医师规范化培训" in html
    assert "Sign in" not in html


def test_the_language_cookie_switches_the_login_page_to_english(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = _page(client.get(reverse("accounts:login")))
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "登录" not in html


def test_an_english_browser_gets_the_english_login_page(client):
    html = _page(client.get(reverse("accounts:login"), headers={"accept-language": "en"}))
    assert '<html lang="en">' in html
    assert "Sign in" in html


def test_a_chinese_browser_gets_the_chinese_login_page(client):
    html = _page(client.get(reverse("accounts:login"), headers={"accept-language": "zh-CN,zh;q=0.9"}))
    assert '<html lang="zh-hans">' in html
    assert "登录" in html


def test_the_signed_in_home_page_shows_the_chinese_navigation(login, resident):
    client = login(resident)
    html = _page(client.get(reverse("core:home")))
    assert '<html lang="zh-hans">' in html
    for label in ("待办", "我的申请", "通知公告", "退出登录", "首页"):
        assert label in html, label
    assert "李住院，您好" in html
    assert "My requests" not in html


def test_set_language_switches_a_signed_in_resident_to_english_and_back(login, resident):
    client = login(resident)
    home = reverse("core:home")

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.url == "/"
    html = _page(client.get(home))
    assert '<html lang="en">' in html
    assert "To-do" in html
    assert "My requests" in html
    assert "Sign out" in html
    assert "我的申请" not in html

    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = _page(client.get(home))
    assert '<html lang="zh-hans">' in html
    assert "我的申请" in html
    assert "My requests" not in html


# --- the catalogue --------------------------------------------------------------------------------------


def _unquote(text: str) -> str:
    return ast.literal_eval(text.strip())


def _entries(path: Path) -> list[dict]:
    """A small PO reader: blank-line separated entries, continuation lines, plurals and contexts."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry: dict = {"flags": set()}
        field = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                entry[field] += _unquote(line)
            else:
                field, value = line.split(" ", 1)
                entry[field] = _unquote(value)
        assert "msgid" in entry, block
        entries.append(entry)
    return entries


def _translation(entry: dict) -> str:
    return entry["msgstr[0]"] if "msgid_plural" in entry else entry["msgstr"]


def test_the_catalogue_header_is_chinese_with_one_plural_form():
    header = next(e for e in _entries(PO) if e["msgid"] == "")
    assert "fuzzy" not in header["flags"]
    assert "Language: zh_Hans\n" in header["msgstr"]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["msgstr"]
    assert "charset=UTF-8" in header["msgstr"]


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = [e for e in _entries(PO) if e["msgid"] != ""]
    assert len(entries) > 300
    untranslated = [e["msgid"] for e in entries if not _translation(e)]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_the_compiled_catalogue_matches_the_po_file():
    """Catches a .po edited without running compilemessages (mtimes are useless in a git clone)."""
    assert MO.exists(), "run: python manage.py compilemessages -l zh_Hans"
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in _entries(PO):
        if entry["msgid"] == "":
            continue
        key = entry["msgid"]
        if "msgctxt" in entry:
            key = f"{entry['msgctxt']}\x04{key}"
        if "msgid_plural" in entry:
            got = compiled._catalog.get((key, 0))
        else:
            got = compiled._catalog.get(key)
        if got != _translation(entry):
            stale.append(entry["msgid"])
    assert not stale, f"the .mo is out of date for: {stale}"
