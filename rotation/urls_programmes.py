"""Programmes, departments' rotation settings and supervisors, elective preferences (under /rotation/programmes/)."""

from django.urls import path

from . import views_programmes as views

urlpatterns = [
    path("", views.ProgrammeListView.as_view(), name="programme_list"),
    path("load/", views.ProgrammeLoadView.as_view(), name="programme_load"),
    path("bases/<uuid:uuid>/new/", views.ProgrammeCreateView.as_view(), name="programme_create"),
    path("<uuid:uuid>/", views.ProgrammeDetailView.as_view(), name="programme_detail"),
    path("<uuid:uuid>/edit/", views.ProgrammeEditView.as_view(), name="programme_edit"),
    path("departments/", views.DepartmentListView.as_view(), name="department_list"),
    path("departments/<uuid:uuid>/", views.DepartmentSettingView.as_view(), name="department_setting"),
    path("departments/<uuid:uuid>/months/", views.DepartmentMonthsView.as_view(), name="department_months"),
    path(
        "departments/<uuid:uuid>/supervisors/",
        views.DepartmentSupervisorsView.as_view(),
        name="department_supervisors",
    ),
    path(
        "departments/<uuid:uuid>/supervisors/<int:pk>/",
        views.DepartmentSupervisorUpdateView.as_view(),
        name="department_supervisor_update",
    ),
    path(
        "departments/<uuid:uuid>/supervisors/<int:pk>/remove/",
        views.DepartmentSupervisorRemoveView.as_view(),
        name="department_supervisor_remove",
    ),
    path("windows/", views.PreferenceWindowListView.as_view(), name="preference_windows"),
    path("windows/<uuid:uuid>/close/", views.PreferenceWindowCloseView.as_view(), name="preference_window_close"),
    path("preferences/", views.MyPreferencesView.as_view(), name="my_preferences"),
]
