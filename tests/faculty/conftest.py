"""Teaching archives for the personas: 张带教 (supervisor) teaches in 心血管内科, 王刀 in 普通外科.

张带教 is an attending who has taught for three years, so she meets the default 指导医师准入 rule;
王刀 is a surgeon of the 外科 base, outside every 内科 persona's reach.
"""

import datetime

import factory
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.choices import Role
from faculty.choices import Title
from faculty.models import FacultyProfile
from tests.conftest import _person

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
HTML = b"<!DOCTYPE html><html><body><script>fetch('/accounts/')</script></body></html>"


def years_ago(years: int, days: int = 0) -> datetime.date:
    today = timezone.localdate()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:
        day = today.replace(year=today.year - years, day=28)
    return day - datetime.timedelta(days=days)


class FacultyProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FacultyProfile

    title = Title.ATTENDING
    teaching_since = factory.LazyFunction(lambda: years_ago(3, days=10))
    title_since = factory.LazyFunction(lambda: years_ago(4))


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def surgeon(org):
    return _person("surgeon", "王刀", Role.SUPERVISOR, department=org.general_surgery)


@pytest.fixture
def teacher(org, supervisor):
    """张带教's archive: attending in 心血管内科, teaching for three years."""
    return FacultyProfileFactory(user=supervisor, department=org.cardiology, specialty="介入")


@pytest.fixture
def surgeon_profile(org, surgeon):
    return FacultyProfileFactory(user=surgeon, department=org.general_surgery, title=Title.ASSOCIATE_CHIEF)


@pytest.fixture
def faculty_personas(personas, teacher, surgeon_profile) -> dict:
    return personas


@pytest.fixture
def login_en(client):
    """Sign in and read the pages in English: messages are asserted as their msgids, whatever the catalogue says."""

    def _login(user):
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return _login


@pytest.fixture
def media(mongo_db):
    """Certificates live in GridFS (the embedded server): start with an empty bucket."""
    return mongo_db


def stored_files() -> list[str]:
    from core import mongo

    return [grid_out.filename for grid_out in mongo.bucket().find({})]
