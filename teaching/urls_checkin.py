from django.urls import path

from . import views_checkin as views

urlpatterns = [
    path("s/complete/", views.ScanCompleteView.as_view(), name="checkin_complete"),
    path("s/<str:token>/", views.ScanView.as_view(), name="checkin_scan"),
    path("activities/<uuid:uuid>/code/", views.CodeView.as_view(), name="checkin_code"),
    path("activities/<uuid:uuid>/code/qr/", views.CodePartView.as_view(), name="checkin_code_qr"),
    path("activities/<uuid:uuid>/attendance/", views.AttendanceView.as_view(), name="checkin_attendance"),
    path("activities/<uuid:uuid>/attendance/mark/", views.MarkView.as_view(), name="checkin_mark"),
    path("anomalies/", views.AnomalyView.as_view(), name="checkin_anomalies"),
]
