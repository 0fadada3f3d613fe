from django.urls import path

from . import views_plans as views

urlpatterns = [
    path("types/", views.TypesView.as_view(), name="plans_types"),
    path("plans/", views.PlansIndexView.as_view(), name="plans_index"),
    path("plans/department/<uuid:uuid>/open/", views.PlanOpenView.as_view(), name="plans_open"),
    path("plans/<uuid:uuid>/", views.PlanDetailView.as_view(), name="plans_detail"),
    path("plans/<uuid:uuid>/copy/", views.PlanCopyView.as_view(), name="plans_copy"),
    path("plans/<uuid:uuid>/submit/", views.PlanSubmitView.as_view(), name="plans_submit"),
    path("plans/<uuid:uuid>/activities/new/", views.ActivityCreateView.as_view(), name="plans_activity_new"),
    path("activities/<uuid:uuid>/", views.ActivityDetailView.as_view(), name="activity_detail"),
    path("activities/<uuid:uuid>/edit/", views.ActivityEditView.as_view(), name="plans_activity_edit"),
    path("activities/<uuid:uuid>/delete/", views.ActivityDeleteView.as_view(), name="plans_activity_delete"),
    path("activities/<uuid:uuid>/cancel/", views.ActivityCancelView.as_view(), name="plans_activity_cancel"),
    path("calendar/", views.CalendarView.as_view(), name="calendar"),
    path("calendar/subscribe/", views.CalendarSubscribeView.as_view(), name="calendar_subscribe"),
    path("calendar.ics", views.calendar_feed, name="calendar_ics"),
]
