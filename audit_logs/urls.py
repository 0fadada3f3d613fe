from django.urls import path, re_path

from . import views

app_name = "audit_logs"

urlpatterns = [
    path("", views.AuditEventListView.as_view(), name="events"),
    path("events/<int:seq>/", views.AuditEventDetailView.as_view(), name="event_detail"),
    path("events/export.csv", views.AuditEventExportView.as_view(file_format="csv"), name="export_csv"),
    path("events/export.xlsx", views.AuditEventExportView.as_view(file_format="xlsx"), name="export_xlsx"),
    path("exceptions/", views.ExceptionListView.as_view(), name="exceptions"),
    re_path(
        r"^exceptions/(?P<signature>[0-9a-f]{6,64})/$", views.ExceptionDetailView.as_view(), name="exception_detail"
    ),
    path("traffic/", views.TrafficView.as_view(), name="traffic"),
    path("chain/", views.ChainStatusView.as_view(), name="chain"),
    path("chain/verify/", views.ChainVerifyView.as_view(), name="chain_verify"),
]
