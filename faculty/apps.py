from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacultyConfig(AppConfig):
    name = "faculty"
    verbose_name = _("Faculty")

    def ready(self) -> None:
        from . import demo, navigation, permissions, timeline  # noqa: F401
