from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RotationConfig(AppConfig):
    name = "rotation"
    verbose_name = _("Rotation")

    def ready(self) -> None:
        # registries: access, timeline, approval workflows, nav and home panels, demo seeders, beat tasks
        from . import (  # noqa: F401
            access,
            demo,
            demo_attendance,
            demo_blocks,
            demo_caseload,
            demo_leave,
            nav_attendance,
            nav_blocks,
            nav_caseload,
            nav_department,
            nav_leave,
            navigation,
            tasks_caseload,
            timeline,
            workflows,
            workflows_attendance,
            workflows_leave,
        )
