from django.urls import path

from . import views_list

urlpatterns = [
    path("", views_list.ResidentListView.as_view(), name="list"),
    path("export/", views_list.ResidentExportView.as_view(), name="export"),
]
