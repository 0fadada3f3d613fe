"""The Django admin is for the training office and system admins only; auditors never get in (三权分立)."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from .audit import audit_record


class ZhupeiAdminSite(admin.AdminSite):
    site_header = "住培 · 管理后台"
    site_title = "住培"

    def has_permission(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        return user.is_superuser or user.scope.is_system_admin or user.scope.is_office


class ZhupeiAdminConfig(AdminConfig):
    default_site = "core.admin.ZhupeiAdminSite"


class RoleAdminMixin:
    """Model permissions follow roles rather than Django's per-model permission rows; changes are audited."""

    admin_roles: tuple[str, ...] = ("training_office", "system_admin")

    def _allowed(self, request) -> bool:
        return request.user.is_superuser or request.user.scope.has_role(*self.admin_roles)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request, *args):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request)

    def log_addition(self, request, obj, message):
        audit_record(action=f"admin.add.{obj._meta.model_name}", target=obj, acting_user=request.user)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        audit_record(
            action=f"admin.change.{obj._meta.model_name}",
            target=obj,
            acting_user=request.user,
            message=str(message)[:500],
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            audit_record(action=f"admin.delete.{obj._meta.model_name}", target=obj, acting_user=request.user)
        return super().log_deletions(request, queryset)
