"""Schedule runs (mounted at /rotation/runs/): generate, progress, review, publish, compare."""

from django.urls import path

from . import views_runs as views

urlpatterns = [
    path("", views.RunListView.as_view(), name="runs"),
    path("new/", views.RunCreateView.as_view(), name="run_new"),
    path("<uuid:uuid>/", views.RunDetailView.as_view(), name="run_detail"),
    path("<uuid:uuid>/progress/", views.RunProgressView.as_view(), name="run_progress"),
    path("<uuid:uuid>/grid/", views.RunGridView.as_view(), name="run_grid"),
    path("<uuid:uuid>/compare/", views.RunCompareView.as_view(), name="run_compare"),
    path("<uuid:uuid>/publish/", views.RunPublishView.as_view(), name="run_publish"),
    path("<uuid:uuid>/discard/", views.RunDiscardView.as_view(), name="run_discard"),
]
