"""The 指导医师准入 rule is data the training office keeps in the admin (it differs between provinces)."""

from django.contrib import admin

from core.admin import RoleAdminMixin

from .models import QualificationRule


@admin.register(QualificationRule)
class QualificationRuleAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "min_title", "min_teaching_years", "validity_years", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request, *args):
        """There is one rule: the office edits it rather than adding a second one."""
        return super().has_add_permission(request, *args) and not QualificationRule.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
