"""Archives for the personas: 李住院 (内科) rotates in 心血管内科 now, supervised by 张带教.

王外科 (外科) is the resident outside every 内科 persona's reach. 黄导师 is 李住院's
responsible mentor; 马带教 is a supervisor of the same department who supervises nobody.
"""

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Role
from tests.conftest import _person
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory


@pytest.fixture
def mentor(org):
    return _person("mentor", "黄导师", Role.MENTOR, base=org.internal)


@pytest.fixture
def other_supervisor(org):
    return _person("supervisor2", "马带教", Role.SUPERVISOR, department=org.cardiology)


@pytest.fixture
def resident_profile(org, resident, mentor):
    return ResidentProfileFactory(user=resident, base=org.internal, mentor=mentor, cohort=2025)


@pytest.fixture
def other_profile(org, other_resident):
    return ResidentProfileFactory(user=other_resident, base=org.surgery, cohort=2024)


@pytest.fixture
def current_block(org, resident_profile, supervisor):
    today = timezone.localdate()
    return RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today.replace(day=1),
        end_date=today.replace(day=1) + datetime.timedelta(days=90),
    )


@pytest.fixture
def archive_personas(personas, mentor, other_supervisor, resident_profile, other_profile, current_block) -> dict:
    """The conftest personas plus the mentor and a supervisor of someone else, all archives in place."""
    return {**personas, "mentor": mentor, "other_supervisor": other_supervisor}
