"""Supervisors per block (指导医师分配) and manual changes to the published schedule."""

from django.urls import path

from . import views_changes, views_supervision

urlpatterns = [
    # --- supervisors per block (helper "supervisors") ---
    path("supervision/", views_supervision.SupervisionIndexView.as_view(), name="supervision"),
    path(
        "supervision/<uuid:uuid>/",
        views_supervision.SupervisionDepartmentView.as_view(),
        name="supervision_department",
    ),
    path("supervision/<uuid:uuid>/load/", views_supervision.SupervisionLoadView.as_view(), name="supervision_load"),
    path(
        "supervision/<uuid:uuid>/auto/", views_supervision.SupervisionAutoAssignView.as_view(), name="supervision_auto"
    ),
    path(
        "supervision/blocks/<uuid:uuid>/assign/",
        views_supervision.SupervisionAssignView.as_view(),
        name="supervision_assign",
    ),
    path(
        "supervision/blocks/<uuid:uuid>/unassign/",
        views_supervision.SupervisionUnassignView.as_view(),
        name="supervision_unassign",
    ),
    # --- end of supervisors per block ---
    # --- manual changes to a schedule (helper "changes") ---
    path(
        "changes/runs/<uuid:run>/residents/<uuid:resident>/",
        views_changes.DraftChangeView.as_view(),
        name="change_draft",
    ),
    path(
        "changes/runs/<uuid:run>/residents/<uuid:resident>/check/",
        views_changes.DraftCheckView.as_view(),
        name="change_draft_check",
    ),
    path("changes/residents/<uuid:resident>/", views_changes.PublishedChangeView.as_view(), name="change_published"),
    path(
        "changes/residents/<uuid:resident>/check/",
        views_changes.PublishedCheckView.as_view(),
        name="change_published_check",
    ),
    path("changes/<uuid:uuid>/", views_changes.ChangeApprovalView.as_view(), name="change_approval"),
    # --- end of manual changes ---
]
