from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.generic import DetailView, FormView, TemplateView, View
from django_filters.views import FilterView

from core.permissions import RoleRequiredMixin, ScopedObjectMixin, can, get_visible_or_404, require, visible

from . import services
from .choices import Role
from .filters import UserFilter
from .forms import LoginForm, RegistrationForm
from .models import RoleAssignment, User


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class RegisterView(FormView):
    template_name = "accounts/register.html"
    form_class = RegistrationForm

    def form_valid(self, form):
        data = form.cleaned_data
        services.registration_submit(
            username=data["username"],
            password=data["password1"],
            real_name=data["real_name"],
            id_number=data["id_number"],
            phone=data["phone"],
            email=data["email"],
            base=data["base"],
        )
        return render(self.request, "accounts/register_done.html", {"real_name": data["real_name"]})


class PasswordSetView(LoginRequiredMixin, FormView):
    """First login after import, or an expired password: choose a new one before anything else."""

    template_name = "accounts/password_set.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("core:home")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        services.password_set(user=self.request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, self.request.user)
        messages.success(self.request, _("Your password was set."))
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_set(user=self.request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, self.request.user)
        messages.success(self.request, _("Your password was changed."))
        return response


class ProfileView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/profile.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["assignments"] = (
            RoleAssignment.objects.active_on()
            .filter(user=self.request.user)
            .select_related("hospital", "base", "department")
        )
        return context


class UserListView(LoginRequiredMixin, RoleRequiredMixin, FilterView):
    required_roles = (Role.TRAINING_OFFICE, Role.SYSTEM_ADMIN)
    filterset_class = UserFilter
    template_name = "accounts/user_list.html"
    paginate_by = 30

    def get_queryset(self):
        return (
            visible(self.request.user, User)
            .prefetch_related(
                Prefetch(
                    "role_assignments",
                    queryset=RoleAssignment.objects.active_on().select_related("base", "department", "hospital"),
                    to_attr="active_roles",
                )
            )
            .select_related("applied_base")
            .order_by("username")
        )


class UserDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = User
    template_name = "accounts/user_detail.html"
    context_object_name = "account"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["assignments"] = self.object.role_assignments.select_related("hospital", "base", "department")
        context["can_reveal"] = can(self.request.user, "reveal", self.object)
        return context


class RevealIdNumberView(LoginRequiredMixin, View):
    """HTMX: swaps the masked number for the full one; every reveal is an audit event."""

    def post(self, request, uuid):
        subject = get_visible_or_404(request.user, User, uuid=uuid)
        require(request.user, "reveal", subject)
        number = services.id_number_reveal(user=request.user, subject=subject)
        return HttpResponse(format_html('<span class="font-monospace">{}</span>', number))
