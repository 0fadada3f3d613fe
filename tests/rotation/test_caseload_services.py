"""登记手册 services: the shipped standards, pro-rating, progress, the entry rules, corrections,
the compare-and-swap between editing and approving, and the two-week warning.

The fixtures here (`cardiology_block`, `standards`) are imported by the other caseload test files.
"""

import datetime
import threading
from fractions import Fraction
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from notices.models import Notification
from rotation.choices import CaseloadKind, CaseSource, EntryStatus, ProcedureRole
from rotation.models import CaseloadAttachment, CaseloadEntry, CaseloadStandard
from rotation.services import caseload, caseload_progress
from tests.factories.residents import RotationBlockFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
TODAY = timezone.localdate()


def days_ago(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


@pytest.fixture
def cardiology_block(org, resident_profile, supervisor):
    """李住院 in 心血管内科 for three months around today, supervised by 张带教."""
    return RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=days_ago(40),
        end_date=TODAY + datetime.timedelta(days=50),
    )


@pytest.fixture
def standards(org):
    caseload_progress.load_caseload_standards(org.hospital)
    return {s.name: s for s in CaseloadStandard.objects.filter(department=org.cardiology)}


def std(standards, prefix: str) -> CaseloadStandard:
    return next(s for name, s in standards.items() if name.startswith(prefix))


def log(profile, user, kind=CaseloadKind.PROCEDURE, day=None, **fields):
    defaults = {
        CaseloadKind.PROCEDURE: {"name": "胸腔穿刺术", "role": ProcedureRole.OPERATOR, "succeeded": True},
        CaseloadKind.CASE: {"patient_initials": "王XM", "record_number": "00123456", "source": CaseSource.WARD},
        CaseloadKind.LEARNING: {"name": "教学查房"},
    }.get(kind, {})
    return caseload.entry_create(
        resident=profile, kind=kind, day=day or TODAY, acting_user=user, **{**defaults, **fields}
    )


def approve(entry, user):
    entry.refresh_from_db()
    caseload.entry_decide(entry=entry, version=entry.version, approve=True, acting_user=user)
    entry.refresh_from_db()
    return entry


# --- standards --------------------------------------------------------------------------------


def test_the_shipped_quotas_become_the_cardiology_standards(org, standards):
    kinds = sorted(s.kind for s in standards.values())
    assert kinds.count(CaseloadKind.DISEASE) == 9
    assert kinds.count(CaseloadKind.PROCEDURE) == 3
    case = standards["管床病例"]
    assert case.kind == CaseloadKind.CASE and case.minimum == 50
    assert standards["心力衰竭"].minimum == 5 and standards["心力衰竭"].standard_months == 4
    assert std(standards, "12导联").minimum == 50


def test_loading_twice_changes_nothing_and_keeps_the_office_numbers(org, standards):
    standards["高血压"].minimum = 12
    standards["高血压"].save()
    report = caseload_progress.load_caseload_standards(org.hospital)
    assert report.created == [] and report.updated == []
    assert CaseloadStandard.objects.count() == len(standards)
    assert CaseloadStandard.objects.get(pk=standards["高血压"].pk).minimum == 12
    report = caseload_progress.load_caseload_standards(org.hospital, replace=True)
    assert CaseloadStandard.objects.get(pk=standards["高血压"].pk).minimum == 10
    assert len(report.updated) == 1


def test_the_command_loads_the_standards(org):
    out = StringIO()
    call_command("load_caseload_standards", hospital=org.hospital.code, stdout=out)
    assert CaseloadStandard.objects.filter(department=org.cardiology).count() == 13
    assert "13 standards created" in out.getvalue()


# --- pro-rating -------------------------------------------------------------------------------


def test_whole_calendar_months_count_exactly_and_part_months_by_their_days(org, resident_profile):
    two = RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        start_date=datetime.date(2030, 3, 1),
        end_date=datetime.date(2030, 4, 30),
    )
    half = RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        start_date=datetime.date(2030, 3, 1),
        end_date=datetime.date(2030, 3, 15),
    )
    assert caseload_progress.block_months(two) == 2
    assert caseload_progress.block_months(half) == Fraction(15, 31)


@pytest.mark.parametrize(
    ("months", "minimum", "required"),
    [
        (4, 10, 10),  # the standard's own length
        (3, 10, 8),  # 3 ÷ 4 × 10 = 7.5, rounded up
        (2, 5, 3),  # 2.5 → 3
        (1, 50, 13),  # 12.5 → 13
        (6, 10, 10),  # longer than the standard: not more than its minimum
        (3, 0, 0),
        (Fraction(15, 31), 8, 1),
    ],
)
def test_required_is_pro_rated_and_rounded_up(months, minimum, required):
    standard = CaseloadStandard(minimum=minimum, standard_months=4)
    assert caseload_progress.required_for(standard, Fraction(months)) == required


# --- progress ---------------------------------------------------------------------------------


def test_only_approved_entries_count_and_each_item_is_capped_in_the_kind(
    org, cardiology_block, standards, resident, supervisor
):
    profile = cardiology_block.resident
    ecg = std(standards, "12导联")
    approve(log(profile, resident, standard=ecg, count=40, day=days_ago(3)), supervisor)
    log(profile, resident, standard=std(standards, "电复律"), count=1, day=days_ago(2))  # submitted only
    approve(log(profile, resident, kind=CaseloadKind.CASE, day=days_ago(2)), supervisor)
    approve(
        log(profile, resident, kind=CaseloadKind.DISEASE, standard=standards["高血压"], day=days_ago(1)), supervisor
    )
    approve(log(profile, resident, kind=CaseloadKind.LEARNING, day=days_ago(1)), supervisor)

    result = caseload_progress.progress(cardiology_block)

    months = caseload_progress.block_months(cardiology_block)
    lines = {line.standard.name: line for line in result.lines}
    assert lines[ecg.name].done == 40
    assert lines[ecg.name].required == caseload_progress.required_for(ecg, months)
    assert lines[std(standards, "电复律").name].done == 0
    assert lines["管床病例"].done == 1
    procedure = result.kind(CaseloadKind.PROCEDURE)
    capped = sum(min(line.done, line.required) for line in procedure.lines)
    assert procedure.credited == capped
    assert procedure.completion == capped / procedure.required < 1
    assert result.lowest_completion == min(k.completion for k in result.kinds)
    assert result.learning == 1 == caseload_progress.learning_count(cardiology_block)


def test_a_department_without_standards_is_complete(org, resident_profile, supervisor, resident):
    block = RotationBlockFactory(
        resident=resident_profile, department=org.cardiology, start_date=days_ago(5), end_date=TODAY
    )
    result = caseload_progress.progress(block)
    assert not result.has_standards and result.lowest_completion == 1.0


# --- entry rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "fields", "field", "message"),
    [
        (TODAY + datetime.timedelta(days=1), {}, "day", "The date cannot be in the future."),
        (days_ago(60), {}, "day", "is not in any of your rotation blocks"),
        (TODAY, {"count": -2}, "count", "The number must be at least 1."),
        (TODAY, {"count": 0}, "count", "The number must be at least 1."),
        (TODAY, {"succeeded": False}, "failure_reason", "Give the reason it failed."),
        (TODAY, {"role": ProcedureRole.SURGEON}, "role", "performed it or assisted"),
        (TODAY, {"name": ""}, "name", "Say what it was."),
    ],
)
def test_bad_entries_are_refused_with_a_clear_message_and_nothing_saved(
    cardiology_block, resident, day, fields, field, message
):
    with pytest.raises(ValidationError) as exc:
        log(cardiology_block.resident, resident, day=day, **fields)
    assert message in " ".join(exc.value.message_dict[field])
    assert not CaseloadEntry.objects.exists()


def test_a_disease_comes_from_the_list_when_the_department_has_one(org, cardiology_block, standards, resident):
    with pytest.raises(ValidationError) as exc:
        log(cardiology_block.resident, resident, kind=CaseloadKind.DISEASE, name="感冒")
    assert "Choose the disease from the department's list." in exc.value.message_dict["standard"]
    entry = log(cardiology_block.resident, resident, kind=CaseloadKind.DISEASE, standard=standards["心力衰竭"])
    assert entry.name == "心力衰竭" and entry.block == cardiology_block


def test_another_department_s_item_is_refused(org, cardiology_block, standards, resident):
    other = CaseloadStandard.objects.create(
        department=org.general_surgery, kind=CaseloadKind.PROCEDURE, name="阑尾切除", minimum=3
    )
    with pytest.raises(ValidationError) as exc:
        log(cardiology_block.resident, resident, standard=other)
    assert "standard" in exc.value.message_dict


def test_a_case_counts_toward_the_case_standard_and_needs_the_patient(cardiology_block, standards, resident):
    with pytest.raises(ValidationError) as exc:
        log(cardiology_block.resident, resident, kind=CaseloadKind.CASE, patient_initials="", source="")
    assert {"patient_initials", "source"} <= set(exc.value.message_dict)
    entry = log(cardiology_block.resident, resident, kind=CaseloadKind.CASE)
    assert entry.standard == standards["管床病例"]


# --- attachments ------------------------------------------------------------------------------


def test_a_pdf_is_stored_and_a_40_mb_file_or_html_named_pdf_is_refused(cardiology_block, resident):
    profile = cardiology_block.resident
    big = SimpleUploadedFile("scan.pdf", PDF + b"0" * (40 * 1024 * 1024), content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        log(profile, resident, files=[big])
    assert "files may be at most 10" in " ".join(exc.value.message_dict["attachments"])
    fake = SimpleUploadedFile("report.pdf", HTML, content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        log(profile, resident, files=[fake])
    assert "is not a PDF file" in " ".join(exc.value.message_dict["attachments"])
    assert not CaseloadEntry.objects.exists() and not CaseloadAttachment.objects.exists()

    entry = log(profile, resident, files=[SimpleUploadedFile("ecg.pdf", PDF, content_type="application/pdf")])
    attachment = entry.attachments.get()
    assert attachment.content_type == "application/pdf" and attachment.original_name == "ecg.pdf"


# --- edit, delete, correct ---------------------------------------------------------------------


def test_the_resident_edits_until_approval_and_a_returned_entry_goes_back(cardiology_block, resident, supervisor):
    entry = log(cardiology_block.resident, resident)
    caseload.entry_decide(entry=entry, version=entry.version, approve=False, comment="数量不对", acting_user=supervisor)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.RETURNED
    assert Notification.objects.filter(user=resident, kind="rotation.caseload_returned").exists()
    caseload.entry_update(entry=entry, version=entry.version, acting_user=resident, count=2)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED and entry.count == 2
    approve(entry, supervisor)
    with pytest.raises(caseload.StaleEntry):
        caseload.entry_update(entry=entry, version=entry.version, acting_user=resident, count=3)
    with pytest.raises(caseload.StaleEntry):
        caseload.entry_delete(entry=entry, version=entry.version, acting_user=resident)


def test_returning_needs_a_comment(cardiology_block, resident, supervisor):
    entry = log(cardiology_block.resident, resident)
    with pytest.raises(ValidationError):
        caseload.entry_decide(entry=entry, version=entry.version, approve=False, acting_user=supervisor)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED


def test_a_correction_goes_through_approval_and_then_supersedes_the_old_entry(
    cardiology_block, standards, resident, supervisor
):
    ecg = std(standards, "12导联")
    old = approve(log(cardiology_block.resident, resident, standard=ecg, count=3, day=days_ago(2)), supervisor)
    with pytest.raises(ValidationError) as exc:
        caseload.entry_correct(entry=old, reason="  ", acting_user=resident, count=5)
    assert "correction_reason" in exc.value.message_dict

    new = caseload.entry_correct(entry=old, reason="漏记了两份", acting_user=resident, count=5)
    assert new.corrects == old and new.status == EntryStatus.SUBMITTED and new.correction_reason == "漏记了两份"
    with pytest.raises(ValidationError):
        caseload.entry_correct(entry=old, reason="again", acting_user=resident, count=6)
    line = next(x for x in caseload_progress.progress(cardiology_block).lines if x.standard == ecg)
    assert line.done == 3  # the old entry counts until the correction is approved

    approve(new, supervisor)
    old.refresh_from_db()
    assert old.status == EntryStatus.SUPERSEDED
    line = next(x for x in caseload_progress.progress(cardiology_block).lines if x.standard == ecg)
    assert line.done == 5


# --- concurrency ------------------------------------------------------------------------------


def test_the_supervisor_approving_an_entry_the_resident_just_edited_is_refused(cardiology_block, resident, supervisor):
    entry = log(cardiology_block.resident, resident, count=1)
    seen = entry.version  # both pages show version 1
    caseload.entry_update(entry=entry, version=seen, acting_user=resident, count=4)
    with pytest.raises(caseload.StaleEntry):
        caseload.entry_decide(entry=entry, version=seen, approve=True, acting_user=supervisor)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED and entry.count == 4 and entry.version == seen + 1


def test_the_resident_editing_an_entry_the_supervisor_just_approved_is_refused(cardiology_block, resident, supervisor):
    entry = log(cardiology_block.resident, resident, count=1)
    seen = entry.version
    caseload.entry_decide(entry=entry, version=seen, approve=True, acting_user=supervisor)
    with pytest.raises(caseload.StaleEntry):
        caseload.entry_update(entry=entry, version=seen, acting_user=resident, count=4)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.APPROVED and entry.count == 1


def test_bulk_approval_skips_and_reports_an_entry_edited_meanwhile(cardiology_block, resident, supervisor):
    a = log(cardiology_block.resident, resident, day=days_ago(1))
    b = log(cardiology_block.resident, resident, day=days_ago(1))
    caseload.entry_update(entry=b, version=b.version, acting_user=resident, count=2)
    result = caseload.entries_approve(selection=[(a, 1), (b, 1)], acting_user=supervisor)
    assert [e.pk for e in result.approved] == [a.pk] and [e.pk for e in result.skipped] == [b.pk]
    assert CaseloadEntry.objects.get(pk=b.pk).status == EntryStatus.SUBMITTED


@pytest.mark.django_db(transaction=True)
def test_approving_and_editing_at_the_same_moment_has_one_outcome(cardiology_block, resident, supervisor):
    if connection.vendor == "sqlite":
        pytest.skip("real concurrent writers need PostgreSQL")
    entry = log(cardiology_block.resident, resident, count=1)
    barrier = threading.Barrier(2)
    outcomes = {}

    def run(name, action):
        from django.db import connections

        try:
            barrier.wait()
            action()
            outcomes[name] = "ok"
        except caseload.StaleEntry:
            outcomes[name] = "stale"
        finally:
            connections.close_all()

    edit = threading.Thread(
        target=run,
        args=("edit", lambda: caseload.entry_update(entry=entry, version=1, acting_user=resident, count=7)),
    )
    decide = threading.Thread(
        target=run,
        args=("approve", lambda: caseload.entry_decide(entry=entry, version=1, approve=True, acting_user=supervisor)),
    )
    edit.start(), decide.start()
    edit.join(), decide.join()
    assert sorted(outcomes.values()) == ["ok", "stale"]
    entry.refresh_from_db()
    assert entry.version == 2
    if outcomes["edit"] == "ok":
        assert entry.status == EntryStatus.SUBMITTED and entry.count == 7
    else:
        assert entry.status == EntryStatus.APPROVED and entry.count == 1


# --- same as yesterday -----------------------------------------------------------------------------


def test_same_as_yesterday_copies_the_chosen_entries_as_new_submitted_ones(cardiology_block, resident, supervisor):
    profile = cardiology_block.resident
    approve(log(profile, resident, day=days_ago(1), count=3), supervisor)
    log(profile, resident, kind=CaseloadKind.CASE, day=days_ago(1))
    candidates = caseload.repeat_candidates(profile, TODAY)
    assert len(candidates) == 2
    chosen = [e for e in candidates if e.kind not in caseload.PATIENT_KINDS]
    created = caseload.entries_repeat(resident=profile, entries=chosen, day=TODAY, acting_user=resident)
    assert [(e.day, e.count, e.status, e.name) for e in created] == [(TODAY, 3, EntryStatus.SUBMITTED, "胸腔穿刺术")]


# --- warning ----------------------------------------------------------------------------------


def test_two_weeks_before_the_end_a_low_quota_warns_resident_and_supervisor_once(
    org, resident_profile, resident, supervisor, standards
):
    block = RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=days_ago(100),
        end_date=TODAY + datetime.timedelta(days=10),
    )
    assert caseload_progress.warn_low_quotas() == 1
    warned = Notification.objects.filter(kind="rotation.caseload_low")
    assert sorted(n.user.username for n in warned) == ["resident", "supervisor"]
    assert str(block.uuid) in warned.first().url
    assert caseload_progress.warn_low_quotas() == 0
    assert warned.count() == 2


def test_no_warning_for_a_block_far_from_its_end(cardiology_block, standards):
    assert caseload_progress.warn_low_quotas() == 0


def test_the_celery_task_runs_the_warning(cardiology_block, standards):
    from rotation.tasks_caseload import warn_low_quotas

    assert warn_low_quotas() == 0


# --- masking ----------------------------------------------------------------------------------


def test_patient_data_is_masked():
    assert caseload.mask_initials("王小明") == "王**"
    assert caseload.mask_record_number("0012341234") == "****1234"
    assert caseload.mask_record_number("123") == "**3"
    assert caseload.mask_initials("") == caseload.mask_record_number("") == ""


def test_changing_the_item_changes_the_name(cardiology_block, standards, resident):
    entry = log(cardiology_block.resident, resident, kind=CaseloadKind.DISEASE, standard=standards["心力衰竭"])
    caseload.entry_update(entry=entry, version=entry.version, acting_user=resident, standard=standards["高血压"])
    entry.refresh_from_db()
    assert entry.standard == standards["高血压"] and entry.name == "高血压"


def test_the_archive_timeline_shows_each_block_s_approved_caseload(
    org, cardiology_block, standards, resident, supervisor, mentor
):
    from core import timeline

    profile = cardiology_block.resident
    approve(log(profile, resident, standard=std(standards, "12导联"), count=10, day=days_ago(3)), supervisor)
    log(profile, resident, standard=std(standards, "电复律"), day=days_ago(2))  # waiting: not in the archive

    entries = [e for e in timeline.entries(timeline.RESIDENT, profile, mentor) if e.kind == "caseload"]

    assert len(entries) == 1
    assert entries[0].title == "Caseload log in 心血管内科"
    assert entries[0].detail.startswith("1 approved entry ·")
    assert entries[0].url == reverse("rotation:caseload_block", args=[cardiology_block.uuid])
