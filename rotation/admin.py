"""Rotation data in the Django admin, for the training office and system admins (changes audited)."""

from django.contrib import admin

from core.admin import RoleAdminMixin

from .models import (
    CaseloadStandard,
    DepartmentMonth,
    DepartmentSetting,
    DepartmentSupervisor,
    ElectivePreference,
    EntryEducationTopic,
    ExitForm,
    LeaveSettings,
    MakeupTask,
    PreferenceWindow,
    Programme,
    ProgrammeRequirement,
    RotationBlock,
    ScheduleChange,
    ScheduleRun,
)


class ProgrammeRequirementInline(admin.TabularInline):
    model = ProgrammeRequirement
    extra = 0
    fields = ["position", "kind", "department", "options", "months", "choose", "max_runs", "year_minimum"]
    autocomplete_fields = ["department"]
    filter_horizontal = ["options"]


@admin.register(Programme)
class ProgrammeAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "base", "total_months", "confirmed", "updated_at"]
    list_filter = ["confirmed", "base__hospital"]
    search_fields = ["code", "name", "base__name"]
    readonly_fields = ["uuid", "updated_at"]
    inlines = [ProgrammeRequirementInline]


@admin.register(RotationBlock)
class RotationBlockAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["resident", "department", "start_date", "end_date", "supervisor", "run"]
    list_filter = ["department__base", "department__hospital"]
    search_fields = ["resident__user__real_name", "department__name", "supervisor__real_name"]
    date_hierarchy = "start_date"
    raw_id_fields = ["resident", "supervisor", "run", "supervisor_assigned_by"]
    autocomplete_fields = ["department"]
    list_select_related = ["resident__user", "department", "supervisor", "run"]


@admin.register(DepartmentSetting)
class DepartmentSettingAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["department", "capacity", "minimum", "residents_per_supervisor"]
    list_filter = ["department__hospital", "department__base"]
    search_fields = ["department__name", "department__code"]
    autocomplete_fields = ["department"]
    list_select_related = ["department"]


@admin.register(DepartmentMonth)
class DepartmentMonthAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["department", "month", "capacity", "minimum", "closed", "note"]
    list_filter = ["closed", "department__hospital"]
    search_fields = ["department__name", "department__code", "note"]
    date_hierarchy = "month"
    autocomplete_fields = ["department"]
    list_select_related = ["department"]


@admin.register(DepartmentSupervisor)
class DepartmentSupervisorAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["department", "user", "max_residents", "is_active"]
    list_filter = ["is_active", "department__hospital"]
    search_fields = ["department__name", "user__real_name", "user__username"]
    autocomplete_fields = ["department", "user"]
    list_select_related = ["department", "user"]


@admin.register(PreferenceWindow)
class PreferenceWindowAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["hospital", "base", "cohort", "opens_at", "closes_at", "created_by"]
    list_filter = ["hospital", "base"]
    readonly_fields = ["uuid", "created_at"]
    raw_id_fields = ["created_by"]


@admin.register(ElectivePreference)
class ElectivePreferenceAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["resident", "requirement", "rank", "department", "updated_at"]
    list_filter = ["requirement__programme"]
    search_fields = ["resident__user__real_name", "department__name"]
    raw_id_fields = ["resident", "requirement"]
    autocomplete_fields = ["department"]
    list_select_related = ["resident__user", "requirement", "department"]


@admin.register(ScheduleRun)
class ScheduleRunAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Runs are made and published in the app; the admin only shows them."""

    list_display = ["__str__", "hospital", "scope", "base", "cohort", "status", "version", "created_at", "published_at"]
    list_filter = ["status", "scope", "hospital"]
    readonly_fields = [f.name for f in ScheduleRun._meta.fields]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ScheduleChange)
class ScheduleChangeAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["run", "status", "requested_by", "created_at", "applied_at"]
    list_filter = ["status"]
    readonly_fields = ["uuid", "created_at", "applied_at"]
    raw_id_fields = ["run", "requested_by", "residents"]


# --- rotation in practice: the rules a hospital tunes ------------------------------------------------


@admin.register(CaseloadStandard)
class CaseloadStandardAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["department", "kind", "name", "minimum", "standard_months", "is_active"]
    list_filter = ["kind", "is_active", "department__base"]
    search_fields = ["name", "department__name"]
    autocomplete_fields = ["department"]
    list_select_related = ["department"]


@admin.register(EntryEducationTopic)
class EntryEducationTopicAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["title", "department", "position", "is_active"]
    list_filter = ["is_active", "hospital"]
    search_fields = ["title", "department__name"]
    autocomplete_fields = ["department"]


@admin.register(ExitForm)
class ExitFormAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Items are JSON: [{"key", "label", "section": "daily" | "exam", "points"}], points adding up to 100."""

    list_display = ["name", "department", "pass_mark", "quota_gate", "require_evaluation"]
    list_filter = ["hospital", "require_evaluation"]
    autocomplete_fields = ["department"]


@admin.register(LeaveSettings)
class LeaveSettingsAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["hospital", "block_fail_ratio", "makeup_over_days", "annual_leave_days"]


@admin.register(MakeupTask)
class MakeupTaskAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["resident", "review", "due_date", "done_at"]
    list_filter = ["done_at"]
    search_fields = ["resident__user__real_name", "reason"]
    raw_id_fields = ["resident", "review"]
