"""The published schedule as people read it: my rotation, a department's month, the grid and
heatmap of a base or the hospital (with Excel export and a print page), and iCal feeds.

Views parse input, call a selector (rotation/selectors.py) and render. Outside a user's scope a
resident or a department does not exist (404); a page that belongs to roles the user lacks is a 403.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from accounts.choices import Role
from core.permissions import deny, get_visible_or_404
from residents.models import ResidentProfile

from . import ical, selectors
from .exports import export_grid
from .grid import Heatmap, grid_from_blocks, heatmap_from_blocks
from .models import RotationBlock
from .months import add_months, month_end, month_start, parse_month
from .permissions import may_manage_department, may_view_grid
from .services import entry_education


def _month_from(request) -> datetime.date:
    """?month=2026-03, else this month."""
    return parse_month(request.GET.get("month")) or month_start(timezone.localdate())


# --- my rotation ------------------------------------------------------------------------------


def may_change_resident(user, profile: ResidentProfile) -> bool:
    from .services.changes import may_change_resident as allowed

    return allowed(user, profile)


def _rotation_context(profile: ResidentProfile, *, is_self: bool) -> dict:
    rotation = selectors.resident_rotation(profile)
    return {"profile": profile, "rotation": rotation, "is_self": is_self, "today": rotation.today}


class MyRotationView(LoginRequiredMixin, View):
    """我的轮转: the resident's whole training as a timeline, current block first."""

    def get(self, request):
        profile = ResidentProfile.objects.select_related("user", "base").filter(user=request.user).first()
        if profile is None:
            if not request.user.scope.is_resident:
                raise Http404(_("You have no rotation schedule."))
            return render(request, "rotation/schedule/my_rotation.html", {"profile": None, "is_self": True})
        return render(request, "rotation/schedule/my_rotation.html", _rotation_context(profile, is_self=True))


class ResidentRotationView(LoginRequiredMixin, View):
    """Any resident's rotation, read-only, for whoever may see that resident."""

    def get(self, request, uuid):
        profile = get_visible_or_404(request.user, ResidentProfile.objects.select_related("user", "base"), uuid=uuid)
        context = _rotation_context(profile, is_self=profile.user_id == request.user.pk)
        context["may_change"] = may_change_resident(request.user, profile)
        return render(request, "rotation/schedule/my_rotation.html", context)


# --- departments ------------------------------------------------------------------------------


class DepartmentListView(LoginRequiredMixin, View):
    """The departments a user looks after, with this month's residents against capacity."""

    def get(self, request):
        if not selectors.may_view_departments(request.user):
            deny(request)
        month = _month_from(request)
        departments = list(selectors.viewable_departments(request.user).order_by("hospital__kind", "code"))
        if len(departments) == 1:
            return redirect(_department_url(departments[0], month))
        first, last = month, month_end(month)
        counts = dict(
            selectors.overlapping(RotationBlock.objects.filter(department__in=departments), first, last)
            .order_by()
            .values_list("department_id")
            .annotate(n=Count("resident_id", distinct=True))
        )
        capacities = selectors.capacities(departments, month, 1) if departments else {}
        rows = [
            {
                "department": d,
                "count": counts.get(d.pk, 0),
                "capacity": capacities[d.pk][0][0],
                "closed": capacities[d.pk][0][2],
                "url": _department_url(d, month),
            }
            for d in departments
        ]
        return render(
            request,
            "rotation/schedule/department_list.html",
            {"rows": rows, "month": month, **_month_nav(month)},
        )


def _department_url(department, month: datetime.date) -> str:
    return reverse("rotation:department", args=[department.uuid]) + f"?month={month:%Y-%m}"


def _month_nav(month: datetime.date) -> dict:
    return {
        "previous_month": add_months(month, -1),
        "next_month": add_months(month, 1),
        "this_month": month_start(timezone.localdate()),
    }


class DepartmentView(LoginRequiredMixin, View):
    """A department's month: who arrives, who is there, who leaves, with their supervisors."""

    def get(self, request, uuid):
        if not selectors.may_view_departments(request.user):
            deny(request)
        department = selectors.department_or_404(request.user, uuid)
        month = _month_from(request)
        view = selectors.department_month(department, month)
        linkable = selectors.visible_resident_ids(request.user, {b.resident_id for b in view.present})
        others = selectors.viewable_departments(request.user).order_by("hospital__kind", "code")
        return render(
            request,
            "rotation/schedule/department.html",
            {
                "department": department,
                "view": view,
                "month": view.month,
                "linkable": linkable,
                "departments": [(d, _department_url(d, view.month)) for d in others],
                "may_assign": may_manage_department(request.user, department),
                "entry_rate": entry_education.completion_rate(
                    department, add_months(view.month, -11), month_end(view.month)
                ),
                **_month_nav(view.month),
            },
        )


# --- iCal -------------------------------------------------------------------------------------


def may_subscribe(user) -> bool:
    """Residents (their rotations) and supervising doctors (the rotations they supervise)."""
    return bool(user.is_authenticated) and (
        user.scope.has_role(Role.RESIDENT, Role.SUPERVISOR) or ResidentProfile.objects.filter(user=user).exists()
    )


def _feed_urls(request, token: str) -> dict:
    url = request.build_absolute_uri(reverse("rotation:ical_feed")) + f"?token={token}"
    webcal = "webcal://" + url.split("://", 1)[1]
    return {"feed_url": url, "webcal_url": webcal, "qr_svg": _qr_svg(url)}


def _qr_svg(text: str) -> str:
    """The address as an inline SVG QR code (generated here, not user HTML); empty if qrcode is absent."""
    try:
        import qrcode
        import qrcode.image.svg
    except ImportError:  # pragma: no cover - qrcode is a dependency today
        return ""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


class FeedSubscribeView(LoginRequiredMixin, View):
    """The address to subscribe to in a phone's calendar; made on the first visit."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_subscribe(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        token = ical.feed_token_get_or_create(user=request.user)
        response = render(request, "rotation/schedule/feed_subscribe.html", _feed_urls(request, token.token))
        response["Cache-Control"] = "no-store"
        return response


class FeedResetView(LoginRequiredMixin, View):
    """A new address; calendars subscribed with the old one stop updating (it becomes a 404)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_subscribe(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request):
        ical.feed_token_reset(user=request.user)
        messages.success(
            request, _("A new calendar address was made. Calendars using the old address no longer receive updates.")
        )
        return redirect("rotation:ical_subscribe")


def ical_feed(request):
    """The calendar itself: no session, the token in the address is the key."""
    if request.method not in ("GET", "HEAD"):
        raise Http404
    user = ical.feed_user(request.GET.get("token", ""))
    if user is None:
        raise Http404
    response = HttpResponse(ical.feed_for(user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="rotation.ics"'
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- grid, heatmap, export, print -------------------------------------------------------------

#: The print page and the export show every row; beyond this the page would not print anyway.
ALL_ROWS = 5000


class GridMixin(LoginRequiredMixin):
    """The filters (base, cohort, department) and month range every grid page shares."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_view_grid(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def setup_grid(self, request) -> None:
        user = request.user
        self.range_form = selectors.RangeForm(request.GET or None)
        if self.range_form.is_bound:
            self.range_form.is_valid()
        self.months = self.range_form.month_list()
        # rows only for residents whose training overlaps the months shown (not last decade's graduates)
        residents = selectors.grid_residents(user).filter(
            start_date__lte=month_end(self.months[-1]), planned_end_date__gte=self.months[0]
        )
        data = {k: v for k, v in request.GET.items() if k in {"base", "cohort", "department"}}
        self.filterset = selectors.GridFilter(data or None, queryset=residents, request=request, months=self.months)
        if self.filterset.is_bound and not self.filterset.is_valid():
            self.residents = residents.none()
        else:
            self.residents = self.filterset.qs

    def heatmap(self, request) -> Heatmap:
        """Loads of every resident of the hospital, for the departments the shown residents rotate through."""
        heatmap = heatmap_from_blocks(selectors.hospital_load_residents(request.user), self.months)
        wanted = selectors.departments_in_use(self.residents, self.months)
        chosen = self.filterset.form.cleaned_data.get("department") if self.filterset.is_bound else None
        if chosen is not None:
            wanted.add(chosen.pk)
        heatmap.rows = [row for row in heatmap.rows if row.department.pk in wanted]
        return heatmap

    def filters(self) -> dict:
        described = self.filterset.describe()
        described[_("Months")] = f"{self.months[0]:%Y-%m} – {self.months[-1]:%Y-%m}"
        return described

    def base_context(self, request) -> dict:
        query = request.GET.copy()
        query.pop("page", None)
        return {
            "filter": self.filterset,
            "range_form": self.range_form,
            "months": self.months,
            "query": query.urlencode(),
            "filtered": any(request.GET.get(k) for k in ("base", "cohort", "department", "start", "months")),
        }


class GridView(GridMixin, View):
    """Residents × months, coloured by department (50 residents a page)."""

    tab = "grid"

    def get(self, request):
        self.setup_grid(request)
        context = self.base_context(request)
        if self.tab == "grid":
            context["grid"] = grid_from_blocks(self.residents, self.months, page=request.GET.get("page"))
            context["page_obj"] = context["grid"].page
        else:
            context["heatmap"] = self.heatmap(request)
        context["tab"] = self.tab
        return render(request, "rotation/schedule/grid.html", context)


class HeatmapView(GridView):
    """Departments × months: how many residents each department has against its capacity."""

    tab = "heatmap"


class GridExportView(GridMixin, View):
    """The grid (sheet 1) and the heatmap (sheet 2) as .xlsx, after the password."""

    def get(self, request):
        self.setup_grid(request)
        grid = grid_from_blocks(self.residents, self.months, per_page=ALL_ROWS)
        query = request.GET.urlencode()
        cancel_url = reverse("rotation:grid") + (f"?{query}" if query else "")
        return export_grid(request, grid, self.heatmap(request), filters=self.filters(), cancel_url=cancel_url)

    post = get


class GridPrintView(GridMixin, View):
    """A3 landscape: every row, the legend, the filters and when it was printed; no navigation."""

    def get(self, request):
        self.setup_grid(request)
        context = self.base_context(request)
        context.update(
            grid=grid_from_blocks(self.residents, self.months, per_page=ALL_ROWS),
            heatmap=self.heatmap(request),
            described=self.filters(),
            printed_at=timezone.localtime(),
        )
        return render(request, "rotation/schedule/grid_print.html", context)
