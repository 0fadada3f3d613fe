from django.urls import path

from . import views_enrollment as views

urlpatterns = [
    path("", views.BatchListView.as_view(), name="batch_list"),
    path("new/", views.BatchCreateView.as_view(), name="batch_create"),
    path("<uuid:uuid>/", views.BatchDetailView.as_view(), name="batch_detail"),
    path("<uuid:uuid>/edit/", views.BatchEditView.as_view(), name="batch_edit"),
    path("<uuid:uuid>/close/", views.BatchCloseView.as_view(), name="batch_close"),
    path("<uuid:uuid>/template/", views.ImportTemplateView.as_view(), name="import_template"),
    path("<uuid:uuid>/import/", views.ImportStartView.as_view(), name="import_start"),
    path("<uuid:uuid>/import/confirm/", views.ImportConfirmView.as_view(), name="import_confirm"),
    path("<uuid:uuid>/accept/", views.BatchAcceptView.as_view(), name="batch_accept"),
    path("<uuid:uuid>/export/", views.BatchExportView.as_view(), name="batch_export"),
]
