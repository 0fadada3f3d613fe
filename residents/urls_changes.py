from django.urls import path

from . import views_changes

urlpatterns = [
    path("<uuid:uuid>/change/", views_changes.ChangeRequestView.as_view(), name="change_request"),
    path("changes/<uuid:uuid>/approval/", views_changes.ChangeApprovalView.as_view(), name="change_approval"),
    path("changes/<uuid:uuid>/withdraw/", views_changes.ChangeWithdrawView.as_view(), name="change_withdraw"),
]
