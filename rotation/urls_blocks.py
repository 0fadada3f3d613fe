"""A block's 入科教育 and 出科 (included under /rotation/blocks/, namespace "rotation")."""

from django.urls import path

from . import views_blocks as views

urlpatterns = [
    path("exits/", views.ExitInboxView.as_view(), name="blocks_exits"),
    path("mine/", views.MyExitView.as_view(), name="blocks_mine"),
    path("entry-education/", views.EntryIndexView.as_view(), name="blocks_entry_index"),
    path("entry-education/bases/<uuid:uuid>/", views.EntryBaseView.as_view(), name="blocks_entry_base"),
    path(
        "entry-education/departments/<uuid:uuid>/",
        views.EntryDepartmentView.as_view(),
        name="blocks_entry_department",
    ),
    path(
        "entry-education/departments/<uuid:uuid>/topics/",
        views.EntryTopicsView.as_view(),
        name="blocks_entry_topics",
    ),
    path("<uuid:uuid>/", views.BlockView.as_view(), name="blocks_block"),
    path("<uuid:uuid>/entry/", views.EntryRecordView.as_view(), name="blocks_entry_record"),
    path("<uuid:uuid>/entry/confirm/", views.EntryConfirmView.as_view(), name="blocks_entry_confirm"),
    path("<uuid:uuid>/exit/summary/", views.SummaryView.as_view(), name="blocks_exit_summary"),
    path("<uuid:uuid>/exit/theory/", views.TheoryView.as_view(), name="blocks_exit_theory"),
    path("<uuid:uuid>/exit/assess/", views.AssessView.as_view(), name="blocks_exit_assess"),
    path("<uuid:uuid>/exit/head/", views.HeadDecisionView.as_view(), name="blocks_exit_head"),
    path("<uuid:uuid>/exit/review/", views.BaseReviewView.as_view(), name="blocks_exit_review"),
]
