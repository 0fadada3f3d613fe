from django.contrib import admin

from core.admin import RoleAdminMixin

from .models import Notice, NoticeAttachment, NoticeRead


class _ReadOnly:
    """Notices are written, published and withdrawn through the audited pages; the admin only looks."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NoticeAttachmentInline(_ReadOnly, admin.TabularInline):
    model = NoticeAttachment
    extra = 0
    fields = ["original_name", "size", "content_type", "uploaded_by", "uploaded_at"]
    readonly_fields = fields


@admin.register(Notice)
class NoticeAdmin(_ReadOnly, RoleAdminMixin, admin.ModelAdmin):
    list_display = ["title", "hospital", "status", "is_pinned", "published_at", "author"]
    list_filter = ["status", "is_pinned", "hospital"]
    list_select_related = ["hospital", "author"]
    search_fields = ["title"]
    inlines = [NoticeAttachmentInline]


@admin.register(NoticeRead)
class NoticeReadAdmin(_ReadOnly, RoleAdminMixin, admin.ModelAdmin):
    list_display = ["notice", "user", "read_at"]
    list_select_related = ["notice", "user"]
    search_fields = ["notice__title", "user__username", "user__real_name"]
