from django.urls import include, path

app_name = "residents"

# One module per part of the archive, so each part keeps its own views and routes.
urlpatterns = [
    path("", include("residents.urls_list")),
    path("", include("residents.urls_archive")),
    path("", include("residents.urls_changes")),
    path("enrollment/", include("residents.urls_enrollment")),
]
