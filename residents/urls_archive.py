"""The archive page, its edits, records and certificates (included under the "residents" namespace)."""

from django.urls import path, register_converter

from . import views_archive as views


class RecordKindConverter:
    """Only the record kinds the archive keeps: anything else is not a URL at all (404)."""

    regex = "post|conduct"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RecordKindConverter, "archive_record_kind")

urlpatterns = [
    path("me/", views.MyArchiveView.as_view(), name="mine"),
    path("<uuid:uuid>/", views.ArchiveDetailView.as_view(), name="detail"),
    path("<uuid:uuid>/photo/", views.PhotoView.as_view(), name="photo"),
    path("<uuid:uuid>/reveal-id/", views.RevealIdNumberView.as_view(), name="reveal_id"),
    path("<uuid:uuid>/my-details/", views.OwnArchiveEditView.as_view(), name="edit_own"),
    path("<uuid:uuid>/edit/", views.OfficeArchiveEditView.as_view(), name="edit"),
    path("<uuid:uuid>/records/<archive_record_kind:kind>/add/", views.RecordAddView.as_view(), name="record_add"),
    path(
        "<uuid:uuid>/records/<archive_record_kind:kind>/<int:pk>/delete/",
        views.RecordDeleteView.as_view(),
        name="record_delete",
    ),
    path("<uuid:uuid>/certificates/add/", views.CertificateAddView.as_view(), name="certificate_add"),
    path("certificates/<uuid:uuid>/", views.CertificateDownloadView.as_view(), name="certificate_download"),
    path("certificates/<uuid:uuid>/delete/", views.CertificateDeleteView.as_view(), name="certificate_delete"),
]
