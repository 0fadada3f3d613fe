from django.urls import path

from . import views_records as views

urlpatterns = [
    path("records/", views.record_list, name="records_list"),
    path("activities/<uuid:uuid>/record/", views.record_detail, name="records_detail"),
    path("activities/<uuid:uuid>/record/review/", views.record_review, name="records_review"),
    path("activities/<uuid:uuid>/record/files/<int:pk>/", views.record_file, name="records_file"),
    path("activities/<uuid:uuid>/rate/", views.rate, name="records_rate"),
    path("stats/teacher/", views.teacher_stats, name="stats_teacher"),
    path("stats/teacher/<uuid:uuid>/", views.teacher_stats, name="stats_teacher_user"),
    path("stats/teacher/<uuid:uuid>/export/", views.teacher_stats_export, name="stats_teacher_export"),
    path("stats/resident/", views.resident_stats, name="stats_resident"),
    path("stats/resident/<uuid:uuid>/", views.resident_stats, name="stats_resident_profile"),
    path("stats/resident/<uuid:uuid>/export/", views.resident_stats_export, name="stats_resident_export"),
    path("stats/compliance/", views.compliance, name="stats_compliance"),
    path("stats/compliance/export/", views.compliance_export, name="stats_compliance_export"),
]
