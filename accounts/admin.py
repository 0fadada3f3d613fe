from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from core.admin import RoleAdminMixin

from .models import Department, Hospital, RoleAssignment, SpecialtyBase, User


@admin.register(Hospital)
class HospitalAdmin(RoleAdminMixin, ImportExportModelAdmin):
    list_display = ["code", "name", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]


@admin.register(SpecialtyBase)
class SpecialtyBaseAdmin(RoleAdminMixin, ImportExportModelAdmin):
    list_display = ["code", "name", "name_en", "hospital", "is_active"]
    list_filter = ["hospital", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Department)
class DepartmentAdmin(RoleAdminMixin, ImportExportModelAdmin):
    list_display = ["code", "name", "base", "hospital", "parent", "is_active"]
    list_filter = ["hospital", "base", "is_active"]
    search_fields = ["code", "name", "name_en"]
    autocomplete_fields = ["parent"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "user"
    extra = 0
    fields = ["role", "hospital", "base", "department", "valid_from", "valid_until"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["user", "role", "hospital", "base", "department", "valid_from", "valid_until"]
    list_filter = ["role", "base"]
    search_fields = ["user__username", "user__real_name"]
    autocomplete_fields = ["user", "department"]


@admin.register(User)
class UserAdmin(RoleAdminMixin, DjangoUserAdmin):
    list_display = ["username", "real_name", "staff_number", "status", "last_login"]
    list_filter = ["status"]
    search_fields = ["username", "real_name", "staff_number"]
    readonly_fields = ["last_login", "date_joined", "password_changed_at"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("real_name", "staff_number", "phone", "email")}),
        (_("Status"), {"fields": ("status", "must_change_password", "password_changed_at", "applied_base")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "real_name", "password1", "password2")}),)
    inlines = [RoleAssignmentInline]


# Unlocking an account is the office's and the system admins' job: give them django-axes' screen.
from axes.admin import AccessAttemptAdmin  # noqa: E402
from axes.models import AccessAttempt  # noqa: E402

if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAdmin(RoleAdminMixin, AccessAttemptAdmin):
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False
