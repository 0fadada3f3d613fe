"""Personas every test can ask for, in one small hospital.

示范医院 has two bases (内科 with 心血管内科, 外科 with 普通外科) and a collaborating site.
Each persona holds exactly the role its name says, scoped as a real hospital would.
"""

from dataclasses import dataclass

import pytest

from accounts.choices import Role
from tests.factories.accounts import (
    DepartmentFactory,
    HospitalFactory,
    RoleAssignmentFactory,
    SpecialtyBaseFactory,
    UserFactory,
)

PASSWORD = "Zhupei#2025"


@pytest.fixture(scope="session", autouse=True)
def embedded_mongo(tmp_path_factory):
    """One nx-27017 server for the whole session; MONGODB_URI points at it."""
    from django.conf import settings

    from core import mongo
    from tests.mongo import start_embedded

    server = start_embedded(tmp_path_factory.mktemp("mongo"))
    settings.MONGODB_URI = server.uri
    mongo.reset()
    mongo.ensure_indexes()
    yield server
    from audit_logs import writer

    writer.flush()  # the log writer's last batch goes in before the server stops
    mongo.reset()
    server.stop()


@pytest.fixture
def mongo_db(embedded_mongo):
    """A clean MongoDB database for a test that reads what was written there."""
    from audit_logs import writer
    from core import mongo

    # What earlier tests logged (the writer buffers in the background) lands before the drop, not in this test.
    writer.flush()
    writer.replay_spool()
    mongo.database().client.drop_database(mongo.database().name)
    mongo.ensure_indexes()
    yield mongo.database()


@dataclass
class Org:
    hospital: object
    site: object
    internal: object
    surgery: object
    cardiology: object
    general_surgery: object


@pytest.fixture
def org(db) -> Org:
    hospital = HospitalFactory(code="demo", name="示范医院")
    site = HospitalFactory(code="site", name="协同医院", kind="collaborating", parent=hospital)
    internal = SpecialtyBaseFactory(hospital=hospital, code="0100", name="内科")
    surgery = SpecialtyBaseFactory(hospital=hospital, code="0900", name="外科")
    cardiology = DepartmentFactory(base=internal, code="CARD", name="心血管内科")
    general_surgery = DepartmentFactory(base=surgery, code="GS", name="普通外科")
    return Org(hospital, site, internal, surgery, cardiology, general_surgery)


def _person(username: str, real_name: str, role: str | None = None, **scope):
    user = UserFactory(username=username, real_name=real_name)
    if role:
        RoleAssignmentFactory(user=user, role=role, **scope)
    return user


@pytest.fixture
def resident(org):
    return _person("resident", "李住院", Role.RESIDENT, base=org.internal)


@pytest.fixture
def other_resident(org):
    """A resident of another base: the outsider every scoped view must hide things from."""
    return _person("resident_surgery", "王外科", Role.RESIDENT, base=org.surgery)


@pytest.fixture
def supervisor(org):
    return _person("supervisor", "张带教", Role.SUPERVISOR, department=org.cardiology)


@pytest.fixture
def secretary(org):
    return _person("secretary", "陈秘书", Role.TEACHING_SECRETARY, department=org.cardiology)


@pytest.fixture
def head(org):
    return _person("head", "刘主任", Role.DEPARTMENT_HEAD, department=org.cardiology)


@pytest.fixture
def clerk(org):
    return _person("clerk", "赵考勤", Role.ATTENDANCE_CLERK, department=org.cardiology)


@pytest.fixture
def director(org):
    return _person("director", "周基地", Role.BASE_DIRECTOR, base=org.internal)


@pytest.fixture
def other_director(org):
    return _person("director_surgery", "吴基地", Role.BASE_DIRECTOR, base=org.surgery)


@pytest.fixture
def office(org):
    return _person("office", "孙培训", Role.TRAINING_OFFICE, hospital=org.hospital)


@pytest.fixture
def sysadmin(org):
    return _person("sysadmin", "郑系统", Role.SYSTEM_ADMIN, hospital=org.hospital)


@pytest.fixture
def auditor(org):
    return _person("auditor", "钱审计", Role.AUDITOR, hospital=org.hospital)


@pytest.fixture
def outsider(org):
    """Signed in, but holds no role anywhere."""
    return _person("outsider", "路人甲")


@pytest.fixture
def personas(request, org) -> dict:
    names = [
        "resident",
        "other_resident",
        "supervisor",
        "secretary",
        "head",
        "clerk",
        "director",
        "other_director",
        "office",
        "sysadmin",
        "auditor",
        "outsider",
    ]
    people = {name: request.getfixturevalue(name) for name in names}
    people["anonymous"] = None
    return people


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def audit_events(settings):
    """Collect audit events in memory for assertions."""
    from core import audit

    settings.AUDIT_SINKS = ["core.audit.log_sink", "core.audit.memory_sink"]
    audit._memory.clear()
    yield audit._memory
    audit._memory.clear()


@pytest.fixture
def english(settings):
    """For tests that read English messages: pages and services answer in English, as after the language switch."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
