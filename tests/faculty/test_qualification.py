"""指导医师准入: granted when the rule (configurable) is met, refused with what is missing, one valid at a time."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from faculty.choices import Title
from faculty.models import QualificationRule, SupervisorQualification
from tests.faculty.conftest import years_ago

pytestmark = pytest.mark.django_db


def grant(client, profile, **data):
    return client.post(
        reverse("faculty:qualify", args=[profile.uuid]),
        {"granted_on": timezone.localdate().isoformat(), "note": "", **data},
    )


def test_an_attending_who_has_taught_three_years_is_qualified(login_en, office, teacher, audit_events):
    client = login_en(office)
    page = client.get(reverse("faculty:qualify", args=[teacher.uuid]))
    assert "The rule is met." in page.content.decode()

    response = grant(client, teacher, note="科室推荐")

    assert response.status_code == 302
    qualification = SupervisorQualification.objects.get(faculty=teacher)
    today = timezone.localdate()
    assert qualification.granted_on == today
    assert qualification.expires_on == today.replace(year=today.year + 3)
    assert qualification.granted_by == office and qualification.note == "科室推荐"
    assert qualification.is_valid()
    [event] = [e for e in audit_events if e["action"] == "faculty.qualification.grant"]
    assert event["target"]["id"] == str(teacher.uuid)
    assert event["changes"]["expires_on"] == [None, qualification.expires_on.isoformat()]

    detail = client.get(response["Location"]).content.decode()
    assert "Qualified" in detail and qualification.expires_on.strftime("%Y-%m-%d") in detail
    assert "孙培训" in detail  # granted by


def test_a_resident_physician_is_refused_with_the_title_that_is_missing(login_en, office, teacher):
    teacher.title = Title.RESIDENT_PHYSICIAN
    teacher.save()
    client = login_en(office)

    response = grant(client, teacher)

    assert response.status_code == 200
    html = response.content.decode()
    assert "does not meet the qualification rule" in html
    assert "The title must be Attending physician (主治医师) or above" in html
    assert "years of teaching" not in " ".join(response.context["form"].non_field_errors())
    assert not SupervisorQualification.objects.exists()


def test_one_year_of_teaching_is_refused_with_the_years_that_are_missing(login_en, office, teacher, audit_events):
    teacher.teaching_since = years_ago(1, days=5)
    teacher.save()
    client = login_en(office)

    response = grant(client, teacher)

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert "At least 2 years of teaching are required (now 1)." in errors
    assert not any("title" in e for e in errors)
    assert not SupervisorQualification.objects.exists()
    assert not [e for e in audit_events if e["action"] == "faculty.qualification.grant"]


def test_the_office_changing_the_rule_changes_the_outcome(login_en, office, teacher):
    teacher.teaching_since = years_ago(1, days=5)
    teacher.save()
    client = login_en(office)
    assert grant(client, teacher).status_code == 200

    rule = QualificationRule.current()
    rule.min_teaching_years, rule.validity_years = 1, 2
    rule.save()

    response = grant(client, teacher)
    assert response.status_code == 302
    qualification = SupervisorQualification.objects.get(faculty=teacher)
    assert qualification.expires_on.year == qualification.granted_on.year + 2


def test_a_stricter_title_rule_refuses_an_attending(login_en, office, teacher):
    rule = QualificationRule.current()
    rule.min_title = Title.ASSOCIATE_CHIEF
    rule.save()

    response = grant(login_en(office), teacher)

    assert "The title must be Associate chief physician (副主任医师) or above" in response.content.decode()
    assert not SupervisorQualification.objects.exists()


def test_the_teacher_page_says_whether_the_current_rule_is_met(login_en, office, teacher):
    client = login_en(office)
    url = reverse("faculty:detail", args=[teacher.uuid])
    assert "The current rule is met." in client.get(url).content.decode()
    teacher.teaching_since = years_ago(0, days=100)
    teacher.save()
    html = client.get(url).content.decode()
    assert "The current rule is not met" in html and "At least 2 years of teaching are required (now 0)." in html


def test_a_second_grant_while_one_is_valid_is_refused(login_en, office, teacher):
    client = login_en(office)
    assert grant(client, teacher).status_code == 302

    response = grant(client, teacher)

    assert response.status_code == 200
    assert "already holds a valid qualification" in response.content.decode()
    assert SupervisorQualification.objects.filter(faculty=teacher).count() == 1


def test_a_grant_in_the_future_is_refused(login_en, office, teacher):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = grant(login_en(office), teacher, granted_on=tomorrow.isoformat())
    assert "cannot be granted for a future date" in response.content.decode()
    assert not SupervisorQualification.objects.exists()


def test_revoking_needs_a_reason_and_then_allows_a_new_grant(login_en, office, teacher, audit_events):
    client = login_en(office)
    grant(client, teacher)
    qualification = SupervisorQualification.objects.get(faculty=teacher)
    url = reverse("faculty:revoke", args=[qualification.uuid])

    response = client.post(url, {"reason": "  "})
    assert response.status_code == 200
    assert "Give a reason for revoking the qualification." in response.content.decode()
    qualification.refresh_from_db()
    assert qualification.revoked_on is None

    response = client.post(url, {"reason": "带教考核不合格"})
    assert response.status_code == 302
    qualification.refresh_from_db()
    assert qualification.revoked_on == timezone.localdate() and not qualification.is_valid()
    assert "带教考核不合格" in qualification.note
    [event] = [e for e in audit_events if e["action"] == "faculty.qualification.revoke"]
    assert event["extra"]["reason"] == "带教考核不合格"
    html = client.get(reverse("faculty:detail", args=[teacher.uuid])).content.decode()
    assert "Revoked" in html and "带教考核不合格" in html

    assert client.post(url, {"reason": "again"}).status_code == 200  # already revoked
    assert "Only a valid qualification can be revoked." in client.post(url, {"reason": "x"}).content.decode()
    assert grant(client, teacher).status_code == 302
    assert SupervisorQualification.objects.valid_on().filter(faculty=teacher).count() == 1


def test_an_expired_qualification_shows_as_expired(login_en, office, teacher):
    SupervisorQualification.objects.create(
        faculty=teacher, granted_on=years_ago(4), expires_on=years_ago(1), granted_by=office
    )
    response = login_en(office).get(reverse("faculty:detail", args=[teacher.uuid]))
    assert response.context["qualification_state"] == "expired"
    assert "Expired" in response.content.decode()


def test_the_office_edits_the_rule_in_the_admin_and_auditors_cannot(client, office, auditor, teacher, audit_events):
    rule = QualificationRule.current()
    url = reverse("admin:faculty_qualificationrule_change", args=[rule.pk])
    client.force_login(auditor)
    assert client.get(url).status_code == 302  # to the admin login: no way in

    client.force_login(office)
    assert client.get(reverse("admin:faculty_qualificationrule_changelist")).status_code == 200
    assert client.get(reverse("admin:faculty_qualificationrule_add")).status_code == 403  # there is one rule
    response = client.post(url, {"min_title": Title.ASSOCIATE_CHIEF, "min_teaching_years": 5, "validity_years": 4})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.min_title, rule.min_teaching_years, rule.validity_years) == (Title.ASSOCIATE_CHIEF, 5, 4)
    assert [e for e in audit_events if e["action"] == "admin.change.qualificationrule"]
    assert QualificationRule.current().pk == rule.pk
