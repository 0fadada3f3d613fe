from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RotationConfig(AppConfig):
    name = "rotation"
    verbose_name = _("Rotation")

    def ready(self) -> None:
        from . import access, demo, navigation, timeline, workflows  # noqa: F401
        from . import demo_attendance, nav_attendance, workflows_attendance  # noqa: F401
        from . import demo_leave, nav_leave, workflows_leave  # noqa: F401
