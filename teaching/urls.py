from django.urls import include, path

app_name = "teaching"

# One module per part of teaching, so each keeps its own views and routes.
urlpatterns = [
    path("", include("teaching.urls_plans")),  # types, rules, monthly plans, approval, calendar, iCal
    path("", include("teaching.urls_checkin")),  # QR code display, scan, check-in/out, manual marks, anomalies
    path("", include("teaching.urls_records")),  # records, review, ratings, statistics and credits
]
