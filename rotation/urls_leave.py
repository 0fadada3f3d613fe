"""Leave under /rotation/leave/ (the lead includes this module in the "rotation" namespace)."""

from django.urls import path

from . import views_leave as views

urlpatterns = [
    path("", views.MyLeaveView.as_view(), name="leave_mine"),
    path("new/", views.LeaveCreateView.as_view(), name="leave_new"),
    path("all/", views.LeaveListView.as_view(), name="leave_list"),
    path("settings/", views.LeaveSettingsView.as_view(), name="leave_settings"),
    path("makeup/", views.MakeupLedgerView.as_view(), name="leave_ledger"),
    path("makeup/export/", views.MakeupLedgerExportView.as_view(), name="leave_ledger_export"),
    path("makeup/<uuid:uuid>/", views.MakeupResidentView.as_view(), name="leave_makeup"),
    path("<uuid:uuid>/", views.LeaveDetailView.as_view(), name="leave_detail"),
    path("<uuid:uuid>/withdraw/", views.LeaveWithdrawView.as_view(), name="leave_withdraw"),
    path("<uuid:uuid>/return/", views.LeaveReportBackView.as_view(), name="leave_report_back"),
    path("<uuid:uuid>/attachments/<int:pk>/", views.LeaveAttachmentView.as_view(), name="leave_attachment"),
]
