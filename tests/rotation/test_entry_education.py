"""入科教育 through the views: the department records it, the resident confirms it, the completion rate on the
department and base pages; the hospital's default checklist and a department's own; refusals and who may."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from notices.models import Notification
from rotation.models import EntryEducation, EntryEducationTopic
from rotation.services import entry_education
from tests.factories.residents import RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def people(personas, other_supervisor):
    return {**personas, "other_supervisor": other_supervisor}


@pytest.fixture
def topics(org):
    return entry_education.topics_for(org.cardiology)


def url(name: str, obj) -> str:
    return reverse(f"rotation:blocks_{name}", args=[obj.uuid])


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def record(client, user, block, topics, **extra):
    client.force_login(user)
    data = {
        "given_by": user.pk,
        "given_on": timezone.localdate().isoformat(),
        "topics": [t.pk for t in topics],
        "note": "带教制度、值班安排",
        **extra,
    }
    return client.post(url("entry_record", block), data)


def test_the_hospital_default_checklist_is_created_once(org):
    first = entry_education.topics_for(org.cardiology)
    assert [t.title for t in first] == [
        "Department introduction",
        "Rules and regulations",
        "Training plan and requirements",
        "Medical ethics and conduct",
        "Doctor–patient communication",
    ]
    assert entry_education.topics_for(org.general_surgery) == first
    assert EntryEducationTopic.objects.count() == 5


def test_the_secretary_records_and_the_resident_confirms(client, people, current_block, topics, audit_events):
    secretary, resident = people["secretary"], people["resident"]
    client.force_login(secretary)
    assert client.get(url("entry_record", current_block)).status_code == 200
    response = record(client, secretary, current_block, topics[:3])
    assert response.status_code == 302
    education = EntryEducation.objects.get(block=current_block)
    assert education.given_by == secretary and education.confirmed_at is None
    assert sorted(t.pk for t in education.topics.all()) == sorted(t.pk for t in topics[:3])
    assert Notification.objects.filter(user=resident, kind="rotation.entry_education").exists()

    client.force_login(resident)
    page = client.get(url("block", current_block)).content.decode()
    assert 'data-testid="entry-confirm"' in page and "Department introduction" in page
    response = client.post(url("entry_confirm", current_block))
    assert response.status_code == 302
    education.refresh_from_db()
    assert education.confirmed_at is not None
    assert "Confirmed" in client.get(url("block", current_block)).content.decode()
    # confirmed is final: no second confirmation, no correction
    assert client.post(url("entry_confirm", current_block)).status_code == 403
    client.force_login(secretary)
    assert record(client, secretary, current_block, topics).status_code == 400
    actions = [e["action"] for e in audit_events]
    assert "rotation.entry_education_record" in actions and "rotation.entry_education_confirm" in actions


def test_the_supervisor_may_correct_it_until_it_is_confirmed(client, people, current_block, topics):
    record(client, people["secretary"], current_block, topics[:1])
    response = record(client, people["supervisor"], current_block, topics, given_by=people["head"].pk)
    assert response.status_code == 302
    education = EntryEducation.objects.get(block=current_block)
    assert education.given_by == people["head"] and education.topics.count() == 5


def test_bad_input_is_refused_and_nothing_saved(client, people, current_block, topics):
    secretary = people["secretary"]
    response = record(client, secretary, current_block, [])
    assert response.status_code == 400
    assert "Tick at least one topic of the department&#x27;s checklist." in response.content.decode()
    future = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = record(client, secretary, current_block, topics, given_on=future)
    assert response.status_code == 400 and "cannot be dated in the future" in response.content.decode()
    early = (current_block.start_date - datetime.timedelta(days=30)).isoformat()
    response = record(client, secretary, current_block, topics, given_on=early)
    assert response.status_code == 400 and "must be given during the rotation" in response.content.decode()
    other = EntryEducationTopic.objects.create(
        hospital=current_block.department.hospital, title="别的科室", department=None
    )
    other.is_active = False
    other.save()
    response = record(client, secretary, current_block, [other])
    assert response.status_code == 400
    assert not EntryEducation.objects.exists()


def test_the_completion_rate_counts_confirmed_entry_education(client, people, org, current_block, topics):
    today = timezone.localdate()
    others = [
        RotationBlockFactory(department=org.cardiology, start_date=today - datetime.timedelta(days=20 + i),
                             end_date=today + datetime.timedelta(days=30))
        for i in range(3)
    ]  # fmt: skip
    record(client, people["secretary"], current_block, topics)
    EntryEducation.objects.filter(block=current_block).update(confirmed_at=timezone.now())
    record(client, people["secretary"], others[0], topics)  # recorded, not confirmed
    first, last = entry_education.default_period()
    rate = entry_education.completion_rate(org.cardiology, first, last)
    assert (rate.started, rate.recorded, rate.confirmed, rate.percent) == (4, 2, 1, 25)

    client.force_login(people["secretary"])
    page = client.get(url("entry_department", org.cardiology)).content.decode()
    assert 'data-testid="department-rate"' in page and "25 %" in page and page.count('data-testid="entry-row"') == 4
    client.force_login(people["director"])
    page = client.get(url("entry_base", org.internal)).content.decode()
    assert "心血管内科" in page and "25 %" in page
    assert client.get(reverse("rotation:blocks_entry_index")).status_code == 302  # one base: straight to it


def test_a_department_keeps_its_own_checklist(client, people, org, current_block):
    client.force_login(people["secretary"])
    assert client.get(url("entry_topics", org.cardiology)).status_code == 200
    response = client.post(url("entry_topics", org.cardiology), {"titles": "科室介绍\n心电图室安全\n\n科室介绍\n"})
    assert response.status_code == 302
    assert [t.title for t in entry_education.topics_for(org.cardiology)] == ["科室介绍", "心电图室安全"]
    assert entry_education.topics_for(org.general_surgery)[0].title == "Department introduction"
    client.post(url("entry_topics", org.cardiology), {"titles": ""})  # back to the hospital's
    assert entry_education.topics_for(org.cardiology)[0].title == "Department introduction"
    response = client.post(url("entry_topics", org.cardiology), {"titles": "长" * 101})
    assert response.status_code == 400 and "at most 100 characters" in response.content.decode()


# --- who may ------------------------------------------------------------------------------------


OUTSIDE = {"anonymous": LOGIN, "outsider": 404, "other_resident": 404, "other_supervisor": 404, "other_director": 404}


def test_who_records_entry_education(client, people, current_block):
    expected = {
        **OUTSIDE,
        "secretary": 200,
        "head": 200,
        "supervisor": 200,
        "resident": 403,
        "clerk": 403,
        "director": 403,
        "office": 403,
    }
    assert_access(client, people, expected, url("entry_record", current_block))


def test_only_the_resident_confirms(client, people, current_block, topics):
    record(client, people["secretary"], current_block, topics)
    expected = {**OUTSIDE, "supervisor": 403, "secretary": 403, "head": 403, "director": 403, "resident": 302}
    assert_access(client, people, expected, url("entry_confirm", current_block), method="post")


def test_who_sees_the_rates(client, people, org, current_block):
    department = {
        "anonymous": LOGIN,
        "outsider": 403,
        "resident": 403,
        "supervisor": 403,
        "other_director": 404,
        "secretary": 200,
        "head": 200,
        "clerk": 200,
        "director": 200,
        "office": 200,
    }
    assert_access(client, people, department, url("entry_department", org.cardiology))
    topics = {**department, "clerk": 403}
    assert_access(client, people, topics, url("entry_topics", org.cardiology))
    base = {
        "anonymous": LOGIN,
        "outsider": 403,
        "resident": 403,
        "secretary": 403,
        "other_director": 404,
        "director": 200,
        "office": 200,
    }
    assert_access(client, people, base, url("entry_base", org.internal))
    index = {"anonymous": LOGIN, "outsider": 403, "resident": 403, "supervisor": 403, "office": 200}
    assert_access(client, people, index, reverse("rotation:blocks_entry_index"))


def test_the_resident_is_asked_to_confirm_on_the_home_page(client, people, current_block, topics):
    import rotation.nav_blocks  # noqa: F401  (registers the panels until the lead wires the module)

    record(client, people["secretary"], current_block, topics)
    client.force_login(people["resident"])
    assert "Confirm your entry education in 心血管内科" in client.get(reverse("core:home")).content.decode()
