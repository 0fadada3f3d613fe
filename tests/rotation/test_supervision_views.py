"""指导医师分配 pages: who may open them (everyone else: 404), assigning through the page, refusals
with a clear message and nothing changed, and assign-all with its report."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from notices.models import Notification
from rotation.models import DepartmentSupervisor, RotationBlock
from tests.factories.accounts import UserFactory
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

MAR = datetime.date(2030, 3, 1)
MAR_END = datetime.date(2030, 3, 31)
MONTH = "2030-03"

MANAGERS = {"secretary": 200, "head": 200, "director": 200, "office": 200}
OTHERS = ["resident", "other_resident", "supervisor", "clerk", "other_director", "sysadmin", "auditor", "outsider"]
OTHERS_404 = dict.fromkeys(OTHERS, 404)


@pytest.fixture
def doctors(org):
    a = UserFactory(real_name="甲医生")
    b = UserFactory(real_name="乙医生")
    DepartmentSupervisor.objects.create(department=org.cardiology, user=a, max_residents=1)
    DepartmentSupervisor.objects.create(department=org.cardiology, user=b, max_residents=1)
    return a, b


@pytest.fixture
def block(org, resident_profile):
    return RotationBlockFactory(
        resident=resident_profile, department=org.cardiology, start_date=MAR, end_date=datetime.date(2030, 4, 30)
    )


@pytest.fixture
def surgery_block(org, other_profile):
    return RotationBlockFactory(
        resident=other_profile, department=org.general_surgery, start_date=MAR, end_date=datetime.date(2030, 3, 31)
    )


def page(department) -> str:
    return reverse("rotation:supervision_department", args=[department.uuid]) + f"?month={MONTH}"


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- who may ----------------------------------------------------------------------------------


def test_the_month_page_is_for_the_department_base_and_office(client, personas, org, block, doctors):
    assert_access(client, personas, {"anonymous": LOGIN, **MANAGERS, **OTHERS_404}, page(org.cardiology))


def test_another_base_director_manages_their_own_department_only(client, personas, org, surgery_block):
    expected = {"other_director": 200, "office": 200, "director": 404, "secretary": 404, "head": 404}
    assert_access(client, personas, expected, page(org.general_surgery))


def test_the_load_table_is_for_the_same_people(client, personas, org, doctors):
    url = reverse("rotation:supervision_load", args=[org.cardiology.uuid])
    assert_access(client, personas, {"anonymous": LOGIN, **MANAGERS, **OTHERS_404}, url)


def test_the_index_sends_a_one_department_manager_straight_to_it(client, personas, org):
    url = reverse("rotation:supervision")
    expected = {"anonymous": LOGIN, "secretary": 302, "head": 302, "director": 302, "office": 200}
    expected.update({"resident": 403, "supervisor": 403, "outsider": 403, "clerk": 403, "auditor": 403})
    assert_access(client, personas, expected, url)
    client.force_login(personas["secretary"])
    assert client.get(url + f"?month={MONTH}")["Location"] == page(org.cardiology)


def test_assigning_is_for_managers_and_404_for_everyone_else(client, personas, org, block, doctors):
    url = reverse("rotation:supervision_assign", args=[block.uuid])
    data = {f"b{block.pk}-supervisor": doctors[0].pk, "month": MONTH}
    expected = {"anonymous": LOGIN, **{k: 302 for k in MANAGERS}, **OTHERS_404}
    assert_access(client, personas, expected, url, method="post", data=data)
    block.refresh_from_db()
    assert block.supervisor == doctors[0]


def test_a_secretary_cannot_touch_another_departments_block(client, secretary, surgery_block, org):
    doctor = UserFactory(real_name="丙医生")
    DepartmentSupervisor.objects.create(department=org.general_surgery, user=doctor)
    client.force_login(secretary)
    url = reverse("rotation:supervision_assign", args=[surgery_block.uuid])
    assert client.post(url, {f"b{surgery_block.pk}-supervisor": doctor.pk}).status_code == 404
    auto = reverse("rotation:supervision_auto", args=[org.general_surgery.uuid])
    assert client.post(auto, {"month": MONTH}).status_code == 404
    unassign = reverse("rotation:supervision_unassign", args=[surgery_block.uuid])
    assert client.post(unassign).status_code == 404
    surgery_block.refresh_from_db()
    assert surgery_block.supervisor is None


def test_assign_all_and_unassign_permissions(client, personas, org, block, doctors):
    auto = reverse("rotation:supervision_auto", args=[org.cardiology.uuid])
    expected = {"anonymous": LOGIN, **{k: 302 for k in MANAGERS}, **OTHERS_404}
    assert_access(client, personas, expected, auto, method="post", data={"month": MONTH})
    block.refresh_from_db()
    assert block.supervisor is not None
    unassign = reverse("rotation:supervision_unassign", args=[block.uuid])
    assert_access(client, personas, {**OTHERS_404, "anonymous": LOGIN}, unassign, method="post")
    block.refresh_from_db()
    assert block.supervisor is not None
    assert_access(client, personas, {"secretary": 302}, unassign, method="post")
    block.refresh_from_db()
    assert block.supervisor is None


def test_the_pages_refuse_get_on_actions(client, secretary, block):
    client.force_login(secretary)
    assert client.get(reverse("rotation:supervision_assign", args=[block.uuid])).status_code == 405


# --- the month page ---------------------------------------------------------------------------


def test_the_month_page_shows_blocks_supervisors_and_the_top_suggestion(client, secretary, org, block, doctors):
    a, b = doctors
    other = ResidentProfileFactory(user=UserFactory(real_name="王住院"), base=org.internal)
    RotationBlockFactory(resident=other, department=org.cardiology, start_date=MAR, end_date=MAR, supervisor=a)
    client.force_login(secretary)
    response = client.get(page(org.cardiology))
    html = response.content.decode()
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["block"].resident.user.real_name for r in rows] == ["李住院", "王住院"]
    assert rows[0]["top"].user == b  # 甲 is full during March
    assert rows[1]["block"].supervisor == a
    assert "Suggested:" in html and "乙医生" in html
    assert "甲医生 (1/1) · full" in html
    assert response.context["without_supervisor"] == 1


def test_the_month_page_needs_a_fixed_number_of_queries(client, secretary, org, doctors, django_assert_max_num_queries):
    for i in range(8):
        profile = ResidentProfileFactory(user=UserFactory(real_name=f"住院{i}"), base=org.internal)
        RotationBlockFactory(resident=profile, department=org.cardiology, start_date=MAR, end_date=MAR)
    client.force_login(secretary)
    with django_assert_max_num_queries(20):
        response = client.get(page(org.cardiology))
    assert len(response.context["rows"]) == 8


def test_a_department_without_doctors_says_so(client, secretary, org, block):
    client.force_login(secretary)
    html = client.get(page(org.cardiology)).content.decode()
    assert "This department has no available supervising doctors yet." in html
    assert "No supervising doctor has room during this block." in html


def test_a_bad_month_falls_back_to_this_month(client, secretary, org):
    client.force_login(secretary)
    url = reverse("rotation:supervision_department", args=[org.cardiology.uuid]) + "?month=nonsense"
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["month"] == datetime.date.today().replace(day=1)


# --- assigning through the page ---------------------------------------------------------------


def test_a_secretary_assigns_a_supervisor_and_both_are_told(client, secretary, org, block, doctors, audit_events):
    client.force_login(secretary)
    url = reverse("rotation:supervision_assign", args=[block.uuid])
    response = client.post(url, {f"b{block.pk}-supervisor": doctors[1].pk, "month": MONTH})
    assert response["Location"] == page(org.cardiology)
    assert texts(response) == ["乙医生 now supervises 李住院."]
    block.refresh_from_db()
    assert (block.supervisor, block.supervisor_assigned_by) == (doctors[1], secretary)
    assert set(Notification.objects.values_list("user_id", flat=True)) == {block.resident.user_id, doctors[1].pk}
    assert [e["action"] for e in audit_events if e["action"].startswith("rotation.")] == ["rotation.supervisor_assign"]


def test_a_full_doctor_is_refused_with_the_reason(client, secretary, org, block, doctors):
    a, _b = doctors
    busy = ResidentProfileFactory(user=UserFactory(real_name="王住院"), base=org.internal)
    RotationBlockFactory(resident=busy, department=org.cardiology, start_date=MAR, end_date=MAR, supervisor=a)
    client.force_login(secretary)
    url = reverse("rotation:supervision_assign", args=[block.uuid])
    response = client.post(url, {f"b{block.pk}-supervisor": a.pk, "month": MONTH})
    assert texts(response) == [
        "甲医生 already supervises 1 resident(s) at a time during 2030-03-01 – 2030-04-30; the limit is 1. "
        "Choose another supervising doctor."
    ]
    block.refresh_from_db()
    assert block.supervisor is None
    assert not Notification.objects.exists()


def test_the_office_overrides_the_limit_with_a_reason_through_the_page(client, office, org, block, doctors):
    a, _b = doctors
    busy = ResidentProfileFactory(user=UserFactory(real_name="王住院"), base=org.internal)
    RotationBlockFactory(resident=busy, department=org.cardiology, start_date=MAR, end_date=MAR, supervisor=a)
    client.force_login(office)
    response = client.get(page(org.cardiology))
    assert "Reason for exceeding the limit" in response.content.decode()
    url = reverse("rotation:supervision_assign", args=[block.uuid])
    client.post(url, {f"b{block.pk}-supervisor": a.pk, f"b{block.pk}-override_reason": "staff shortage"})
    block.refresh_from_db()
    assert block.supervisor == a


def test_the_secretary_gets_no_override_field(client, secretary, org, block, doctors):
    client.force_login(secretary)
    assert "Reason for exceeding the limit" not in client.get(page(org.cardiology)).content.decode()


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_a_doctor_not_on_the_list_is_refused_and_nothing_changes(client, secretary, org, block, doctors, value):
    client.force_login(secretary)
    url = reverse("rotation:supervision_assign", args=[block.uuid])
    response = client.post(url, {f"b{block.pk}-supervisor": value, "month": MONTH})
    assert texts(response) == ["Choose one of the department's supervising doctors."]
    block.refresh_from_db()
    assert block.supervisor is None


def test_assign_all_fills_the_month_and_reports_who_is_left(client, secretary, org, doctors):
    blocks = []
    for i, name in enumerate(["住院甲", "住院乙", "住院丙"]):
        profile = ResidentProfileFactory(user=UserFactory(real_name=name), base=org.internal)
        blocks.append(
            RotationBlockFactory(
                resident=profile, department=org.cardiology, start_date=MAR.replace(day=1 + i), end_date=MAR_END
            )
        )
    client.force_login(secretary)
    response = client.post(reverse("rotation:supervision_auto", args=[org.cardiology.uuid]), {"month": MONTH})
    assert response["Location"] == page(org.cardiology)
    assert texts(response) == [
        "2 blocks got a supervising doctor.",
        "No supervising doctor has room for 1 block: 住院丙. Add supervisors or raise a limit.",
    ]
    assert RotationBlock.objects.filter(supervisor__isnull=False).count() == 2


def test_assign_all_without_a_month_is_refused(client, secretary, org, block, doctors):
    client.force_login(secretary)
    response = client.post(reverse("rotation:supervision_auto", args=[org.cardiology.uuid]), {"month": "x"})
    assert texts(response) == ["Choose a month."]
    block.refresh_from_db()
    assert block.supervisor is None


# --- the load table ---------------------------------------------------------------------------


def test_the_load_table_shows_residents_now_against_the_limit(client, secretary, org, block, doctors):
    a, b = doctors
    RotationBlock.objects.filter(pk=block.pk).update(supervisor=a)
    client.force_login(secretary)
    url = reverse("rotation:supervision_load", args=[org.cardiology.uuid]) + "?day=2030-03-15"
    response = client.get(url)
    rows = {r["user"].real_name: (r["load"], r["limit"]) for r in response.context["rows"]}
    assert rows == {"甲医生": (1, 1), "乙医生": (0, 1)}
    assert "李住院" in response.content.decode()
