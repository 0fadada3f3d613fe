"""The resident archive page, its edits, records and certificates, end to end as the personas."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.translation import gettext

from accounts.choices import Role
from accounts.models import User
from core import mongo, timeline
from core.masking import mask_phone
from residents import services
from residents.choices import ChangeKind, ChangeState, ConductKind, PoliticalStatus, RevisionSource, TrainingCategory
from residents.models import (
    ArchiveRevision,
    Certificate,
    ConductRecord,
    EmergencyContact,
    Post,
    ResidentProfile,
    TrainingChange,
)
from tests.conftest import _person
from tests.factories.residents import EnrollmentBatchFactory, ResidentProfileFactory, RotationBlockFactory
from tests.notices.conftest import PDF, PNG, upload
from tests.permissions import LOGIN, assert_access

pytestmark = pytest.mark.django_db

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64

#: Who sees 李住院's archive (resident_profile) and why; everyone else gets a 404.
VIEWERS = ("resident", "supervisor", "mentor", "secretary", "head", "director", "office")
NON_VIEWERS = ("other_resident", "other_supervisor", "clerk", "other_director", "sysadmin", "auditor", "outsider")


def matrix(allowed: dict[str, int | str], *, viewers: int = 403) -> dict[str, int | str]:
    """Allowed personas as given, other viewers `viewers` (403), non-viewers 404, anonymous to the login."""
    expected: dict[str, int | str] = {"anonymous": LOGIN}
    expected.update({name: 404 for name in NON_VIEWERS})
    expected.update({name: viewers for name in VIEWERS})
    expected.update(allowed)
    return expected


def url(name: str, *args) -> str:
    return reverse(f"residents:{name}", args=args)


def form_data(response) -> dict:
    """What the browser would send back unchanged: the page's form and contact rows as rendered."""
    data: dict = {}
    formset = response.context["formset"]
    for form in [response.context["form"], formset.management_form, *formset.forms]:
        for field in form:
            value = field.value()
            if value is None or field.widget_type == "file":
                continue
            if isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
                continue
            if isinstance(value, datetime.date):
                value = value.isoformat()
            data[field.html_name] = value
    return data


def label(model, name: str) -> str:
    """A field's label as the history stores it (in the language of the request, zh-hans here)."""
    return str(model._meta.get_field(name).verbose_name)


def stored_files() -> list[str]:
    return sorted(grid_out.filename for grid_out in mongo.bucket().find({}))


# --- who may open what ---------------------------------------------------------------------------


def test_my_archive_takes_a_resident_to_their_own_page_and_is_a_404_without_one(client, archive_personas):
    profile = archive_personas["resident"].resident_profile
    client.force_login(archive_personas["resident"])
    response = client.get(url("mine"))
    assert response.status_code == 302 and response["Location"] == url("detail", profile.uuid)
    assert_access(
        client, archive_personas, {"anonymous": LOGIN, "supervisor": 404, "office": 404, "outsider": 404}, url("mine")
    )


def test_the_archive_page_is_for_the_residents_own_people_only(client, archive_personas, resident_profile):
    assert_access(client, archive_personas, matrix({n: 200 for n in VIEWERS}), url("detail", resident_profile.uuid))


def test_an_unknown_archive_is_a_404_even_for_the_office(login, office, archive_personas):
    assert login(office).get(url("detail", uuid.uuid4())).status_code == 404


def test_a_secretary_loses_sight_of_a_resident_who_has_left_her_department_but_the_supervisor_keeps_it(
    client, org, secretary, head, other_supervisor, other_resident
):
    profile = ResidentProfileFactory(user=other_resident, base=org.surgery)
    RotationBlockFactory(
        resident=profile,
        department=org.cardiology,
        supervisor=other_supervisor,
        start_date=datetime.date(2025, 1, 1),
        end_date=datetime.date(2025, 3, 31),
    )
    people = {"secretary": secretary, "head": head, "other_supervisor": other_supervisor}
    assert_access(client, people, {"secretary": 404, "head": 404, "other_supervisor": 200}, url("detail", profile.uuid))


def test_a_scheduled_block_already_shows_the_resident_to_the_department(client, org, secretary, other_resident):
    profile = ResidentProfileFactory(user=other_resident, base=org.surgery)
    RotationBlockFactory(
        resident=profile,
        department=org.cardiology,
        start_date=datetime.date.today() + datetime.timedelta(days=60),
        end_date=datetime.date.today() + datetime.timedelta(days=120),
    )
    assert_access(client, {"secretary": secretary}, {"secretary": 200}, url("detail", profile.uuid))


def test_only_the_resident_edits_their_own_details(client, archive_personas, resident_profile):
    assert_access(client, archive_personas, matrix({"resident": 200}), url("edit_own", resident_profile.uuid))


def test_only_the_training_office_edits_the_whole_archive(client, archive_personas, resident_profile):
    assert_access(client, archive_personas, matrix({"office": 200}), url("edit", resident_profile.uuid))


def test_only_the_training_office_may_reveal_the_id_number(client, archive_personas, resident_profile):
    assert_access(
        client, archive_personas, matrix({"office": 200}), url("reveal_id", resident_profile.uuid), method="post"
    )


def test_the_reveal_is_post_only(login, office, resident_profile):
    assert login(office).get(url("reveal_id", resident_profile.uuid)).status_code == 405


@pytest.mark.parametrize("kind", ["post", "conduct"])
def test_posts_and_conduct_records_are_kept_by_the_office_and_the_base(
    client, archive_personas, resident_profile, kind
):
    assert_access(
        client,
        archive_personas,
        matrix({"office": 200, "director": 200}),
        url("record_add", resident_profile.uuid, kind),
    )


def test_an_unknown_record_kind_is_not_a_page(login, office, resident_profile):
    assert login(office).get(f"/residents/{resident_profile.uuid}/records/salary/add/").status_code == 404


def test_the_resident_the_office_and_the_base_upload_certificates(client, archive_personas, resident_profile):
    assert_access(
        client,
        archive_personas,
        matrix({"resident": 200, "office": 200, "director": 200}),
        url("certificate_add", resident_profile.uuid),
    )


@pytest.fixture
def certificate(resident_profile, resident, mongo_db):
    return services.certificate_add(
        profile=resident_profile,
        file=upload("执业证书.pdf", PDF, "application/pdf"),
        kind="practising",
        title="医师执业证书",
        acting_user=resident,
    )


def test_certificates_download_for_everyone_who_sees_the_archive(client, archive_personas, certificate):
    assert_access(
        client, archive_personas, matrix({n: 200 for n in VIEWERS}), url("certificate_download", certificate.uuid)
    )


def test_a_certificate_is_removed_by_its_uploader_or_the_office_only(client, archive_personas, certificate):
    # Everyone else first (a successful delete would remove it for the next persona).
    expected = matrix({}, viewers=403)
    del expected["resident"], expected["office"]
    assert_access(client, archive_personas, expected, url("certificate_delete", certificate.uuid), method="post")
    assert Certificate.objects.filter(pk=certificate.pk).exists()
    assert_access(
        client, archive_personas, {"resident": 302}, url("certificate_delete", certificate.uuid), method="post"
    )
    assert not Certificate.objects.filter(pk=certificate.pk).exists()


def test_the_office_removes_a_certificate_someone_else_uploaded(login, office, certificate):
    response = login(office).post(url("certificate_delete", certificate.uuid))
    assert response.status_code == 302
    assert not Certificate.objects.exists()


@pytest.mark.parametrize("kind", ["post", "conduct"])
def test_records_are_removed_by_the_office_and_the_base_only(client, archive_personas, resident_profile, office, kind):
    record = _make_record(resident_profile, kind, office)
    expected = matrix({}, viewers=403)
    del expected["office"], expected["director"]
    target = url("record_delete", resident_profile.uuid, kind, record.pk)
    assert_access(client, archive_personas, expected, target, method="post")
    assert type(record).objects.filter(pk=record.pk).exists()
    assert_access(client, archive_personas, {"director": 302}, target, method="post")
    assert not type(record).objects.filter(pk=record.pk).exists()


def test_a_record_of_another_archive_cannot_be_removed_through_this_one(login, office, resident_profile, other_profile):
    other_post = _make_record(other_profile, "post", office)
    response = login(office).post(url("record_delete", resident_profile.uuid, "post", other_post.pk))
    assert response.status_code == 404
    assert Post.objects.filter(pk=other_post.pk).exists()


def test_the_photo_is_served_to_the_archives_viewers_only(client, archive_personas, resident_profile, mongo_db):
    services.archive_update(
        profile=resident_profile,
        acting_user=resident_profile.user,
        data={"photo": upload("me.png", PNG, "image/png")},
        source=RevisionSource.SELF,
    )
    assert_access(client, archive_personas, matrix({n: 200 for n in VIEWERS}), url("photo", resident_profile.uuid))


def _make_record(profile, kind, user):
    if kind == "post":
        data = {"title": "总住院医师", "start_date": datetime.date(2026, 1, 1), "end_date": None, "note": ""}
    else:
        data = {"kind": ConductKind.AWARD, "title": "优秀住院医师", "date": datetime.date(2026, 3, 1), "issuer": "医院"}
    return services.record_add(profile=profile, kind=kind, data=data, acting_user=user)


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture
def contacts(resident_profile):
    return [
        EmergencyContact.objects.create(resident=resident_profile, name="李父", relation="父亲", phone="13900001111"),
        EmergencyContact.objects.create(resident=resident_profile, name="李母", relation="母亲", phone="13900002222"),
    ]


@pytest.mark.parametrize(
    ("persona", "full"),
    [
        ("resident", True),
        ("mentor", True),
        ("office", True),
        ("supervisor", False),
        ("director", False),
        ("head", False),
    ],
)
def test_phones_are_shown_in_full_only_to_those_who_may_contact_the_resident(
    login, archive_personas, resident_profile, contacts, persona, full
):
    page = login(archive_personas[persona]).get(url("detail", resident_profile.uuid)).content.decode()
    phones = [resident_profile.user.phone, "13900001111", "13900002222"]
    if full:
        assert all(p in page for p in phones)
    else:
        assert not any(p in page for p in phones)
        assert "139****1111" in page and f"{resident_profile.user.phone[:3]}****" in page
    assert "李父" in page and "父亲" in page


def test_the_reveal_button_is_offered_to_the_office_only(login, archive_personas, resident_profile):
    for name in VIEWERS:
        page = login(archive_personas[name]).get(url("detail", resident_profile.uuid)).content.decode()
        assert ('data-testid="reveal-id"' in page) is (name == "office"), name
        assert resident_profile.user.id_number_masked in page


def test_the_page_shows_every_section_and_the_training_details(login, office, resident_profile, mentor, contacts):
    response = login(office).get(url("detail", resident_profile.uuid))
    page = response.content.decode()
    for section in ("personal", "education", "licence", "training", "contacts", "posts", "conduct", "certificates"):
        assert f'id="section-{section}"' in page
    assert 'id="section-timeline"' in page and 'id="section-history"' in page
    assert "内科" in page and "2028-08-31" in page and mentor.display_name in page
    assert response.context["can_request_change"] is True
    assert "首都医科大学" in page


def test_the_archive_page_costs_the_same_queries_for_one_record_or_many(
    client, office, resident_profile, mongo_db, django_assert_max_num_queries
):
    def fill(n, start):
        for i in range(start, start + n):
            EmergencyContact.objects.create(
                resident=resident_profile, name=f"联系人{i}", relation="亲属", phone="13900001111"
            )
            Post.objects.create(resident=resident_profile, title=f"职务{i}", start_date=datetime.date(2026, 1, 1))
            ConductRecord.objects.create(
                resident=resident_profile, kind=ConductKind.AWARD, title=f"奖励{i}", date=datetime.date(2026, 2, 1)
            )
            services.certificate_add(
                profile=resident_profile,
                file=upload(f"c{i}.pdf", PDF),
                kind="other",
                title=f"证书{i}",
                acting_user=office,
            )
            TrainingChange.objects.create(
                resident=resident_profile, kind=ChangeKind.EXTEND, effective_date=datetime.date(2026, 6, 1),
                reason="病假", state=ChangeState.APPROVED, requested_by=office,
            )  # fmt: skip

    def count() -> int:
        client.force_login(office)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url("detail", resident_profile.uuid)).status_code == 200
        return len(ctx.captured_queries)

    fill(1, 0)
    count()  # the first request fills per-process caches (content types)
    few = count()
    fill(8, 1)
    many = count()
    assert many == few
    # the timeline asks each registered source once (rotation, caseload, exits, teaching...): a fixed cost
    with django_assert_max_num_queries(22):
        client.get(url("detail", resident_profile.uuid))


def test_disciplinary_records_and_the_history_are_for_the_resident_and_the_archive_keepers(
    login, archive_personas, resident_profile, office
):
    discipline = {"kind": ConductKind.DISCIPLINE, "title": "迟到早退通报", "date": datetime.date(2026, 2, 1)}
    services.record_add(
        profile=resident_profile, kind="conduct", acting_user=office, data={**discipline, "is_closed": False}
    )
    _make_record(resident_profile, "conduct", office)
    for name in VIEWERS:
        response = login(archive_personas[name]).get(url("detail", resident_profile.uuid))
        page = response.content.decode()
        keeps = name in ("resident", "office", "director")
        assert ("迟到早退通报" in page) is keeps, name
        assert ('id="section-history"' in page) is keeps, name
        assert "优秀住院医师" in page, name
        titles = [str(e.title) for e in response.context["timeline_entries"]]
        assert any("迟到早退通报" in t for t in titles) is keeps, name


def test_the_timeline_gathers_training_changes_posts_awards_certificates_and_rotations(
    login, org, resident_profile, office, certificate, current_block
):
    TrainingChange.objects.create(
        resident=resident_profile, kind=ChangeKind.SUSPEND, effective_date=datetime.date(2026, 3, 1),
        reason="产假", state=ChangeState.APPROVED,
    )  # fmt: skip
    TrainingChange.objects.create(
        resident=resident_profile, kind=ChangeKind.WITHDRAW, effective_date=datetime.date(2026, 4, 1),
        reason="个人原因", state=ChangeState.PENDING,
    )  # fmt: skip
    _make_record(resident_profile, "post", office)
    _make_record(resident_profile, "conduct", office)
    resident_profile.batch = EnrollmentBatchFactory(hospital=org.hospital, year=2025, name="第一批")
    resident_profile.save()
    entries = timeline.entries(timeline.RESIDENT, resident_profile, office)
    by_kind = {e.kind: e for e in entries}
    assert by_kind["training"].when == resident_profile.start_date
    assert "2025 · 第一批" in by_kind["training"].detail and "内科" in by_kind["training"].detail
    changes = [e for e in entries if e.kind == "training_change"]
    assert [(str(e.title), e.detail, e.when) for e in changes] == [
        (str(ChangeKind.SUSPEND.label), "产假", datetime.date(2026, 3, 1))
    ]
    assert "总住院医师" in str(by_kind["post"].title)
    assert "优秀住院医师" in str(by_kind["conduct"].title)
    assert by_kind["certificate"].url == url("certificate_download", certificate.uuid)
    assert "rotation" in by_kind
    days = [e.day for e in entries]
    assert days == sorted(days, reverse=True)
    page = login(office).get(url("detail", resident_profile.uuid)).content.decode()
    assert "产假" in page and "个人原因" not in page.split('id="section-timeline"')[1]


# --- the resident's own edit ---------------------------------------------------------------------


def test_a_resident_updates_their_contact_details_and_the_history_says_so(
    login, resident, resident_profile, contacts, audit_events
):
    client = login(resident)
    old_phone = resident.phone
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    data.update(
        {
            "phone": "13712345678",
            "email": "li@example.cn",
            "address": "北京市东城区",
            "political_status": "league",
            "contacts-1-phone": "13900003333",
            "contacts-2-name": "李兄",
            "contacts-2-relation": "兄长",
            "contacts-2-phone": "010-87654321",
        }
    )
    response = client.post(url("edit_own", resident_profile.uuid), data)
    assert response.status_code == 302 and response["Location"] == url("detail", resident_profile.uuid)

    resident.refresh_from_db()
    resident_profile.refresh_from_db()
    assert (resident.phone, resident.email) == ("13712345678", "li@example.cn")
    assert (resident_profile.address, resident_profile.political_status) == ("北京市东城区", "league")
    assert [(c.name, c.phone) for c in resident_profile.emergency_contacts.order_by("pk")] == [
        ("李父", "13900001111"), ("李母", "13900003333"), ("李兄", "010-87654321"),
    ]  # fmt: skip

    revision = ArchiveRevision.objects.get(resident=resident_profile)
    assert revision.source == RevisionSource.SELF and revision.changed_by == resident
    assert revision.changes[label(User, "phone")] == [mask_phone(old_phone), "137****5678"]
    assert revision.changes[label(ResidentProfile, "address")] == ["", "北京市东城区"]
    assert revision.changes[label(ResidentProfile, "political_status")] == [
        "",
        str(PoliticalStatus.LEAGUE_MEMBER.label),
    ]
    contacts_change = revision.changes[str(EmergencyContact._meta.verbose_name_plural)]
    assert contacts_change == [
        "李父 (父亲) 139****1111; 李母 (母亲) 139****2222",
        "李父 (父亲) 139****1111; 李母 (母亲) 139****3333; 李兄 (兄长) 010*****4321",
    ]
    assert len(revision.changes) == 5
    assert "13900003333" not in str(revision.changes) and "13712345678" not in str(revision.changes)

    [event] = [e for e in audit_events if e["action"] == "resident.archive_edit"]
    assert event["user"]["username"] == "resident" and event["extra"]["source"] == "self"
    assert "13712345678" not in str(event) and "13900003333" not in str(event)


def test_a_resident_removes_an_emergency_contact(login, resident, resident_profile, contacts):
    client = login(resident)
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    data["contacts-0-DELETE"] = "on"
    assert client.post(url("edit_own", resident_profile.uuid), data).status_code == 302
    assert [c.name for c in resident_profile.emergency_contacts.all()] == ["李母"]
    revision = ArchiveRevision.objects.get()
    assert revision.changes == {
        str(EmergencyContact._meta.verbose_name_plural): [
            "李父 (父亲) 139****1111; 李母 (母亲) 139****2222",
            "李母 (母亲) 139****2222",
        ]
    }


def test_saving_an_unchanged_form_writes_no_history(login, resident, resident_profile, contacts, audit_events):
    client = login(resident)
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    response = client.post(url("edit_own", resident_profile.uuid), data, follow=True)
    assert [str(m) for m in response.context["messages"]] == [gettext("Nothing was changed.")]
    assert not ArchiveRevision.objects.exists()
    assert not [e for e in audit_events if e["action"] == "resident.archive_edit"]


def test_a_bad_phone_is_refused_with_a_clear_message_and_nothing_is_saved(login, resident, resident_profile, contacts):
    client = login(resident)
    old_phone = resident.phone
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    data.update({"phone": "12345", "address": "新地址", "contacts-0-phone": "abc"})
    response = client.post(url("edit_own", resident_profile.uuid), data)
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == ["请输入 11 位中国大陆手机号码。"]
    assert response.context["formset"].forms[0].errors["phone"]
    page = response.content.decode()
    assert "invalid-feedback" in page and 'value="新地址"' in page  # what was typed is kept
    resident.refresh_from_db()
    resident_profile.refresh_from_db()
    assert resident.phone == old_phone and resident_profile.address == ""
    assert EmergencyContact.objects.get(pk=contacts[0].pk).phone == "13900001111"
    assert not ArchiveRevision.objects.exists()


def test_an_html_page_renamed_png_is_refused_as_a_photo_and_nothing_is_saved(
    login, resident, resident_profile, mongo_db
):
    client = login(resident)
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    data.update({"address": "新地址", "photo": upload("证件照.png", HTML, "image/png")})
    response = client.post(url("edit_own", resident_profile.uuid), data)
    assert response.status_code == 200
    [error] = response.context["form"].errors["photo"]
    assert "证件照.png" in error and "PNG" in error
    resident_profile.refresh_from_db()
    assert not resident_profile.photo and resident_profile.address == ""
    assert stored_files() == [] and not ArchiveRevision.objects.exists()


@pytest.mark.parametrize("name", ["photo.gif", "photo.pdf"])
def test_a_photo_must_be_png_or_jpg(login, resident, resident_profile, mongo_db, name):
    client = login(resident)
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    data["photo"] = upload(name, b"GIF89a\x01\x00" if name.endswith("gif") else PDF)
    response = client.post(url("edit_own", resident_profile.uuid), data)
    assert response.status_code == 200 and response.context["form"].errors["photo"]
    assert stored_files() == []


def test_a_photo_over_5_mb_is_refused(login, resident, resident_profile, mongo_db):
    client = login(resident)
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    data["photo"] = upload("big.jpg", JPEG + b"\x00" * (5 * 1024 * 1024))
    response = client.post(url("edit_own", resident_profile.uuid), data)
    assert response.status_code == 200
    [error] = response.context["form"].errors["photo"]
    assert "5.0" in error
    assert stored_files() == []


def test_a_new_photo_replaces_the_old_one_in_storage(
    login, resident, resident_profile, mongo_db, django_capture_on_commit_callbacks
):
    client = login(resident)
    for name, content in (("first-photo.png", PNG), ("second-photo.jpg", JPEG)):
        data = form_data(client.get(url("edit_own", resident_profile.uuid)))
        data["photo"] = upload(name, content, "image/png")
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(url("edit_own", resident_profile.uuid), data).status_code == 302
    resident_profile.refresh_from_db()
    assert resident_profile.photo.name.endswith(".jpg") and "second-photo" not in resident_profile.photo.name
    assert stored_files() == [resident_profile.photo.name]
    response = client.get(url("photo", resident_profile.uuid))
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG
    photo = label(ResidentProfile, "photo")
    assert [r.changes[photo] for r in ArchiveRevision.objects.order_by("pk")] == [
        ["", gettext("a new photo")],
        [gettext("a photo"), gettext("a new photo")],
    ]


def test_a_fourth_emergency_contact_is_refused(login, resident, resident_profile, contacts):
    client = login(resident)
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    data["contacts-TOTAL_FORMS"] = "4"
    for i, (name, phone) in enumerate((("甲", "13900003333"), ("乙", "13900004444")), start=2):
        data.update({f"contacts-{i}-name": name, f"contacts-{i}-relation": "朋友", f"contacts-{i}-phone": phone})
    response = client.post(url("edit_own", resident_profile.uuid), data)
    assert response.status_code == 200 and response.context["formset"].non_form_errors()
    assert EmergencyContact.objects.count() == 2


def test_the_resident_cannot_change_training_fields_or_the_name_through_their_form(
    login, resident, resident_profile, org
):
    client = login(resident)
    data = form_data(client.get(url("edit_own", resident_profile.uuid)))
    data.update({"base": org.surgery.pk, "cohort": "2020", "status": "completed", "real_name": "改名", "address": "x"})
    assert client.post(url("edit_own", resident_profile.uuid), data).status_code == 302
    resident_profile.refresh_from_db()
    resident.refresh_from_db()
    assert (resident_profile.base, resident_profile.cohort, resident_profile.status) == (
        org.internal,
        2025,
        "in_training",
    )
    assert resident.real_name == "李住院" and resident_profile.address == "x"


def test_the_service_refuses_training_fields_and_fields_beyond_the_source(resident_profile, resident, office, org):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.archive_update(
            profile=resident_profile, acting_user=office, data={"base": org.surgery}, source="office"
        )
    with pytest.raises(ValidationError):
        services.archive_update(profile=resident_profile, acting_user=resident, data={"school": "x"}, source="self")
    with pytest.raises(ValueError):
        services.archive_update(profile=resident_profile, acting_user=office, data={}, source="approval")
    assert not ArchiveRevision.objects.exists()


# --- the office's edit ---------------------------------------------------------------------------


def test_the_office_form_leaves_out_fields_that_change_through_approval_and_the_id_number(
    login, office, resident_profile
):
    form = login(office).get(url("edit", resident_profile.uuid)).context["form"]
    for name in ("base", "cohort", "status", "status_since", "planned_end_date", "batch", "id_number"):
        assert name not in form.fields
    for name in ("real_name", "phone", "email", "school", "has_qualification", "category", "start_date", "mentor"):
        assert name in form.fields


def test_the_office_edits_the_archive_and_the_account_and_the_history_names_the_office(
    login, office, resident_profile, resident, org, audit_events
):
    new_mentor = _person("mentor2", "钟导师", Role.MENTOR, base=org.internal)
    client = login(office)
    data = form_data(client.get(url("edit", resident_profile.uuid)))
    data.update(
        {
            "real_name": "李住院医",
            "school": "北京大学医学部",
            "education_level": "master",
            "has_qualification": "on",
            "qualification_number": "110110000000001",
            "category": "entrusted",
            "sending_unit": "平谷区医院",
            "start_date": "2025-09-08",
            "mentor": new_mentor.pk,
        }
    )
    response = client.post(url("edit", resident_profile.uuid), data)
    assert response.status_code == 302
    resident_profile.refresh_from_db()
    resident.refresh_from_db()
    assert resident.real_name == "李住院医" and resident_profile.name_initials == "lzyy"
    assert resident_profile.mentor == new_mentor and resident_profile.has_qualification
    assert resident_profile.start_date == datetime.date(2025, 9, 8)
    assert resident_profile.planned_end_date == datetime.date(2028, 8, 31)  # untouched: changes through approval

    revision = ArchiveRevision.objects.get()
    assert revision.source == RevisionSource.OFFICE and revision.changed_by == office
    assert revision.changes[label(ResidentProfile, "mentor")] == ["黄导师", "钟导师"]
    assert revision.changes[label(User, "real_name")] == ["李住院", "李住院医"]
    assert revision.changes[label(ResidentProfile, "start_date")] == ["2025-09-01", "2025-09-08"]
    assert revision.changes[label(ResidentProfile, "has_qualification")] == [gettext("No"), gettext("Yes")]
    assert revision.changes[label(ResidentProfile, "category")] == [
        str(TrainingCategory.SOCIAL.label),
        str(TrainingCategory.ENTRUSTED.label),
    ]
    [event] = [e for e in audit_events if e["action"] == "resident.archive_edit"]
    assert event["extra"]["source"] == "office" and "mentor" in event["changes"]

    page = client.get(url("detail", resident_profile.uuid)).content.decode()
    assert "钟导师" in page and "北京大学医学部" in page and "平谷区医院" in page


def test_the_mentor_is_chosen_among_the_bases_mentors_and_supervisors(login, office, resident_profile, org, supervisor):
    surgery_mentor = _person("mentor_s", "外科导师", Role.MENTOR, base=org.surgery)
    client = login(office)
    response = client.get(url("edit", resident_profile.uuid))
    choices = set(response.context["form"].fields["mentor"].queryset)
    assert supervisor in choices and resident_profile.mentor in choices and surgery_mentor not in choices
    data = form_data(response)
    data["mentor"] = surgery_mentor.pk
    response = client.post(url("edit", resident_profile.uuid), data)
    assert response.status_code == 200 and response.context["form"].errors["mentor"]
    resident_profile.refresh_from_db()
    assert resident_profile.mentor.username == "mentor"


def test_an_office_form_error_keeps_everything_unsaved(login, office, resident_profile, resident):
    client = login(office)
    data = form_data(client.get(url("edit", resident_profile.uuid)))
    data.update({"real_name": "", "school": "新学校", "birth_date": "1998-02-30"})
    response = client.post(url("edit", resident_profile.uuid), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "real_name" in errors and "birth_date" in errors
    resident_profile.refresh_from_db()
    assert resident_profile.school == "首都医科大学" and not ArchiveRevision.objects.exists()
    assert response.context["profile"].user.real_name == "李住院"


# --- records and certificates ---------------------------------------------------------------------


def test_the_base_director_adds_a_post_and_it_shows_with_its_history(login, director, resident_profile, audit_events):
    client = login(director)
    response = client.post(
        url("record_add", resident_profile.uuid, "post"),
        {"title": "总住院医师", "start_date": "2026-01-01", "end_date": "", "note": "内科总住院"},
    )
    assert response.status_code == 302
    post = Post.objects.get()
    assert (post.resident, post.recorded_by) == (resident_profile, director)
    revision = ArchiveRevision.objects.get()
    assert revision.note and revision.changes == {str(Post._meta.verbose_name): ["", "总住院医师 (2026-01-01 – …)"]}
    assert [e["action"] for e in audit_events if e["action"].startswith("resident.")] == ["resident.record_add"]
    page = client.get(url("detail", resident_profile.uuid)).content.decode()
    assert "内科总住院" in page and "总住院医师" in page


def test_a_post_that_ends_before_it_starts_is_refused(login, office, resident_profile):
    response = login(office).post(
        url("record_add", resident_profile.uuid, "post"),
        {"title": "班长", "start_date": "2026-05-01", "end_date": "2026-01-01"},
    )
    assert response.status_code == 200 and response.context["form"].errors["end_date"]
    assert not Post.objects.exists() and not ArchiveRevision.objects.exists()


def test_removing_a_record_is_listed_in_the_history_and_audited(login, office, resident_profile, audit_events):
    record = _make_record(resident_profile, "conduct", office)
    response = login(office).post(url("record_delete", resident_profile.uuid, "conduct", record.pk))
    assert response.status_code == 302
    assert not ConductRecord.objects.exists()
    removed = ArchiveRevision.objects.order_by("-pk").first()
    assert removed.changes == {
        str(ConductRecord._meta.verbose_name): [f"{ConductKind.AWARD.label}: 优秀住院医师 (2026-03-01)", ""]
    }
    assert "resident.record_delete" in [e["action"] for e in audit_events]


def test_record_delete_is_post_only(login, office, resident_profile):
    record = _make_record(resident_profile, "post", office)
    assert login(office).get(url("record_delete", resident_profile.uuid, "post", record.pk)).status_code == 405
    assert Post.objects.exists()


def test_a_resident_uploads_a_certificate_into_gridfs_and_a_supervisor_downloads_it(
    login, resident, supervisor, resident_profile, current_block, mongo_db, audit_events
):
    client = login(resident)
    response = client.post(
        url("certificate_add", resident_profile.uuid),
        {"kind": "qualification", "title": "医师资格证书", "number": "2025110000", "issued_on": "2025-12-01",
         "upload": upload("资格证.pdf", PDF, "text/html")},
    )  # fmt: skip
    assert response.status_code == 302
    certificate = Certificate.objects.get()
    assert certificate.original_name == "资格证.pdf" and certificate.content_type == "application/pdf"
    assert certificate.uploaded_by == resident and "资格证" not in certificate.file.name
    assert stored_files() == [certificate.file.name]
    assert ArchiveRevision.objects.get().source == RevisionSource.SELF
    assert "resident.certificate_add" in [e["action"] for e in audit_events]

    download = login(supervisor).get(url("certificate_download", certificate.uuid))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF


@pytest.mark.parametrize(
    ("name", "content"),
    [("证书.pdf", HTML), ("证书.png", HTML), ("证书.docx", b"PK\x03\x04"), ("证书.html", HTML), ("证书.pdf", b"")],
)
def test_a_certificate_that_is_not_a_pdf_or_picture_is_refused(
    login, resident, resident_profile, mongo_db, name, content
):
    response = login(resident).post(
        url("certificate_add", resident_profile.uuid),
        {"kind": "other", "title": "证书", "upload": upload(name, content)},
    )
    assert response.status_code == 200 and response.context["form"].errors["upload"]
    assert not Certificate.objects.exists() and stored_files() == [] and not ArchiveRevision.objects.exists()


def test_a_certificate_over_10_mb_is_refused(login, resident, resident_profile, mongo_db):
    response = login(resident).post(
        url("certificate_add", resident_profile.uuid),
        {"kind": "other", "title": "证书", "upload": upload("big.pdf", PDF + b"0" * (10 * 1024 * 1024))},
    )
    [error] = response.context["form"].errors["upload"]
    assert "10.0" in error
    assert not Certificate.objects.exists() and stored_files() == []


def test_removing_a_certificate_removes_its_file_after_the_commit(
    login, resident, certificate, django_capture_on_commit_callbacks, audit_events
):
    name = certificate.file.name
    assert stored_files() == [name]
    with django_capture_on_commit_callbacks(execute=True):
        response = login(resident).post(url("certificate_delete", certificate.uuid))
    assert response.status_code == 302
    assert stored_files() == []
    removed = ArchiveRevision.objects.order_by("-pk").first()
    assert removed.changes[str(Certificate._meta.verbose_name)][1] == "" and removed.changed_by == resident
    assert "resident.certificate_delete" in [e["action"] for e in audit_events]


def test_a_denied_certificate_removal_is_audited(login, director, certificate, audit_events):
    assert login(director).post(url("certificate_delete", certificate.uuid)).status_code == 403
    denied = [e for e in audit_events if e["action"] == "access.denied"]
    assert denied and denied[-1]["extra"]["attempted"] == "certificate_delete"


def test_revision_record_is_the_one_shape_of_history(resident_profile, office):
    revision = services.revision_record(
        profile=resident_profile,
        acting_user=office,
        source=RevisionSource.APPROVAL,
        changes={"培训状态": ["在培", "休学"], "计划结业日期": [datetime.date(2028, 8, 31), None]},
        note="休学申请已批准",
    )
    revision.refresh_from_db()
    assert revision.changes == {"培训状态": ["在培", "休学"], "计划结业日期": ["2028-08-31", ""]}
    assert revision.note == "休学申请已批准" and revision.changed_by == office


def test_a_refused_edit_stores_no_photo(resident, resident_profile, other_profile, mongo_db):
    from django.core.exceptions import ValidationError

    foreign = EmergencyContact.objects.create(resident=other_profile, name="王父", relation="父亲", phone="13900009999")
    four = [{"id": None, "name": f"联系人{i}", "relation": "亲属", "phone": "13900001111"} for i in range(4)]
    for contacts in (four, [{"id": foreign.pk, "name": "改", "relation": "父亲", "phone": "13900009999"}]):
        with pytest.raises(ValidationError):
            services.archive_update(
                profile=resident_profile,
                acting_user=resident,
                data={"photo": upload("me.png", PNG), "emergency_contacts": contacts},
                source=RevisionSource.SELF,
            )
    assert stored_files() == [] and not ArchiveRevision.objects.exists()
    assert EmergencyContact.objects.get(pk=foreign.pk).name == "王父"
    assert not resident_profile.emergency_contacts.exists()
