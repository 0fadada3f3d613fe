"""The training office edits activity types, frequency rules and rating indicators here."""

from django.contrib import admin

from core.admin import RoleAdminMixin

from .models import Activity, ActivityType, FrequencyRule, RatingIndicator, TeachingPlan


class FrequencyRuleInline(admin.TabularInline):
    model = FrequencyRule
    extra = 0
    fields = ["count", "per_days", "base", "department"]
    autocomplete_fields = ["department"]


@admin.register(ActivityType)
class ActivityTypeAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "default_hours", "position", "is_active", "hospital"]
    list_filter = ["is_active", "hospital"]
    search_fields = ["code", "name"]
    inlines = [FrequencyRuleInline]


@admin.register(FrequencyRule)
class FrequencyRuleAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["activity_type", "count", "per_days", "base", "department"]
    list_filter = ["activity_type__hospital", "activity_type"]
    autocomplete_fields = ["department"]
    list_select_related = ["activity_type", "base", "department"]


@admin.register(RatingIndicator)
class RatingIndicatorAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["name", "position", "is_active", "hospital"]
    list_filter = ["is_active", "hospital"]


@admin.register(TeachingPlan)
class TeachingPlanAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Read for the office; plans change through the plan pages and approvals."""

    list_display = ["department", "month", "status", "submitted_at", "approved_at"]
    list_filter = ["status", "department__hospital"]
    search_fields = ["department__name"]
    list_select_related = ["department"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Activity)
class ActivityAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["title", "activity_type", "department", "teacher", "starts_at", "status"]
    list_filter = ["status", "activity_type", "department__hospital"]
    search_fields = ["title", "teacher__real_name", "department__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["activity_type", "department", "teacher"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
