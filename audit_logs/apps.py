from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditLogsConfig(AppConfig):
    name = "audit_logs"
    verbose_name = _("Audit and logs")

    def ready(self) -> None:
        from . import collections, demo, navigation, permissions  # noqa: F401
