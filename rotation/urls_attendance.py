"""Monthly attendance reports (月度考勤), under /rotation/attendance/ (namespace "rotation")."""

from django.urls import path

from . import views_attendance as views

urlpatterns = [
    path("", views.AttendanceIndexView.as_view(), name="attendance"),
    path("reports/", views.AttendanceReportListView.as_view(), name="attendance_reports"),
    path("statistics/", views.AttendanceStatisticsView.as_view(), name="attendance_statistics"),
    path("statistics/export/", views.AttendanceExportView.as_view(), name="attendance_export"),
    path("departments/<uuid:uuid>/open/", views.AttendanceOpenView.as_view(), name="attendance_open"),
    path("<uuid:uuid>/", views.AttendanceReportView.as_view(), name="attendance_report"),
    path("<uuid:uuid>/refresh/", views.AttendanceRefreshView.as_view(), name="attendance_refresh"),
    path("<uuid:uuid>/submit/", views.AttendanceSubmitView.as_view(), name="attendance_submit"),
    path("<uuid:uuid>/reopen/", views.AttendanceReopenView.as_view(), name="attendance_reopen"),
]
