from django.urls import include, path

app_name = "rotation"

# One module per part of rotation, so each keeps its own views and routes.
urlpatterns = [
    path("", include("rotation.urls_views")),  # my rotation, department, grid, heatmap, export, print, iCal
    path("programmes/", include("rotation.urls_programmes")),  # programmes, department settings, preferences
    path("runs/", include("rotation.urls_runs")),  # generate, progress, review, publish, compare
    path("", include("rotation.urls_supervision")),  # supervisors per block, manual changes
]
