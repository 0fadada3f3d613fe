from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("", views.InboxView.as_view(), name="inbox"),
    path("handled/", views.HandledView.as_view(), name="handled"),
    path("mine/", views.MineView.as_view(), name="mine"),
    path("<uuid:uuid>/", views.RequestDetailView.as_view(), name="detail"),
    path("<uuid:uuid>/decide/", views.DecideView.as_view(), name="decide"),
    path("<uuid:uuid>/withdraw/", views.WithdrawView.as_view(), name="withdraw"),
    path("<uuid:uuid>/resubmit/", views.ResubmitView.as_view(), name="resubmit"),
]
