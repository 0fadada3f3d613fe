from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import RoleAdminMixin

from . import registry
from .models import ApprovalAction, ApprovalChain, ApprovalRequest, ApprovalStep


class ApprovalStepForm(forms.ModelForm):
    """Relations and workflows are offered from the registry, so the office cannot type an unknown name."""

    relation = forms.ChoiceField(label=_("relation"), required=False, choices=())

    class Meta:
        model = ApprovalStep
        fields = ["order", "name", "role", "relation", "condition_field", "condition_operator", "condition_value"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["relation"].choices = [("", "—")] + [(c, r.label) for c, r in registry.relations().items()]

    def clean(self):
        data = super().clean()
        if bool(data.get("condition_field")) != bool(data.get("condition_operator")):
            raise forms.ValidationError(_("A condition needs both a field and an operator."))
        return data


class ApprovalStepInline(admin.TabularInline):
    model = ApprovalStep
    form = ApprovalStepForm
    extra = 0


class ApprovalChainForm(forms.ModelForm):
    workflow = forms.ChoiceField(label=_("workflow"), choices=())

    class Meta:
        model = ApprovalChain
        fields = ["workflow", "name", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow"].choices = [(c, w.label) for c, w in sorted(registry.workflows().items())]


@admin.register(ApprovalChain)
class ApprovalChainAdmin(RoleAdminMixin, admin.ModelAdmin):
    form = ApprovalChainForm
    list_display = ["name", "workflow", "is_active", "created_at"]
    list_filter = ["workflow", "is_active"]
    inlines = [ApprovalStepInline]


class ApprovalActionInline(admin.TabularInline):
    model = ApprovalAction
    extra = 0
    can_delete = False
    readonly_fields = ["step", "actor", "kind", "comment", "created_at"]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(RoleAdminMixin, admin.ModelAdmin):
    list_display = ["title", "workflow", "status", "current_step", "submitter", "submitted_at"]
    list_filter = ["workflow", "status"]
    search_fields = ["title"]
    readonly_fields = [f.name for f in ApprovalRequest._meta.fields] + ["current_approvers"]
    inlines = [ApprovalActionInline]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
