"""The office opens and edits archives; departments and bases keep trainings, posts and achievements;
the office assesses. Every change is audited; bad input gets a clear message and nothing is lost."""

import pytest
from django.urls import reverse

from accounts.choices import UserStatus
from faculty.models import Achievement, AnnualAssessment, FacultyProfile, FacultyTraining, TeachingPost
from tests.conftest import _person
from tests.faculty.conftest import HTML, PDF, PNG, stored_files, upload, years_ago

pytestmark = pytest.mark.django_db


def events(audit_events, action: str) -> list[dict]:
    return [e for e in audit_events if e["action"] == action]


# ---------------------------------------------------------------- opening and editing an archive
def test_the_office_opens_an_archive_for_an_existing_account_by_staff_number(login_en, office, org, audit_events):
    new = _person("wanglaoshi", "王老师", "supervisor", department=org.general_surgery)
    new.staff_number = "T2001"
    new.save()
    client = login_en(office)
    assert "T2001" in client.get(reverse("faculty:create")).content.decode()  # offered as a candidate

    response = client.post(reverse("faculty:create"), {
        "account": "T2001", "department": org.general_surgery.pk, "title": "attending",
        "teaching_since": years_ago(2).isoformat(), "title_since": "", "specialty": "胃肠外科",
        "education": "硕士研究生",
    })  # fmt: skip

    profile = FacultyProfile.objects.get(user=new)
    assert response.status_code == 302 and response["Location"] == reverse("faculty:detail", args=[profile.uuid])
    assert profile.department == org.general_surgery and profile.name_initials == "wls"
    [event] = events(audit_events, "faculty.create")
    assert event["changes"]["department"] == [None, "GS"]
    assert event["changes"]["title"] == [None, "attending"]


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ("nobody", "No account has the staff number or username “nobody”."),
        ("supervisor", "张带教 already has a teaching archive."),
        ("disabled", "禁用's account is not active."),
    ],
)
def test_opening_an_archive_names_what_is_wrong(login_en, office, org, teacher, account, message):
    disabled = _person("disabled", "禁用")
    disabled.status = UserStatus.DISABLED
    disabled.save()
    client = login_en(office)
    before = FacultyProfile.objects.count()
    response = client.post(reverse("faculty:create"), {
        "account": account, "department": org.cardiology.pk, "title": "attending",
    })  # fmt: skip
    assert response.status_code == 200
    assert message in response.context["form"].errors["account"]
    assert FacultyProfile.objects.count() == before


def test_the_office_edits_an_archive_and_the_audit_names_each_changed_field(login_en, office, org, teacher,
                                                                             audit_events):  # fmt: skip
    client = login_en(office)
    data = {
        "department": org.general_surgery.pk, "title": "associate_chief", "title_since": years_ago(1).isoformat(),
        "teaching_since": teacher.teaching_since.isoformat(), "specialty": "介入", "education": "博士研究生",
    }  # fmt: skip
    response = client.post(reverse("faculty:edit", args=[teacher.uuid]), data)

    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.title == "associate_chief" and teacher.department == org.general_surgery
    [event] = events(audit_events, "faculty.edit")
    assert set(event["changes"]) == {"department", "title", "title_since", "education"}
    assert event["changes"]["department"] == ["CARD", "GS"]
    assert event["changes"]["title"] == ["attending", "associate_chief"]

    client.post(reverse("faculty:edit", args=[teacher.uuid]), data)  # saving again changes nothing
    assert len(events(audit_events, "faculty.edit")) == 1


def test_a_future_teaching_date_is_refused(login_en, office, org, teacher):
    client = login_en(office)
    response = client.post(reverse("faculty:edit", args=[teacher.uuid]), {
        "department": org.cardiology.pk, "title": "attending", "teaching_since": years_ago(-1).isoformat(),
    })  # fmt: skip
    assert response.status_code == 200
    assert "This date is in the future." in response.context["form"].errors["teaching_since"]
    teacher.refresh_from_db()
    assert teacher.teaching_since == years_ago(3, days=10)


# ---------------------------------------------------------------- 师资培训 and certificates
def _training(**overrides) -> dict:
    return {"name": "住院医师规范化培训师资培训班", "organiser": "省卫健委", "level": "provincial",
            "start_date": years_ago(1).isoformat(), "end_date": "", "hours": "16", "certificate_number": "SZ2025001",
            **overrides}  # fmt: skip


def test_the_secretary_adds_a_training_with_a_pdf_certificate_that_whoever_sees_the_teacher_can_open(
    client, secretary, director, other_director, teacher, media, audit_events
):
    client.force_login(secretary)
    response = client.post(
        reverse("faculty:training_add", args=[teacher.uuid]),
        _training(certificate=upload("结业证书.pdf", PDF, "application/pdf")),
    )
    assert response.status_code == 302
    training = FacultyTraining.objects.get(faculty=teacher)
    assert training.certificate_name == "结业证书.pdf" and training.certificate_type == "application/pdf"
    assert len(stored_files()) == 1
    [event] = events(audit_events, "faculty.training.add")
    assert event["extra"]["certificate"] == "结业证书.pdf"

    client.force_login(director)
    html = client.get(reverse("faculty:detail", args=[teacher.uuid])).content.decode()
    url = reverse("faculty:training_certificate", args=[training.uuid])
    assert url in html and "结业证书.pdf" in html
    download = client.get(url)
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF
    assert download["X-Content-Type-Options"] == "nosniff"

    client.force_login(other_director)
    assert client.get(url).status_code == 404


def test_a_photo_of_the_certificate_is_accepted(client, head, teacher, media):
    client.force_login(head)
    response = client.post(
        reverse("faculty:training_add", args=[teacher.uuid]), _training(certificate=upload("证书.png", PNG))
    )
    assert response.status_code == 302
    assert FacultyTraining.objects.get().certificate_type == "image/png"


def test_an_html_page_renamed_pdf_is_refused_with_a_message_and_nothing_is_saved(login_en, secretary, teacher, media):
    client = login_en(secretary)
    response = client.post(
        reverse("faculty:training_add", args=[teacher.uuid]),
        _training(certificate=upload("证书.pdf", HTML, "application/pdf")),
    )
    assert response.status_code == 200
    [error] = response.context["form"].errors["certificate"]
    assert error == "The content of “证书.pdf” is not a PDF file. Please upload the original document."
    assert "is not a PDF file" in response.content.decode()
    assert not FacultyTraining.objects.exists() and stored_files() == []
    # what was typed is still in the form
    assert response.context["form"]["name"].value() == "住院医师规范化培训师资培训班"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("证书.docx", b"PK\x03\x04", "is not an accepted file type"),
        ("证书.pdf", PDF + b"0" * (10 * 1024 * 1024), "files may be at most 10.0"),
    ],
)
def test_other_bad_certificates_are_refused(login_en, secretary, teacher, media, name, content, message):
    client = login_en(secretary)
    response = client.post(
        reverse("faculty:training_add", args=[teacher.uuid]), _training(certificate=upload(name, content))
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors["certificate"][0]
    assert not FacultyTraining.objects.exists() and stored_files() == []


def test_a_training_that_ends_before_it_starts_is_refused(login_en, secretary, teacher):
    client = login_en(secretary)
    response = client.post(
        reverse("faculty:training_add", args=[teacher.uuid]),
        _training(start_date=years_ago(1).isoformat(), end_date=years_ago(2).isoformat()),
    )
    assert "The course cannot end before it starts." in response.context["form"].errors["end_date"]
    assert not FacultyTraining.objects.exists()


def test_removing_a_training_deletes_its_certificate_after_commit(
    client, secretary, teacher, media, audit_events, django_capture_on_commit_callbacks
):
    client.force_login(secretary)
    client.post(reverse("faculty:training_add", args=[teacher.uuid]), _training(certificate=upload("c.pdf", PDF)))
    training = FacultyTraining.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("faculty:training_delete", args=[training.uuid]))
    assert response.status_code == 302
    assert not FacultyTraining.objects.exists() and stored_files() == []
    assert events(audit_events, "faculty.training.delete")


def test_a_training_without_certificate_has_nothing_to_download(client, office, teacher):
    client.force_login(office)
    client.post(reverse("faculty:training_add", args=[teacher.uuid]), _training())
    training = FacultyTraining.objects.get()
    assert not training.certificate
    assert client.get(reverse("faculty:training_certificate", args=[training.uuid])).status_code == 404


# ---------------------------------------------------------------- posts and achievements
def test_the_base_director_records_a_post_and_an_achievement(client, director, org, teacher, audit_events):
    client.force_login(director)
    response = client.post(reverse("faculty:post_add", args=[teacher.uuid]), {
        "kind": "teaching_director", "department": org.cardiology.pk, "base": "",
        "start_date": years_ago(1).isoformat(), "end_date": "",
    })  # fmt: skip
    assert response.status_code == 302
    post = TeachingPost.objects.get(faculty=teacher)
    assert post.kind == "teaching_director" and post.end_date is None
    response = client.post(reverse("faculty:achievement_add", args=[teacher.uuid]), {
        "kind": "award", "title": "优秀带教老师", "date": years_ago(1).isoformat(), "level": "院级", "detail": "",
    })  # fmt: skip
    assert response.status_code == 302
    assert Achievement.objects.get(faculty=teacher).title == "优秀带教老师"
    assert events(audit_events, "faculty.post.add") and events(audit_events, "faculty.achievement.add")

    html = client.get(reverse("faculty:detail", args=[teacher.uuid])).content.decode()
    assert "优秀带教老师" in html

    client.post(reverse("faculty:achievement_delete", args=[teacher.uuid, Achievement.objects.get().pk]))
    assert not Achievement.objects.exists() and events(audit_events, "faculty.achievement.delete")


def test_a_post_that_ends_before_it_starts_is_refused(login_en, director, org, teacher):
    client = login_en(director)
    response = client.post(reverse("faculty:post_add", args=[teacher.uuid]), {
        "kind": "mentor", "base": org.internal.pk, "start_date": years_ago(1).isoformat(),
        "end_date": years_ago(2).isoformat(),
    })  # fmt: skip
    assert "A post cannot end before it starts." in response.context["form"].errors["end_date"]
    assert not TeachingPost.objects.exists()


# ---------------------------------------------------------------- 年度考核
def test_the_office_assesses_once_a_year_and_corrects_an_assessment(login_en, office, teacher, audit_events):
    client = login_en(office)
    url = reverse("faculty:assessment_add", args=[teacher.uuid])
    response = client.post(url, {"year": 2025, "result": "pass", "score": "82.5", "note": ""})
    assert response.status_code == 302
    assessment = AnnualAssessment.objects.get(faculty=teacher, year=2025)
    assert assessment.assessed_by == office

    response = client.post(url, {"year": 2025, "result": "excellent", "score": "95", "note": ""})
    assert response.status_code == 200
    [error] = response.context["form"].errors["year"]
    assert error == "2025 already has an assessment for 张带教. Edit that one instead."
    assert AnnualAssessment.objects.filter(faculty=teacher).count() == 1

    edit = reverse("faculty:assessment_edit", args=[teacher.uuid, 2025])
    response = client.post(edit, {"year": 2030, "result": "excellent", "score": "95", "note": "复核调整"})
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert (assessment.year, assessment.result, str(assessment.score)) == (2025, "excellent", "95.0")
    [event] = events(audit_events, "faculty.assessment.edit")
    assert event["changes"]["result"] == ["pass", "excellent"] and event["extra"]["year"] == "2025"
    assert events(audit_events, "faculty.assessment.add")
    assert client.get(reverse("faculty:assessment_edit", args=[teacher.uuid, 2019])).status_code == 404


def test_assessments_show_by_year_on_the_page(client, office, teacher):
    AnnualAssessment.objects.create(faculty=teacher, year=2023, result="pass", score=80)
    AnnualAssessment.objects.create(faculty=teacher, year=2024, result="excellent", score=93)
    client.force_login(office)
    response = client.get(reverse("faculty:detail", args=[teacher.uuid]))
    assert [a.year for a in response.context["assessments"]] == [2024, 2023]
