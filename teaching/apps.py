from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeachingConfig(AppConfig):
    name = "teaching"
    verbose_name = _("Teaching activities")

    def ready(self) -> None:
        # registries: policies, approval workflow, nav and home panels, timelines, demo seeders
        from . import (  # noqa: F401
            demo_plans,
            demo_records,
            nav_checkin,
            nav_plans,
            nav_records,
            permissions,
            timeline,
            workflows,
        )
