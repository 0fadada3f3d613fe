from django.contrib.auth import views as auth_views
from django.urls import path

from . import import_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("register/", views.RegisterView.as_view(), name="register"),
    path("password/set/", views.PasswordSetView.as_view(), name="password_set"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("me/", views.ProfileView.as_view(), name="profile"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/import/", import_views.ImportStartView.as_view(), name="import_start"),
    path("users/import/template.xlsx", import_views.TemplateDownloadView.as_view(), name="import_template"),
    path("users/import/confirm/", import_views.ImportConfirmView.as_view(), name="import_confirm"),
    path("users/<uuid:uuid>/", views.UserDetailView.as_view(), name="user_detail"),
    path("users/<uuid:uuid>/reveal-id/", views.RevealIdNumberView.as_view(), name="reveal_id"),
]
