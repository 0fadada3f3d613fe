from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import JsonResponse
from django.views.generic import TemplateView

from . import home


class HomeView(LoginRequiredMixin, TemplateView):
    """One page per person: the panels of every role they hold, to-dos first."""

    template_name = "core/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["panels"] = home.panels_for(self.request)
        return context


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
