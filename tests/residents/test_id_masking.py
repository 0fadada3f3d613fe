"""The full ID number never leaves the server on an archive page, an error page or a log line,
unless the training office asks for it with the audited reveal."""

import json
import logging
import uuid

import pytest
from django.urls import reverse

from audit_logs import writer

pytestmark = pytest.mark.django_db

#: Loggers that keep their records to themselves (propagate=False): the capture must sit on them directly.
PRIVATE_LOGGERS = ("zhupei.audit", "zhupei", "django", "django.request", "django.server")


@pytest.fixture
def all_logs(caplog, settings):
    """Every log line of every level, the audit trail's JSON lines included."""
    settings.AUDIT_SINKS = ["core.audit.log_sink", "core.audit.memory_sink", "audit_logs.sinks.durable_sink"]
    from core import audit

    audit._memory.clear()
    caplog.set_level(logging.DEBUG)
    saved = []
    for name in PRIVATE_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(caplog.handler)
    yield caplog
    for logger, level in saved:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)
    audit._memory.clear()


def url(name: str, *args) -> str:
    return reverse(f"residents:{name}", args=args)


def _pages(client, persona: str, profile) -> dict[str, str]:
    """The archive's pages as one persona gets them: the page or the 403/404 instead."""
    got = {}
    for name in ("detail", "edit_own", "edit", "certificate_add"):
        got[name] = client.get(url(name, profile.uuid)).content.decode()
    got["record_add"] = client.get(url("record_add", profile.uuid, "post")).content.decode()
    got["unknown archive"] = client.get(url("detail", uuid.uuid4())).content.decode()
    got["unknown edit"] = client.get(url("edit", uuid.uuid4())).content.decode()
    # A form with errors re-renders the page: whichever edit this persona may make.
    bad = {"phone": "12345", "real_name": "", "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0"}
    got["edit_own error"] = client.post(url("edit_own", profile.uuid), bad).content.decode()
    got["edit error"] = client.post(url("edit", profile.uuid), bad).content.decode()
    got["record error"] = client.post(url("record_add", profile.uuid, "conduct"), {"title": ""}).content.decode()
    if persona != "office":
        got["reveal"] = client.post(url("reveal_id", profile.uuid)).content.decode()
    return got


def test_no_persona_ever_gets_the_full_id_number_in_a_page_or_a_log(
    client, archive_personas, resident_profile, all_logs, mongo_db
):
    full = resident_profile.user.id_number
    masked = resident_profile.user.id_number_masked
    assert full and masked != full
    for persona, user in archive_personas.items():
        client.logout()
        if user is not None:
            client.force_login(user)
        for page, html in _pages(client, persona, resident_profile).items():
            assert full not in html, (persona, page)
            assert full[6:14] + full[14:] not in html, (persona, page)  # not even the birth date and tail together
        if persona in ("resident", "supervisor", "mentor", "secretary", "head", "director", "office"):
            detail = client.get(url("detail", resident_profile.uuid)).content.decode()
            assert masked in detail, persona

    writer.flush()
    assert "resident.archive_edit" not in all_logs.text  # every edit above was refused: nothing was saved
    assert "access.denied" in all_logs.text and "access.not_found" in all_logs.text  # the capture works
    assert full not in all_logs.text
    stored = [doc for name in mongo_db.list_collection_names() for doc in mongo_db[name].find({})]
    assert stored and full not in json.dumps(stored, default=str, ensure_ascii=False)


def test_the_office_reveal_shows_the_number_and_is_audited_without_logging_it(
    client, office, resident_profile, all_logs
):
    from core import audit

    full = resident_profile.user.id_number
    client.force_login(office)
    page = client.get(url("detail", resident_profile.uuid)).content.decode()
    assert 'data-testid="reveal-id"' in page and full not in page
    response = client.post(url("reveal_id", resident_profile.uuid))
    assert response.status_code == 200 and full in response.content.decode()
    [event] = [e for e in audit._memory if e["action"] == "pii.reveal"]
    assert event["user"]["username"] == "office" and event["target"]["id"] == str(resident_profile.user.uuid)
    assert "pii.reveal" in all_logs.text and full not in all_logs.text


def test_a_base_directors_reveal_is_refused_and_audited(client, director, resident_profile, all_logs):
    from core import audit

    client.force_login(director)
    response = client.post(url("reveal_id", resident_profile.uuid))
    assert response.status_code == 403
    assert resident_profile.user.id_number not in response.content.decode()
    [denied] = [e for e in audit._memory if e["action"] == "access.denied"]
    assert denied["user"]["username"] == "director" and denied["extra"]["attempted"] == "reveal"
    assert denied["target"]["id"] == str(resident_profile.uuid)
    assert not [e for e in audit._memory if e["action"] == "pii.reveal"]


def test_a_saved_edit_keeps_the_id_number_and_full_phones_out_of_the_history_and_the_logs(
    client, resident, resident_profile, all_logs
):
    from residents.models import ArchiveRevision

    client.force_login(resident)
    response = client.post(
        url("edit_own", resident_profile.uuid),
        {
            "phone": "13712345678",
            "email": "",
            "address": "",
            "political_status": "",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-name": "李父",
            "contacts-0-relation": "父亲",
            "contacts-0-phone": "13900001111",
        },
    )
    assert response.status_code == 302
    history = json.dumps(list(ArchiveRevision.objects.values_list("changes", flat=True)), ensure_ascii=False)
    assert "137****5678" in history and "139****1111" in history
    for secret in (resident_profile.user.id_number, "13712345678", "13900001111"):
        assert secret not in history and secret not in all_logs.text
    assert "resident.archive_edit" in all_logs.text
