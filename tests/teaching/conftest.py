"""Teaching fixtures: the rotation personas (李住院 in 心血管内科 now under 张带教; 王外科 the outsider)."""

from tests.residents.conftest import (  # noqa: F401  (fixtures)
    archive_personas,
    current_block,
    mentor,
    other_profile,
    other_supervisor,
    resident_profile,
)
