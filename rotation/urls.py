from django.urls import include, path

app_name = "rotation"

# One module per part of rotation, so each keeps its own views and routes.
urlpatterns = [
    path("", include("rotation.urls_views")),  # my rotation, department, grid, heatmap, export, print, iCal
    path("programmes/", include("rotation.urls_programmes")),  # programmes, department settings, preferences
    path("runs/", include("rotation.urls_runs")),  # generate, progress, review, publish, compare
    path("", include("rotation.urls_supervision")),  # supervisors per block, manual changes
    path("caseload/", include("rotation.urls_caseload")),  # 登记手册: entries, approval, quotas
    path("leave/", include("rotation.urls_leave")),  # leave requests, 销假, make-up ledger
    path("attendance/", include("rotation.urls_attendance")),  # monthly attendance reports
    path("blocks/", include("rotation.urls_blocks")),  # 入科教育 and 出科 of a block
]
