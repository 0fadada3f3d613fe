from django.contrib import admin

from .models import ApprovalAction, ApprovalChain, ApprovalRequest, ApprovalStep


class ApprovalStepInline(admin.TabularInline):
    model = ApprovalStep
    extra = 0


@admin.register(ApprovalChain)
class ApprovalChainAdmin(admin.ModelAdmin):
    list_display = ["name", "workflow", "is_active", "created_at"]
    list_filter = ["workflow", "is_active"]
    inlines = [ApprovalStepInline]


class ApprovalActionInline(admin.TabularInline):
    model = ApprovalAction
    extra = 0
    can_delete = False
    readonly_fields = ["step", "actor", "kind", "comment", "created_at"]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = ["title", "workflow", "status", "current_step", "submitter", "submitted_at"]
    list_filter = ["workflow", "status"]
    search_fields = ["title"]
    readonly_fields = [f.name for f in ApprovalRequest._meta.fields] + ["current_approvers"]
    inlines = [ApprovalActionInline]

    def has_add_permission(self, request):
        return False
