from django.urls import path

from . import views
from . import views_notifications as notifications

app_name = "notices"

urlpatterns = [
    path("", views.NoticeListView.as_view(), name="list"),
    path("new/", views.NoticeCreateView.as_view(), name="create"),
    path("<uuid:uuid>/", views.NoticeDetailView.as_view(), name="detail"),
    path("<uuid:uuid>/edit/", views.NoticeUpdateView.as_view(), name="edit"),
    path("<uuid:uuid>/publish/", views.NoticePublishView.as_view(), name="publish"),
    path("<uuid:uuid>/withdraw/", views.NoticeWithdrawView.as_view(), name="withdraw"),
    path("<uuid:uuid>/reads/", views.NoticeReadsView.as_view(), name="reads"),
    path("attachments/<uuid:uuid>/", views.AttachmentDownloadView.as_view(), name="attachment"),
    path("attachments/<uuid:uuid>/remove/", views.AttachmentRemoveView.as_view(), name="attachment_remove"),
    # 消息: a user's own notifications
    path("notifications/", notifications.NotificationListView.as_view(), name="notifications"),
    path("notifications/read-all/", notifications.NotificationMarkAllReadView.as_view(), name="notifications_read_all"),
    path("notifications/<int:pk>/", notifications.NotificationOpenView.as_view(), name="notification_open"),
    path("notifications/<int:pk>/read/", notifications.NotificationMarkReadView.as_view(), name="notification_read"),
]
