"""Rotation fixtures: the residents' personas (from tests/residents) and a small 内科 programme.

李住院 (内科, cohort 2025) rotates in 心血管内科 now, supervised by 张带教; 王外科 (外科) is the
outsider. The programme: 心血管内科 2, 呼吸内科 2, 消化内科 1 and one of 肾内科 / 内分泌科 for 1 month.
"""

import pytest

from rotation.choices import RequirementKind
from rotation.models import DepartmentSetting, Programme, ProgrammeRequirement
from tests.factories.accounts import DepartmentFactory
from tests.residents.conftest import (  # noqa: F401  (fixtures)
    archive_personas,
    current_block,
    mentor,
    other_profile,
    other_supervisor,
    resident_profile,
)


@pytest.fixture
def internal_departments(org) -> dict:
    departments = {"CARD": org.cardiology}
    for code, name in [("RESP", "呼吸内科"), ("GAST", "消化内科"), ("NEPH", "肾内科"), ("ENDO", "内分泌科")]:
        departments[code] = DepartmentFactory(base=org.internal, code=code, name=name)
    for department in departments.values():
        DepartmentSetting.objects.create(department=department, capacity=4)
    return departments


@pytest.fixture
def programme(org, internal_departments) -> Programme:
    programme = Programme.objects.create(base=org.internal, code="0100", name="内科", total_months=6)
    d = internal_departments
    for position, (code, months) in enumerate([("CARD", 2), ("RESP", 2), ("GAST", 1)]):
        ProgrammeRequirement.objects.create(programme=programme, position=position, department=d[code], months=months)
    group = ProgrammeRequirement.objects.create(
        programme=programme, position=9, kind=RequirementKind.ELECTIVE, months=1, choose=1
    )
    group.options.set([d["NEPH"], d["ENDO"]])
    return programme
