from django.urls import path

from . import views

app_name = "faculty"

urlpatterns = [
    path("", views.FacultyListView.as_view(), name="list"),
    path("me/", views.MyArchiveView.as_view(), name="mine"),
    path("new/", views.FacultyCreateView.as_view(), name="create"),
    path("export/", views.FacultyExportView.as_view(), name="export"),
    path("<uuid:uuid>/", views.FacultyDetailView.as_view(), name="detail"),
    path("<uuid:uuid>/edit/", views.FacultyEditView.as_view(), name="edit"),
    path("<uuid:uuid>/qualify/", views.QualifyView.as_view(), name="qualify"),
    path("qualifications/<uuid:uuid>/revoke/", views.RevokeView.as_view(), name="revoke"),
    path("<uuid:uuid>/trainings/add/", views.TrainingAddView.as_view(), name="training_add"),
    path("trainings/<uuid:uuid>/certificate/", views.TrainingCertificateView.as_view(), name="training_certificate"),
    path("trainings/<uuid:uuid>/delete/", views.TrainingDeleteView.as_view(), name="training_delete"),
    path("<uuid:uuid>/posts/add/", views.TeachingPostAddView.as_view(), name="post_add"),
    path("<uuid:uuid>/posts/<int:pk>/delete/", views.TeachingPostDeleteView.as_view(), name="post_delete"),
    path("<uuid:uuid>/achievements/add/", views.AchievementAddView.as_view(), name="achievement_add"),
    path("<uuid:uuid>/achievements/<int:pk>/delete/", views.AchievementDeleteView.as_view(), name="achievement_delete"),
    path("<uuid:uuid>/assessments/add/", views.AssessmentAddView.as_view(), name="assessment_add"),
    path("<uuid:uuid>/assessments/<int:year>/edit/", views.AssessmentEditView.as_view(), name="assessment_edit"),
]
