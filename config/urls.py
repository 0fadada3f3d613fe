from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from core.views import healthz

urlpatterns = [
    path("", include("core.urls")),
    path("accounts/", include("accounts.urls")),
    path("approvals/", include("approvals.urls")),
    path("notices/", include("notices.urls")),
    path("audit/", include("audit_logs.urls")),
    path("residents/", include("residents.urls")),
    path("faculty/", include("faculty.urls")),
    path("rotation/", include("rotation.urls")),
    path("teaching/", include("teaching.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
