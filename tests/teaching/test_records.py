"""Records (upload → office review → accept / send back → resubmit), files, ratings and who sees what."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from notices.models import Notification
from teaching.choices import ActivityStatus, Purpose, RecordStatus
from teaching.models import ActivityRecord, Rating, RatingIndicator, RecordFile
from teaching.services import records as services
from tests.conftest import _person
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.permissions import LOGIN, assert_access

from .test_records_helpers import attend, make_activity

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n"


def png(name="现场.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def pdf(name="课件.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def activity(org, supervisor, current_block):
    return make_activity(org.cardiology, supervisor)


def upload(client, activity, **files):
    data = {"summary": "讲解了心衰的分级与用药。", **files}
    return client.post(reverse("teaching:records_detail", args=[activity.uuid]), data)


# ---------------------------------------------------------------- records


def test_record_goes_to_review_is_sent_back_and_resubmitted(
    client, activity, supervisor, office, english, audit_events
):
    client.force_login(supervisor)
    response = upload(client, activity, photos=[png()], slides=[pdf()])
    assert response.status_code == 302
    record = ActivityRecord.objects.get(activity=activity)
    assert record.status == RecordStatus.SUBMITTED
    assert sorted(record.files.values_list("kind", flat=True)) == ["photo", "slides"]
    assert Notification.objects.filter(user=office, kind="teaching.record").exists()

    client.force_login(office)
    page = client.get(reverse("teaching:records_detail", args=[activity.uuid]))
    assert b'data-testid="review-form"' in page.content
    review = reverse("teaching:records_review", args=[activity.uuid])
    client.post(review, {"decision": "send_back", "reason": ""})
    record.refresh_from_db()
    assert record.status == RecordStatus.SUBMITTED  # a reason is required
    client.post(review, {"decision": "send_back", "reason": "照片看不到参会人员"})
    record.refresh_from_db()
    assert record.status == RecordStatus.REJECTED and record.review_reason == "照片看不到参会人员"
    notice = Notification.objects.get(user=supervisor, kind="teaching.record")
    assert "照片看不到参会人员" in notice.body

    client.force_login(supervisor)
    page = client.get(reverse("teaching:records_detail", args=[activity.uuid]))
    assert "照片看不到参会人员" in page.content.decode()
    assert upload(client, activity, photos=[png("全景.png")]).status_code == 302
    record.refresh_from_db()
    assert record.status == RecordStatus.SUBMITTED and record.files.count() == 3

    client.force_login(office)
    client.post(review, {"decision": "accept", "reason": ""})
    record.refresh_from_db()
    assert record.status == RecordStatus.APPROVED and record.reviewed_by == office
    actions = [e["action"] for e in audit_events]
    for action in ("teaching.record.submit", "teaching.record.send_back", "teaching.record.resubmit"):
        assert action in actions
    assert "teaching.record.accept" in actions

    client.force_login(supervisor)
    assert upload(client, activity, photos=[png()]).status_code == 403  # accepted: final


@pytest.mark.parametrize(
    ("field", "file", "message"),
    [
        ("slides", lambda: pdf("大.pdf", PDF + b"0" * (40 * 1024 * 1024)), "at most"),
        ("slides", lambda: pdf("假.pdf", b"<html><script>alert(1)</script></html>"), "is not a PDF file"),
        ("photos", lambda: pdf("slides.pdf"), "not an accepted file type"),
    ],
)
def test_a_bad_upload_is_refused_with_a_clear_message_and_nothing_saved(
    client, activity, supervisor, english, field, file, message
):
    client.force_login(supervisor)
    response = upload(client, activity, **{field: [file()]})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ActivityRecord.objects.exists() and not RecordFile.objects.exists()


def test_the_service_refuses_bad_files_even_without_the_form(activity, supervisor, english):
    with pytest.raises(ValidationError) as error:
        services.record_submit(
            activity=activity,
            summary="x",
            photos=[png()],
            slides=[pdf("假.pdf", b"<!doctype html><p>hi")],
            acting_user=supervisor,
        )
    assert "is not a PDF file" in " ".join(error.value.messages)
    assert not ActivityRecord.objects.exists() and not RecordFile.objects.exists()


def test_a_record_needs_the_activity_to_have_ended_a_summary_and_a_file(org, supervisor, english):
    future = make_activity(org.cardiology, supervisor, starts_at=timezone.now() + datetime.timedelta(days=1))
    with pytest.raises(ValidationError, match="once the activity has ended"):
        services.record_submit(activity=future, summary="x", photos=[png()], acting_user=supervisor)
    past = make_activity(org.cardiology, supervisor)
    with pytest.raises(ValidationError) as error:
        services.record_submit(activity=past, summary=" ", acting_user=supervisor)
    assert "summary" in " ".join(error.value.messages)
    with pytest.raises(ValidationError, match="at least one"):
        services.record_submit(activity=past, summary="ok", acting_user=supervisor)


def test_only_the_office_reviews(activity, supervisor, secretary, director):
    record = services.record_submit(activity=activity, summary="ok", photos=[png()], acting_user=secretary)
    for user in (supervisor, secretary, director):
        with pytest.raises(services.PermissionDenied):
            services.record_review(record=record, accept=True, reason="", acting_user=user)


def test_record_files_are_served_only_through_the_permission_checked_view(
    client, activity, supervisor, personas, current_block
):
    record = services.record_submit(activity=activity, summary="ok", photos=[png()], acting_user=supervisor)
    stored = record.files.get()
    url = reverse("teaching:records_file", args=[activity.uuid, stored.pk])
    expected = {
        "anonymous": LOGIN,
        "resident": 403,
        "other_resident": 404,
        "supervisor": 200,
        "secretary": 200,
        "head": 200,
        "director": 200,
        "other_director": 404,
        "office": 200,
        "auditor": 404,
        "outsider": 404,
    }
    assert_access(client, personas, expected, url)
    client.force_login(supervisor)
    response = client.get(url)
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


def test_record_page_permission_matrix(client, activity, personas):
    url = reverse("teaching:records_detail", args=[activity.uuid])
    expected = {
        "anonymous": LOGIN,
        "resident": 403,
        "other_resident": 404,
        "supervisor": 200,
        "secretary": 200,
        "head": 200,
        "clerk": 200,
        "director": 200,
        "other_director": 404,
        "office": 200,
        "sysadmin": 404,
        "auditor": 404,
        "outsider": 404,
    }
    assert_access(client, personas, expected, url)
    # Uploading is the teacher's and the secretary's; the head and the office only read.
    post = {"summary": "x"}
    assert_access(client, personas, {"head": 403, "office": 403, "other_resident": 404}, url, method="post", data=post)


def test_review_permission_matrix(client, activity, supervisor, personas):
    services.record_submit(activity=activity, summary="ok", photos=[png()], acting_user=supervisor)
    url = reverse("teaching:records_review", args=[activity.uuid])
    data = {"decision": "accept"}
    expected = {
        "anonymous": LOGIN,
        "other_resident": 404,
        "resident": 403,
        "supervisor": 403,
        "head": 403,
        "director": 403,
        "outsider": 404,
    }
    assert_access(client, personas, expected, url, method="post", data=data)
    assert ActivityRecord.objects.get().status == RecordStatus.SUBMITTED
    assert_access(client, personas, {"office": 302}, url, method="post", data=data)
    assert ActivityRecord.objects.get().status == RecordStatus.APPROVED


def test_record_list_shows_the_office_its_queue(client, activity, supervisor, office, other_director, resident):
    services.record_submit(activity=activity, summary="ok", photos=[png()], acting_user=supervisor)
    client.force_login(office)
    page = client.get(reverse("teaching:records_list"))
    assert activity.title in page.content.decode()
    client.force_login(other_director)
    assert activity.title not in client.get(reverse("teaching:records_list")).content.decode()
    client.force_login(resident)
    assert client.get(reverse("teaching:records_list")).status_code == 403


# ---------------------------------------------------------------- ratings


def residents_in(org, count, start=0):
    users = []
    for i in range(start, start + count):
        user = _person(f"r{i}", f"住院{i}", Role.RESIDENT, base=org.internal)
        profile = ResidentProfileFactory(user=user, base=org.internal)
        today = timezone.localdate()
        RotationBlockFactory(
            resident=profile,
            department=org.cardiology,
            start_date=today - datetime.timedelta(days=40),
            end_date=today + datetime.timedelta(days=40),
        )
        users.append(user)
    return users


def scores_for(activity, value=4):
    indicators = services.indicators_for(services.rating_hospital(activity))
    return {f"score_{i.pk}": value for i in indicators}


def test_default_indicators_are_created_once(org, activity):
    first = services.indicators_for(org.hospital)
    assert [i.name for i in first] == ["内容实用", "讲解清晰", "互动充分"]
    services.indicators_for(org.hospital)
    assert RatingIndicator.objects.filter(hospital=org.hospital).count() == 3


def test_a_resident_rates_only_after_checking_out_and_only_once(client, activity, resident, english):
    url = reverse("teaching:records_rate", args=[activity.uuid])
    client.force_login(resident)
    assert client.get(url).status_code == 403  # not attended
    attend(activity, resident, Purpose.CHECK_IN)
    assert client.get(url).status_code == 403  # checked in only
    attend(activity, resident, Purpose.CHECK_OUT)
    assert client.get(url).status_code == 200
    response = client.post(url, {**scores_for(activity, 5), "comment": "很好"})
    assert response.status_code == 302
    rating = Rating.objects.get(activity=activity, user=resident)
    assert set(rating.scores.values()) == {5} and rating.comment == "很好"
    # Once: the page now shows their own rating and a second post changes nothing.
    page = client.get(url)
    assert b'data-testid="own-rating"' in page.content
    client.post(url, {**scores_for(activity, 1)})
    rating.refresh_from_db()
    assert set(rating.scores.values()) == {5}
    with pytest.raises(ValidationError, match="already rated"):
        services.rating_submit(
            activity=activity,
            scores={i.pk: 3 for i in services.indicators_for(services.rating_hospital(activity))},
            comment="",
            acting_user=resident,
        )


def test_every_indicator_needs_1_to_5_stars(client, activity, resident):
    attend(activity, resident)
    scores = scores_for(activity, 4)
    scores[next(iter(scores))] = 6
    client.force_login(resident)
    response = client.post(reverse("teaching:records_rate", args=[activity.uuid]), scores)
    assert response.status_code == 400 and not Rating.objects.exists()


def test_another_departments_resident_cannot_open_the_rating(client, activity, other_resident):
    client.force_login(other_resident)
    assert client.get(reverse("teaching:records_rate", args=[activity.uuid])).status_code == 404


def test_teacher_sees_aggregates_only_from_three_ratings_and_the_office_sees_everything(
    client, org, activity, supervisor, office
):
    users = residents_in(org, 3)
    for user in users:
        attend(activity, user)
    indicators = services.indicators_for(services.rating_hospital(activity))
    for value, user in zip([3, 4], users, strict=False):
        services.rating_submit(
            activity=activity, scores={i.pk: value for i in indicators}, comment=f"评论{value}", acting_user=user
        )
    summary = services.rating_summary(activity, supervisor)
    assert summary["count"] == 2 and not summary["shown"] and summary["ratings"] == []
    client.force_login(supervisor)
    page = client.get(reverse("teaching:records_detail", args=[activity.uuid])).content.decode()
    assert 'data-testid="ratings-hidden"' in page and "评论3" not in page

    office_view = services.rating_summary(activity, office)
    assert office_view["shown"] and len(office_view["ratings"]) == 2

    services.rating_submit(activity=activity, scores={i.pk: 5 for i in indicators}, comment="", acting_user=users[2])
    summary = services.rating_summary(activity, supervisor)
    assert summary["shown"] and summary["ratings"] == []
    assert str(summary["overall"]) == "4.00"
    page = client.get(reverse("teaching:records_detail", args=[activity.uuid])).content.decode()
    assert "4.00" in page and "评论3" not in page and 'data-testid="individual-ratings"' not in page
    client.force_login(office)
    page = client.get(reverse("teaching:records_detail", args=[activity.uuid])).content.decode()
    assert "评论3" in page and 'data-testid="individual-ratings"' in page


def test_a_cancelled_activity_cannot_be_rated(org, supervisor, resident, current_block):
    cancelled = make_activity(org.cardiology, supervisor, status=ActivityStatus.CANCELLED)
    attend(cancelled, resident)
    assert not services.may_rate(resident, cancelled)
