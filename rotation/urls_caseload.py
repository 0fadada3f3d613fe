"""登记手册 (daily caseload): included by rotation/urls.py under caseload/ in the "rotation" namespace."""

from django.urls import path

from . import views_caseload as views

urlpatterns = [
    path("", views.MyCaseloadView.as_view(), name="caseload_mine"),
    path("quick/", views.QuickEntryView.as_view(), name="caseload_quick"),
    path("new/<str:kind>/", views.EntryCreateView.as_view(), name="caseload_new"),
    path("same-as-yesterday/", views.RepeatView.as_view(), name="caseload_repeat"),
    path("drafts/submit/", views.SubmitDraftsView.as_view(), name="caseload_submit_drafts"),
    path("entries/<uuid:uuid>/", views.EntryDetailView.as_view(), name="caseload_entry"),
    path("entries/<uuid:uuid>/edit/", views.EntryEditView.as_view(), name="caseload_entry_edit"),
    path("entries/<uuid:uuid>/delete/", views.EntryDeleteView.as_view(), name="caseload_entry_delete"),
    path("entries/<uuid:uuid>/correct/", views.EntryCorrectView.as_view(), name="caseload_entry_correct"),
    path("entries/<uuid:uuid>/decide/", views.EntryDecideView.as_view(), name="caseload_entry_decide"),
    path("entries/<uuid:uuid>/attachments/<int:pk>/", views.AttachmentView.as_view(), name="caseload_attachment"),
    path("approvals/", views.InboxView.as_view(), name="caseload_inbox"),
    path("approvals/approve/", views.BulkApproveView.as_view(), name="caseload_bulk_approve"),
    path("blocks/", views.BlockListView.as_view(), name="caseload_blocks"),
    path("blocks/<uuid:uuid>/", views.BlockView.as_view(), name="caseload_block"),
]
