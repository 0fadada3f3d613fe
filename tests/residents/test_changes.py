"""Training changes (退培, 延期, 休学, change of base ...) end to end: request, two approvals, the archive.

李住院 (内科, cohort 2025, 2025-09-01 – 2028-08-31, in training) asks; 周基地 (内科's base
director) decides first, 孙培训 (the training office) last. The archive changes only then.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import RoleAssignment, User
from approvals.choices import RequestStatus
from approvals.models import ApprovalRequest
from residents import changes
from residents.choices import ChangeKind, ChangeState, RevisionSource, TrainingStatus
from residents.models import ArchiveRevision, ResidentProfile, TrainingChange
from tests.permissions import LOGIN, assert_access

# Messages are asserted in English (the catalogue translates them for zh-hans).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

REASON = "家庭原因，无法继续参加培训"


def _url(profile, kind: str = "") -> str:
    url = reverse("residents:change_request", args=[profile.uuid])
    return f"{url}?kind={kind}" if kind else url


def _ask(client, user, profile, **data):
    """The requester fills in the form and sends it."""
    client.force_login(user)
    payload = {"effective_date": "2026-03-01", "reason": REASON, **data}
    return client.post(_url(profile), payload)


def _decide(client, user, change, decision: str = "approve", comment: str = ""):
    """An approver decides the change's current step on the approval request page."""
    approval = changes.approval_request_for(change)
    client.force_login(user)
    response = client.post(
        reverse("approvals:decide", args=[approval.uuid]),
        {"decision": decision, "version": approval.version, "comment": comment},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    approval.refresh_from_db()
    return approval


def _errors(response) -> str:
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _archive(profile) -> ResidentProfile:
    return ResidentProfile.objects.get(pk=profile.pk)


def _history(client, user, profile) -> str:
    """The status history part of the archive page, as `user` sees it."""
    client.force_login(user)
    response = client.get(reverse("residents:detail", args=[profile.uuid]))
    assert response.status_code == 200
    page = response.content.decode()
    start = page.index('data-testid="training-changes"')
    return page[start : page.index("Training started", start)]


def test_a_withdrawal_reaches_the_archive_only_after_the_office_approves(
    client, resident_profile, resident, director, office, audit_events
):
    client.force_login(resident)
    chooser = client.get(_url(resident_profile))
    assert chooser.status_code == 200
    assert ("withdraw", ChangeKind.WITHDRAW.label) in chooser.context["kinds"]
    assert ("resume", ChangeKind.RESUME.label) not in chooser.context["kinds"]  # not suspended
    form_page = client.get(_url(resident_profile, "withdraw"))
    assert set(form_page.context["form"].fields) == {"kind", "effective_date", "reason"}

    response = _ask(client, resident, resident_profile, kind="withdraw")

    assert response.status_code == 302
    assert response["Location"] == reverse("residents:detail", args=[resident_profile.uuid])
    change = TrainingChange.objects.get(resident=resident_profile)
    assert (change.kind, change.state, change.reason, change.requested_by) == (
        ChangeKind.WITHDRAW,
        ChangeState.PENDING,
        REASON,
        resident,
    )
    approval = changes.approval_request_for(change)
    assert approval.status == RequestStatus.PENDING and approval.current_step.role == Role.BASE_DIRECTOR
    assert approval.subject == resident and approval.base == resident_profile.base
    assert _archive(resident_profile).status == TrainingStatus.IN_TRAINING

    # The director sees what is asked on the approval page: current vs requested, and why.
    client.force_login(director)
    page = client.get(reverse("approvals:detail", args=[approval.uuid])).content.decode()
    assert REASON in page and 'data-testid="change-values"' in page and str(TrainingStatus.WITHDRAWN.label) in page

    approval = _decide(client, director, change)
    assert approval.status == RequestStatus.PENDING and approval.current_step.role == Role.TRAINING_OFFICE
    archive = _archive(resident_profile)
    assert (archive.status, archive.status_since) == (TrainingStatus.IN_TRAINING, None)
    change.refresh_from_db()
    assert change.state == ChangeState.PENDING

    approval = _decide(client, office, change)

    assert approval.status == RequestStatus.APPROVED
    archive = _archive(resident_profile)
    assert (archive.status, archive.status_since) == (TrainingStatus.WITHDRAWN, datetime.date(2026, 3, 1))
    change.refresh_from_db()
    assert change.state == ChangeState.APPROVED and change.decided_at is not None
    assert change.applied_changes == {"status": ["in_training", "withdrawn"], "status_since": [None, "2026-03-01"]}
    revision = ArchiveRevision.objects.get(resident=resident_profile)
    assert (revision.source, revision.changed_by) == (RevisionSource.APPROVAL, office)
    assert revision.changes[str(ResidentProfile._meta.get_field("status").verbose_name)] == [
        str(TrainingStatus.IN_TRAINING.label),
        str(TrainingStatus.WITHDRAWN.label),
    ]
    actions = [e["action"] for e in audit_events]
    assert "resident.training_change.request" in actions
    applied = next(e for e in audit_events if e["action"] == "resident.training_change.apply")
    assert applied["user"]["username"] == "office"
    assert applied["changes"]["status"] == ["in_training", "withdrawn"]

    # The status history on the archive lists it, with its reason and who asked.
    history = _history(client, resident, resident_profile)
    assert history.count('data-testid="history-entry"') == 1
    assert str(ChangeKind.WITHDRAW.label) in history and REASON in history and resident.display_name in history
    assert "2026-03-01" in history and 'data-testid="pending-change"' not in history


def test_a_rejection_by_the_director_leaves_the_archive_as_it_was(
    client, resident_profile, resident, director, audit_events
):
    _ask(client, resident, resident_profile, kind="suspend")
    change = TrainingChange.objects.get(resident=resident_profile)

    approval = _decide(client, director, change, decision="reject", comment="材料不全")

    assert approval.status == RequestStatus.REJECTED
    change.refresh_from_db()
    assert change.state == ChangeState.REJECTED and change.decided_at is not None
    archive = _archive(resident_profile)
    assert (archive.status, archive.status_since) == (TrainingStatus.IN_TRAINING, None)
    assert not ArchiveRevision.objects.filter(resident=resident_profile).exists()
    assert "resident.training_change.reject" in [e["action"] for e in audit_events]
    assert "resident.training_change.apply" not in [e["action"] for e in audit_events]
    history = _history(client, resident, resident_profile)
    assert 'data-testid="history-entry"' not in history and REASON not in history


def test_while_waiting_the_history_shows_the_request_with_a_link_to_its_approval(
    client, resident_profile, resident, director, mentor
):
    _ask(client, resident, resident_profile, kind="suspend")
    change = TrainingChange.objects.get(resident=resident_profile)
    history = _history(client, resident, resident_profile)
    assert 'data-testid="pending-change"' in history and REASON in history
    assert reverse("residents:change_approval", args=[change.uuid]) in history
    assert reverse("residents:change_withdraw", args=[change.uuid]) in history  # the requester may take it back
    assert reverse("residents:change_request", args=[resident_profile.uuid]) in history

    as_director = _history(client, director, resident_profile)  # may ask for changes, but did not ask this one
    assert reverse("residents:change_request", args=[resident_profile.uuid]) in as_director
    assert reverse("residents:change_withdraw", args=[change.uuid]) not in as_director
    as_mentor = _history(client, mentor, resident_profile)  # sees the archive, may not ask
    assert 'data-testid="pending-change"' in as_mentor and REASON in as_mentor
    assert reverse("residents:change_request", args=[resident_profile.uuid]) not in as_mentor
    assert reverse("residents:change_withdraw", args=[change.uuid]) not in as_mentor

    client.force_login(director)
    response = client.get(reverse("residents:change_approval", args=[change.uuid]))
    assert response.status_code == 302
    assert response["Location"] == reverse("approvals:detail", args=[changes.approval_request_for(change).uuid])


def test_a_change_of_base_moves_the_resident_role_to_the_new_base(
    client, org, resident_profile, resident, director, office, audit_events
):
    today = timezone.localdate()
    client.force_login(resident)
    form = client.get(_url(resident_profile, "change_base")).context["form"]
    assert list(form.fields["new_base"].queryset) == [org.surgery]  # the current base is not offered

    response = _ask(
        client,
        resident,
        resident_profile,
        kind="change_base",
        new_base=org.surgery.pk,
        effective_date=today.isoformat(),
    )
    assert response.status_code == 302
    change = TrainingChange.objects.get(resident=resident_profile)
    _decide(client, director, change)  # the director of the base the resident leaves decides first
    assert _archive(resident_profile).base == org.internal
    _decide(client, office, change)

    archive = _archive(resident_profile)
    assert archive.base == org.surgery and archive.status == TrainingStatus.IN_TRAINING
    user = User.objects.get(pk=resident.pk)
    assert user.scope.bases(Role.RESIDENT) == {org.surgery.pk}
    old = RoleAssignment.objects.get(user=resident, role=Role.RESIDENT, base=org.internal)
    assert old.valid_until == today - datetime.timedelta(days=1)
    new = RoleAssignment.objects.get(user=resident, role=Role.RESIDENT, base=org.surgery)
    assert (new.valid_from, new.valid_until, new.granted_by) == (today, None, office)
    change.refresh_from_db()
    assert change.applied_changes == {"base": ["内科", "外科"]}
    actions = [e["action"] for e in audit_events]
    assert {"role.end", "role.assign", "resident.training_change.apply"} <= set(actions)


def test_an_extension_sets_the_new_planned_end(client, resident_profile, resident, director, office):
    _ask(client, resident, resident_profile, kind="extend", new_planned_end_date="2029-08-31")
    change = TrainingChange.objects.get(resident=resident_profile)
    assert change.new_planned_end_date == datetime.date(2029, 8, 31)
    _decide(client, director, change)
    assert _archive(resident_profile).planned_end_date == datetime.date(2028, 8, 31)
    _decide(client, office, change)

    archive = _archive(resident_profile)
    assert (archive.status, archive.planned_end_date, archive.status_since) == (
        TrainingStatus.EXTENDED,
        datetime.date(2029, 8, 31),
        datetime.date(2026, 3, 1),
    )
    change.refresh_from_db()
    assert change.applied_changes["planned_end_date"] == ["2028-08-31", "2029-08-31"]


def test_the_three_year_limit_counts_from_the_original_planned_end(
    client, resident_profile, resident, director, office
):
    _ask(client, resident, resident_profile, kind="extend", new_planned_end_date="2030-08-31")
    change = TrainingChange.objects.get(resident=resident_profile)
    _decide(client, director, change)
    _decide(client, office, change)
    assert changes.extension_limit(_archive(resident_profile)) == datetime.date(2031, 8, 31)

    response = _ask(client, resident, resident_profile, kind="extend", new_planned_end_date="2031-09-01")

    assert response.status_code == 200
    assert "2031-08-31" in _errors(response) and "at most 3 years" in _errors(response)
    assert TrainingChange.objects.filter(resident=resident_profile).count() == 1
    assert _archive(resident_profile).planned_end_date == datetime.date(2030, 8, 31)


def test_a_change_of_cohort_and_a_completion_apply_their_fields(client, resident_profile, resident, director, office):
    _ask(client, resident, resident_profile, kind="change_cohort", new_cohort="2026")
    change = TrainingChange.objects.get(resident=resident_profile)
    _decide(client, director, change)
    _decide(client, office, change)
    assert _archive(resident_profile).cohort == 2026

    _ask(client, resident, resident_profile, kind="complete", effective_date="2028-08-31")
    change = TrainingChange.objects.get(resident=resident_profile, kind=ChangeKind.COMPLETE)
    _decide(client, director, change)
    _decide(client, office, change)
    archive = _archive(resident_profile)
    assert (archive.status, archive.status_since) == (TrainingStatus.COMPLETED, datetime.date(2028, 8, 31))


def test_a_suspension_and_a_resumption(client, resident_profile, resident, director, office):
    _ask(client, resident, resident_profile, kind="suspend", effective_date="2026-01-10")
    change = TrainingChange.objects.get(resident=resident_profile)
    _decide(client, director, change)
    _decide(client, office, change)
    assert _archive(resident_profile).status == TrainingStatus.SUSPENDED

    client.force_login(resident)
    kinds = [k for k, _label in client.get(_url(resident_profile)).context["kinds"]]
    assert "resume" in kinds and "suspend" not in kinds and "complete" not in kinds

    _ask(client, resident, resident_profile, kind="resume", effective_date="2026-07-01")
    change = TrainingChange.objects.get(resident=resident_profile, kind=ChangeKind.RESUME)
    _decide(client, director, change)
    _decide(client, office, change)
    archive = _archive(resident_profile)
    assert (archive.status, archive.status_since) == (TrainingStatus.IN_TRAINING, datetime.date(2026, 7, 1))
    history = _history(client, resident, resident_profile)
    assert history.count('data-testid="history-entry"') == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "withdraw", "reason": "  "}, "Give the reason for this change"),
        ({"kind": "resume"}, "Only suspended training can be resumed"),
        ({"kind": "extend", "new_planned_end_date": "2028-01-31"}, "must be later than the current one (2028-08-31)"),
        ({"kind": "extend"}, "Give the new planned end date"),
        ({"kind": "withdraw", "effective_date": "2025-01-01"}, "before training started (2025-09-01)"),
        ({"kind": "change_cohort", "new_cohort": "2025"}, "already in cohort 2025"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_created(
    client, resident_profile, resident, data, message, audit_events
):
    response = _ask(client, resident, resident_profile, **data)

    assert response.status_code == 200
    assert message in _errors(response)
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not TrainingChange.objects.exists()
    assert not ApprovalRequest.objects.exists()
    assert _archive(resident_profile).status == TrainingStatus.IN_TRAINING
    assert "resident.training_change.request" not in [e["action"] for e in audit_events]


def test_a_closed_archive_accepts_no_change(client, resident_profile, resident, office):
    ResidentProfile.objects.filter(pk=resident_profile.pk).update(status=TrainingStatus.COMPLETED)
    client.force_login(office)
    assert client.get(_url(resident_profile)).context["kinds"] == []
    response = _ask(client, office, resident_profile, kind="extend", new_planned_end_date="2029-08-31")
    assert "This archive is closed" in _errors(response)
    assert not TrainingChange.objects.exists()


def test_a_base_of_another_hospital_is_refused(org, resident_profile, resident):
    from tests.factories.accounts import HospitalFactory, SpecialtyBaseFactory

    elsewhere = SpecialtyBaseFactory(hospital=HospitalFactory(code="other"), name="别院内科")
    inactive = SpecialtyBaseFactory(hospital=org.hospital, name="停招基地", is_active=False)
    for base, message in ((elsewhere, "same hospital"), (inactive, "no longer takes residents")):
        with pytest.raises(Exception) as caught:
            changes.training_change_submit(
                profile=resident_profile,
                acting_user=resident,
                kind=ChangeKind.CHANGE_BASE,
                effective_date=datetime.date(2026, 3, 1),
                reason=REASON,
                new_base=base,
            )
        assert message in " ".join(caught.value.messages)
    assert not TrainingChange.objects.exists()


def test_a_second_request_while_one_is_waiting_is_refused(client, resident_profile, resident, director):
    _ask(client, resident, resident_profile, kind="suspend")
    assert TrainingChange.objects.count() == 1

    response = _ask(client, director, resident_profile, kind="withdraw")

    assert response.status_code == 200
    assert "A request is already waiting" in _errors(response)
    assert TrainingChange.objects.count() == 1
    client.force_login(resident)
    page = client.get(_url(resident_profile)).content.decode()
    assert 'data-testid="pending-change"' in page


def test_the_requester_withdraws_a_waiting_request_and_may_ask_again(
    client, resident_profile, resident, director, audit_events
):
    _ask(client, resident, resident_profile, kind="suspend")
    change = TrainingChange.objects.get(resident=resident_profile)

    response = client.post(reverse("residents:change_withdraw", args=[change.uuid]))

    assert response.status_code == 302
    assert response["Location"] == reverse("residents:detail", args=[resident_profile.uuid])
    change.refresh_from_db()
    assert change.state == ChangeState.WITHDRAWN
    assert changes.approval_request_for(change).status == RequestStatus.WITHDRAWN
    assert _archive(resident_profile).status == TrainingStatus.IN_TRAINING
    assert "resident.training_change.withdraw" in [e["action"] for e in audit_events]
    assert _ask(client, resident, resident_profile, kind="withdraw").status_code == 302
    assert TrainingChange.objects.filter(state=ChangeState.PENDING).count() == 1


def test_who_may_open_the_change_request_page(client, archive_personas, resident_profile):
    assert_access(
        client,
        archive_personas,
        {
            "resident": 200,
            "office": 200,
            "director": 200,
            "other_director": 404,
            "supervisor": 403,
            "mentor": 403,
            "secretary": 403,
            "head": 403,
            "clerk": 404,
            "other_resident": 404,
            "sysadmin": 404,
            "auditor": 404,
            "outsider": 404,
            "anonymous": LOGIN,
        },
        _url(resident_profile, "withdraw"),
    )


def test_who_may_send_a_change_request(client, archive_personas, resident_profile):
    data = {"kind": "suspend", "effective_date": "2026-03-01", "reason": REASON}
    assert_access(
        client,
        archive_personas,
        {
            "anonymous": LOGIN,
            "outsider": 404,
            "other_director": 404,
            "other_resident": 404,
            "supervisor": 403,
            "mentor": 403,
            "head": 403,
        },
        _url(resident_profile),
        method="post",
        data=data,
    )
    assert not TrainingChange.objects.exists()
    assert_access(client, archive_personas, {"director": 302}, _url(resident_profile), method="post", data=data)
    assert TrainingChange.objects.get().requested_by == archive_personas["director"]


def test_who_may_withdraw_and_follow_a_change(client, archive_personas, resident_profile):
    resident = archive_personas["resident"]
    change = changes.training_change_submit(
        profile=resident_profile,
        acting_user=resident,
        kind=ChangeKind.SUSPEND,
        effective_date=datetime.date(2026, 3, 1),
        reason=REASON,
    )
    assert_access(
        client,
        archive_personas,
        {
            "anonymous": LOGIN,
            "outsider": 404,
            "other_resident": 404,
            "other_director": 404,
            "clerk": 404,
            "auditor": 404,
            "resident": 302,
            "mentor": 302,
            "director": 302,
            "office": 302,
        },
        reverse("residents:change_approval", args=[change.uuid]),
    )
    assert_access(
        client,
        archive_personas,
        {
            "anonymous": LOGIN,
            "outsider": 404,
            "other_resident": 404,
            "other_director": 404,
            "clerk": 404,
            "supervisor": 403,
            "mentor": 403,
            "director": 403,
            "office": 403,
            "resident": 302,
        },
        reverse("residents:change_withdraw", args=[change.uuid]),
        method="post",
    )
    change.refresh_from_db()
    assert change.state == ChangeState.WITHDRAWN
