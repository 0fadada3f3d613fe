"""The published schedule: my rotation, departments, grid and heatmap, export, print, iCal."""

from django.urls import path

from . import views_schedule as views

urlpatterns = [
    path("mine/", views.MyRotationView.as_view(), name="mine"),
    path("residents/<uuid:uuid>/", views.ResidentRotationView.as_view(), name="resident"),
    path("departments/", views.DepartmentListView.as_view(), name="departments"),
    path("departments/<uuid:uuid>/", views.DepartmentView.as_view(), name="department"),
    path("grid/", views.GridView.as_view(), name="grid"),
    path("grid/heatmap/", views.HeatmapView.as_view(), name="heatmap"),
    path("grid/export/", views.GridExportView.as_view(), name="grid_export"),
    path("grid/print/", views.GridPrintView.as_view(), name="grid_print"),
    path("calendar/", views.FeedSubscribeView.as_view(), name="ical_subscribe"),
    path("calendar/reset/", views.FeedResetView.as_view(), name="ical_reset"),
    path("calendar.ics", views.ical_feed, name="ical_feed"),
]
