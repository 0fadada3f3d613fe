"""The demo archives and rotation blocks: complete, consistent with the accounts, visible to the right personas.

The accounts, residents and rotation seeders run once for the module inside a transaction that is
rolled back at the end (seeding takes a few seconds); each test runs in its own savepoint on top.
"""

from collections import Counter, defaultdict
from datetime import date
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import RoleAssignment, User
from approvals.choices import ActionKind, RequestStatus
from approvals.models import ApprovalRequest
from core.demo import seeders
from core.permissions import visible
from residents.changes import approval_request_for
from residents.choices import ChangeKind, ChangeState, ConductKind, Gender, RevisionSource, TrainingStatus
from residents.models import (
    ArchiveRevision,
    Certificate,
    ConductRecord,
    EmergencyContact,
    EnrollmentBatch,
    EnrollmentQuota,
    Post,
    ResidentProfile,
    TrainingChange,
)
from rotation.choices import RunStatus
from rotation.models import DepartmentSupervisor, ProgrammeRequirement, RotationBlock, ScheduleRun

SEEDERS = ("accounts", "residents", "rotation")
REQUIRED = (
    "gender", "birth_date", "ethnicity", "political_status", "address", "school", "major", "education_level",
    "degree", "graduation_date", "category", "base", "cohort", "training_years", "start_date", "planned_end_date",
    "status", "status_since", "batch",
)  # fmt: skip
MODELS = (
    ResidentProfile, EmergencyContact, Post, ConductRecord, Certificate, TrainingChange, ArchiveRevision,
    EnrollmentBatch, EnrollmentQuota, RotationBlock, ApprovalRequest, RoleAssignment, User,
)  # fmt: skip


def _seed() -> dict[str, str]:
    summaries = {}
    for seeder in seeders():
        if seeder.name in SEEDERS:
            with transaction.atomic():
                summaries[seeder.name] = seeder.run(stdout=StringIO())
    return summaries


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            summaries = _seed()
            yield summaries
            transaction.set_rollback(True)


@pytest.fixture
def demo(seeded, db):
    return seeded


def _residents() -> dict[int, RoleAssignment]:
    roles = RoleAssignment.objects.active_on().filter(role=Role.RESIDENT, base__hospital__code="demo")
    return {a.user_id: a for a in roles.select_related("base")}


def test_every_resident_has_a_complete_archive_that_agrees_with_their_id_number_and_role(demo):
    roles = _residents()
    profiles = list(ResidentProfile.objects.select_related("user", "base", "mentor"))
    assert len(roles) >= 140
    assert {p.user_id for p in profiles} == set(roles)
    mentors = set(RoleAssignment.objects.active_on().filter(role=Role.MENTOR).values_list("user_id", "base_id"))
    for profile in profiles:
        missing = [f for f in REQUIRED if getattr(profile, f) in (None, "")]
        assert not missing, (profile.user.username, missing)
        id_number = profile.user.id_number
        assert profile.birth_date.strftime("%Y%m%d") == id_number[6:14], profile.user.username
        assert profile.gender == (Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE), profile.user.username
        role = roles[profile.user_id]
        assert (profile.base_id, profile.cohort) == (role.base_id, role.valid_from.year)
        assert profile.start_date == date(profile.cohort, 9, 1)
        assert profile.graduation_date < profile.start_date
        assert profile.name_initials and profile.name_initials.isascii()
        assert id_number not in profile.qualification_number + profile.practising_number
        assert 1 <= profile.emergency_contacts.count() <= 2
        if profile.mentor_id:
            assert (profile.mentor_id, profile.base_id) in mentors, profile.user.username
        if profile.status == TrainingStatus.IN_TRAINING:
            assert profile.planned_end_date == date(profile.cohort + profile.training_years, 8, 31)
    assert sum(p.mentor_id is not None for p in profiles) >= 0.9 * len(profiles)
    assert sum(p.training_years == 3 for p in profiles) >= 0.9 * len(profiles)
    assert sum(p.ethnicity == "汉族" for p in profiles) >= 0.8 * len(profiles)
    assert len({p.school for p in profiles}) >= 10
    assert {p.category for p in profiles} == {"own", "entrusted", "social", "master"}
    assert all(p.sending_unit for p in profiles if p.category == "entrusted")
    older = [p for p in profiles if p.cohort <= 2024]
    assert sum(p.has_qualification and bool(p.qualification_number) for p in older) >= 0.7 * len(older)
    assert any(p.practising_registration for p in profiles)


def test_each_cohort_has_a_batch_whose_quotas_cover_what_it_enrolled(demo):
    batches = {b.year: b for b in EnrollmentBatch.objects.filter(hospital__code="demo")}
    assert set(batches) == {2023, 2024, 2025}
    assert batches[2025].name == "2025年住院医师规范化培训招录"
    assert batches[2025].is_open and not batches[2023].is_open
    enrolled = Counter(ResidentProfile.objects.values_list("batch__year", "base_id"))
    quotas = {(q.batch.year, q.base_id): q.quota for q in EnrollmentQuota.objects.select_related("batch")}
    assert set(quotas) == set(enrolled)
    assert all(quotas[key] >= count for key, count in enrolled.items())
    assert all(p.batch.year == p.cohort for p in ResidentProfile.objects.select_related("batch"))


def test_the_persona_resident_is_complete_in_training_and_seen_by_their_supervisor_mentor_and_department(demo):
    profile = ResidentProfile.objects.select_related("base", "mentor").get(user__username="resident")
    assert profile.status == TrainingStatus.IN_TRAINING and profile.cohort == 2024 and profile.base.code == "0100"
    assert profile.mentor is not None and profile.has_qualification and profile.practising_registration
    assert profile.posts.exists() and profile.conduct_records.exists()

    today = timezone.localdate()
    block = profile.rotation_blocks.get(start_date__lte=today, end_date__gte=today)
    assert (block.department.code, block.supervisor.username) == ("CARD", "supervisor")
    for username in ("resident", "supervisor", "secretary", "head", "director", "office", profile.mentor.username):
        viewer = User.objects.get(username=username)
        assert visible(viewer, ResidentProfile).filter(pk=profile.pk).exists(), username
    for username in ("b0900.director", "gsur.head", "clerk", "auditor", "r2023001"):
        assert not visible(User.objects.get(username=username), ResidentProfile).filter(pk=profile.pk).exists()

    certificates = list(profile.certificates.all())
    assert len(certificates) == 2
    for certificate in certificates:
        with default_storage.open(certificate.file.name) as stored:
            head = stored.read(8)
        assert head.startswith(b"%PDF-" if certificate.content_type == "application/pdf" else b"\x89PNG")
    assert 4 <= Certificate.objects.count() <= 8


def test_posts_awards_and_one_closed_and_one_open_disciplinary_case(demo):
    monitors = Counter(Post.objects.filter(title="班长").values_list("resident__cohort", "resident__base_id"))
    assert set(monitors.values()) == {1}
    assert len(monitors) == len(set(ResidentProfile.objects.values_list("cohort", "base_id")))
    assert Post.objects.filter(title="总住院医师", resident__cohort=2023).count() >= 2
    assert ConductRecord.objects.filter(kind__in=[ConductKind.AWARD, ConductKind.COMMENDATION]).count() >= 8
    cases = ConductRecord.objects.filter(kind=ConductKind.DISCIPLINE)
    assert sorted(cases.values_list("is_closed", flat=True)) == [False, True]
    assert cases.get(is_closed=False).resident.status != TrainingStatus.COMPLETED


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (ChangeKind.WITHDRAW, TrainingStatus.WITHDRAWN),
        (ChangeKind.EXTEND, TrainingStatus.EXTENDED),
        (ChangeKind.SUSPEND, TrainingStatus.SUSPENDED),
    ],
)
def test_withdrawn_extended_and_suspended_residents_have_the_history_an_approval_leaves(demo, kind, status):
    change = TrainingChange.objects.select_related("resident").get(kind=kind)
    profile = change.resident
    assert change.state == ChangeState.APPROVED and change.reason and change.decided_at
    assert profile.status == status and profile.status_since == change.effective_date
    assert change.applied_changes["status"] == [TrainingStatus.IN_TRAINING, status]
    assert change.requested_at <= change.decided_at
    revision = profile.revisions.get(source=RevisionSource.APPROVAL)
    assert change.reason in revision.note and revision.changed_by.username == "office"
    assert profile.revisions.filter(source=RevisionSource.ENROLLMENT).exists()
    if kind == ChangeKind.EXTEND:
        old, new = change.applied_changes["planned_end_date"]
        assert new == profile.planned_end_date.isoformat() == change.new_planned_end_date.isoformat() > old

    request = approval_request_for(change)
    assert request is not None and request.status == RequestStatus.APPROVED and request.subject == profile.user
    approvers = {a.actor.username for a in request.actions.filter(kind=ActionKind.APPROVE)}
    assert "office" in approvers and len(approvers) == 2  # the base director, then the office

    # the extended resident is scheduled over the longer window; withdrawn and suspended ones are not scheduled
    assert profile.rotation_blocks.exists() == (status == TrainingStatus.EXTENDED)


def test_residents_whose_planned_end_has_passed_have_completed(demo):
    today = timezone.localdate()
    overdue = ResidentProfile.objects.filter(planned_end_date__lt=today)
    assert not overdue.filter(status=TrainingStatus.IN_TRAINING).exists()
    for profile in overdue.filter(status=TrainingStatus.COMPLETED):
        assert profile.training_changes.get(kind=ChangeKind.COMPLETE).state == ChangeState.APPROVED


def test_residents_in_training_follow_a_published_schedule_of_their_programme_under_available_supervisors(demo):
    today = timezone.localdate()
    in_training = ResidentProfile.objects.filter(status__in=[TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED])
    published = ScheduleRun.objects.get(status=RunStatus.PUBLISHED)
    assert published.version == 1 and published.stats["overflow"] == 0
    blocks = RotationBlock.objects.filter(resident__in=in_training).select_related("resident", "department")
    assert {b.resident_id for b in blocks} == set(in_training.values_list("pk", flat=True))
    current = [b for b in blocks if b.start_date <= today <= b.end_date]
    assert len(current) >= 0.8 * in_training.count()  # the others are in one of their 3 unassigned months

    allowed = defaultdict(set)  # base -> departments its programme names
    for requirement in ProgrammeRequirement.objects.select_related("programme").prefetch_related("options"):
        allowed[requirement.programme.base_id] |= {requirement.department_id} | {
            o.pk for o in requirement.options.all()
        }
    available = set(DepartmentSupervisor.objects.values_list("user_id", "department_id"))
    for block in blocks:
        assert block.department_id in allowed[block.resident.base_id]
        if block.supervisor_id:
            assert (block.supervisor_id, block.department_id) in available
    assert sum(1 for b in current if b.supervisor_id) >= 0.8 * len(current)
    for block in current:  # nobody supervises more than three residents at once
        assert (
            Counter(b.supervisor_id for b in current if b.supervisor_id)[block.supervisor_id] <= 3
            or not block.supervisor_id
        )
    completed = ResidentProfile.objects.filter(status=TrainingStatus.COMPLETED)
    assert RotationBlock.objects.filter(resident__in=completed, run__isnull=True).count() >= 10 * completed.count()
    for username in ("secretary", "head"):
        department_residents = visible(User.objects.get(username=username), ResidentProfile)
        assert department_residents.filter(user__username="resident").exists()


def test_running_the_seeders_again_creates_nothing(demo):
    before = {model: model.objects.count() for model in MODELS}

    summaries = _seed()

    assert {model: model.objects.count() for model in MODELS} == before
    assert summaries["residents"] == summaries["rotation"] == "up to date"
    assert "archives" in demo["residents"] and "rotation blocks" in demo["rotation"]
