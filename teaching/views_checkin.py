"""QR check-in and check-out pages.

- The display (teacher or secretary, ActivityPolicy "show_code"): a QR the server re-issues every
  TEACHING_QR_ROTATE_SECONDS through an htmx poll, for check-in, check-out or a random check, with live counts.
- The scan endpoint /teaching/s/<token>/ (open without login): the token is verified on this first open.
  Refused: a clear page, a ScanFailure row and an audit security event. Valid and signed out: the verified scan
  is held in the cache (TEACHING_SCAN_HOLD_SECONDS) under a random id kept in the session, and the login page
  sends the resident to /teaching/s/complete/, which records it for whoever signed in. Signed in: recorded now.
- Rate limits per IP and per user on the scan endpoint (429 beyond).
- Attendance list and manual marks (ActivityPolicy "attendance" / "mark"); the office's anomaly report.
"""

import datetime
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from core.permissions import can, deny, get_visible_or_404, require, visible
from core.request_context import client_ip

from .choices import ActivityStatus, Audience, Purpose
from .forms_checkin import AnomalyFilter, MarkForm
from .models import Activity
from .permissions import office_hospitals
from .services import checkin, tokens

DEVICE_COOKIE = "zp_device"
DEVICE_SALT = "zhupei.teaching.device"
DEVICE_MAX_AGE = 365 * 24 * 3600
HELD_SESSION_KEY = "teaching_held_scan"


def _hold_seconds() -> int:
    return int(getattr(settings, "TEACHING_SCAN_HOLD_SECONDS", 300))


# --- device cookie and rate limits ---------------------------------------------------------------------------


def _device_id(request) -> tuple[str, bool]:
    """The long-lived device id from the signed cookie; a new one (to be set) when absent or tampered with."""
    value = request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    if value:
        return value, False
    return secrets.token_urlsafe(16), True


def _with_device(request, response, device_id: str, new: bool):
    if new:
        response.set_signed_cookie(
            DEVICE_COOKIE,
            device_id,
            salt=DEVICE_SALT,
            max_age=DEVICE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    response["Cache-Control"] = "no-store"
    return response


def _over_limit(key: str, limit: int) -> tuple[bool, bool]:
    """(over the limit this minute, first request over it): a cache counter per key and minute."""
    minute = int(timezone.now().timestamp()) // 60
    full = f"teaching:rate:{key}:{minute}"
    cache.add(full, 0, timeout=120)
    try:
        count = cache.incr(full)
    except ValueError:  # evicted between add and incr
        cache.set(full, 1, timeout=120)
        count = 1
    return count > limit, count == limit + 1


def _rate_limited(request, ip: str | None, device: str) -> bool:
    checks = [(f"ip:{ip}", int(getattr(settings, "TEACHING_SCAN_RATE_IP", 30)))]
    if request.user.is_authenticated:
        checks.append((f"user:{request.user.pk}", int(getattr(settings, "TEACHING_SCAN_RATE_USER", 10))))
    limited = False
    for key, limit in checks:
        over, first = _over_limit(key, limit)
        if over:
            limited = True
            if first:  # one row per key and minute, so a flood cannot flood the table too
                checkin.scan_refuse(
                    reason=checkin.RATE_LIMITED, user=request.user, ip=ip, device=device, limit=key.split(":")[0]
                )
    return limited


# --- the scan ---------------------------------------------------------------------------------------------


def _refusal_message(reason: str) -> tuple[str, str]:
    """(title, explanation) shown to whoever scanned."""
    if reason in (checkin.EXPIRED, checkin.FUTURE):
        return _("This code has expired"), _("The code changes every few seconds: scan the one on the screen now.")
    if reason in (checkin.BAD_SIGNATURE, checkin.MALFORMED):
        return _("Not a valid code"), _("This is not a check-in code issued by the platform. Nothing was recorded.")
    if reason == checkin.OUTSIDE_WINDOW:
        return _("Not the time to scan"), _(
            "Check-in is open around the start of the activity and check-out around its end. Nothing was recorded."
        )
    if reason == checkin.NOT_IN_AUDIENCE:
        return _("Not your activity"), _("You are not among the residents this activity is for. Nothing was recorded.")
    if reason == checkin.NOT_APPROVED:
        return _("Activity not open"), _("This activity is not taking place as planned. Nothing was recorded.")
    if reason == checkin.HOLD_EXPIRED:
        return _("Your scan has expired"), _("Signing in took too long: scan the code on the screen again.")
    if reason == checkin.RATE_LIMITED:
        return _("Too many scans"), _("Wait a minute and scan again.")
    return _("Scan refused"), _("Nothing was recorded.")


def _refused_page(request, reason: str, status: int, activity: Activity | None = None):
    title, text = _refusal_message(reason)
    return render(
        request,
        "teaching/checkin/scan_result.html",
        {"ok": False, "reason": reason, "title": title, "text": text, "activity": activity},
        status=status,
    )


def _success_page(request, result: checkin.ScanResult):
    purpose = result.attendance.purpose
    if result.created:
        title = {
            Purpose.CHECK_IN: _("Checked in"),
            Purpose.CHECK_OUT: _("Checked out"),
        }.get(purpose, _("Random check recorded"))
        outcome = {Purpose.CHECK_IN: "checked_in", Purpose.CHECK_OUT: "checked_out"}.get(purpose, "random")
    else:
        title = {
            Purpose.CHECK_IN: _("Already checked in"),
            Purpose.CHECK_OUT: _("Already checked out"),
        }.get(purpose, _("Already recorded"))
        outcome = "already"
    return render(
        request,
        "teaching/checkin/scan_result.html",
        {
            "ok": True,
            "outcome": outcome,
            "title": title,
            "attendance": result.attendance,
            "activity": result.attendance.activity,
            "no_check_in": "no_check_in" in result.flags,
        },
    )


def _record(request, activity: Activity, purpose: str, when, ip, device: str):
    try:
        result = checkin.record_scan(request.user, activity, purpose, when, ip=ip, device=device)
    except checkin.ScanRefused as refused:
        return _refused_page(request, refused.reason, 403, activity)
    return _success_page(request, result)


class ScanView(View):
    """GET /teaching/s/<token>/: what a phone camera or WeChat opens from the QR."""

    def get(self, request, token):
        now = timezone.now()
        ip = client_ip(request)
        device_id, new_device = _device_id(request)
        device = checkin.device_digest(device_id)
        if _rate_limited(request, ip, device):
            return _with_device(request, _refused_page(request, checkin.RATE_LIMITED, 429), device_id, new_device)
        try:
            verified = tokens.verify(token, now)
        except tokens.TokenError as error:
            claimed = Activity.objects.filter(pk=error.activity_id).first() if error.activity_id else None
            checkin.scan_refuse(reason=error.reason, activity=claimed, user=request.user, ip=ip, device=device)
            return _with_device(request, _refused_page(request, error.reason, 400), device_id, new_device)
        activity = Activity.objects.select_related("department").filter(pk=verified.activity_id).first()
        if activity is None:
            checkin.scan_refuse(reason=checkin.NOT_APPROVED, user=request.user, ip=ip, device=device)
            return _with_device(request, _refused_page(request, checkin.NOT_APPROVED, 404), device_id, new_device)
        if not request.user.is_authenticated:
            hold_id = secrets.token_urlsafe(16)
            cache.set(
                f"teaching:held:{hold_id}",
                {"activity": activity.pk, "purpose": verified.purpose, "verified_at": now, "ip": ip, "device": device},
                timeout=_hold_seconds(),
            )
            request.session[HELD_SESSION_KEY] = hold_id
            response = redirect_to_login(reverse("teaching:checkin_complete"))
            return _with_device(request, response, device_id, new_device)
        response = _record(request, activity, verified.purpose, now, ip, device)
        return _with_device(request, response, device_id, new_device)


class ScanCompleteView(LoginRequiredMixin, View):
    """After the login: the held scan is recorded for the user who signed in (once; within its hold time)."""

    def get(self, request):
        hold_id = request.session.pop(HELD_SESSION_KEY, None)
        held = cache.get(f"teaching:held:{hold_id}") if hold_id else None
        if hold_id:
            cache.delete(f"teaching:held:{hold_id}")
        ip = client_ip(request)
        device_id, new_device = _device_id(request)
        if held is None:
            checkin.scan_refuse(
                reason=checkin.HOLD_EXPIRED, user=request.user, ip=ip, device=checkin.device_digest(device_id)
            )
            return _with_device(request, _refused_page(request, checkin.HOLD_EXPIRED, 410), device_id, new_device)
        activity = Activity.objects.select_related("department").filter(pk=held["activity"]).first()
        if activity is None:
            return _with_device(request, _refused_page(request, checkin.NOT_APPROVED, 404), device_id, new_device)
        # The device that scanned is the one recorded (the login may change nothing about it).
        response = _record(request, activity, held["purpose"], held["verified_at"], held["ip"], held["device"])
        return _with_device(request, response, device_id, new_device)


# --- the display -------------------------------------------------------------------------------------------


def _qr_svg(text: str) -> str:
    """The address as an inline SVG QR code (made here from a server-issued token, never user HTML)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


def _purpose_choice(request, activity: Activity) -> tuple[str, int]:
    value = request.GET.get("purpose", Purpose.CHECK_IN)
    if value.startswith("random"):
        try:
            check = int(value.removeprefix("random") or 1)
        except ValueError:
            check = 1
        return Purpose.RANDOM, max(1, min(check, max(activity.random_checks, 1), tokens.MAX_RANDOM_CHECKS))
    return (Purpose.CHECK_OUT, 0) if value == Purpose.CHECK_OUT else (Purpose.CHECK_IN, 0)


def _tabs(activity: Activity) -> list[tuple[str, str]]:
    tabs = [(str(Purpose.CHECK_IN), _("Check-in")), (str(Purpose.CHECK_OUT), _("Check-out"))]
    tabs += [(f"random{k}", _("Random check %(k)s") % {"k": k}) for k in range(1, activity.random_checks + 1)]
    return tabs


class _ActivityMixin(LoginRequiredMixin):
    action = "view"

    def activity(self, request, uuid) -> Activity:
        queryset = Activity.objects.select_related(
            "department__hospital", "department__base", "activity_type", "teacher"
        )
        activity = get_visible_or_404(request.user, queryset, uuid=uuid)
        require(request.user, self.action, activity)
        return activity


def _code_context(request, activity: Activity) -> dict:
    purpose, check = _purpose_choice(request, activity)
    now = timezone.now()
    token = tokens.issue(activity, purpose, now, check=check)
    url = request.build_absolute_uri(reverse("teaching:checkin_scan", args=[token]))
    first, last = checkin.checkin_window(activity, purpose)
    selected = f"random{check}" if purpose == Purpose.RANDOM else str(purpose)
    return {
        "activity": activity,
        "purpose": purpose,
        "selected": selected,
        "scan_url": url,
        "qr_svg": _qr_svg(url),
        "rotate_seconds": tokens.rotate_seconds(),
        "counts": checkin.live_counts(activity),
        "window_start": first,
        "window_end": last,
        "window_open": first <= now <= last,
        "query": urlencode({"purpose": selected}),
    }


class CodeView(_ActivityMixin, View):
    """The teacher's phone: the rotating QR for check-in, check-out or a random check."""

    action = "show_code"

    def get(self, request, uuid):
        activity = self.activity(request, uuid)
        context = {**_code_context(request, activity), "tabs": _tabs(activity)}
        response = render(request, "teaching/checkin/code.html", context)
        response["Cache-Control"] = "no-store"
        return response


class CodePartView(_ActivityMixin, View):
    """The htmx poll: a freshly issued token's QR and the live counts."""

    action = "show_code"

    def get(self, request, uuid):
        activity = self.activity(request, uuid)
        response = render(request, "teaching/checkin/_code.html", _code_context(request, activity))
        response["Cache-Control"] = "no-store"
        return response


# --- attendance and manual marks ------------------------------------------------------------------------------


class AttendanceView(_ActivityMixin, View):
    action = "attendance"

    def get(self, request, uuid):
        activity = self.activity(request, uuid)
        rows = checkin.attendance_rows(activity)
        summary = {
            "expected": sum(r.expected for r in rows),
            "checked_in": sum(r.check_in is not None for r in rows),
            "checked_out": sum(r.check_out is not None for r in rows),
            "complete": sum(r.complete for r in rows),
            "excused": sum(r.excused for r in rows),
            "missing": sum(r.missing for r in rows),
        }
        return render(
            request,
            "teaching/checkin/attendance.html",
            {
                "activity": activity,
                "rows": rows,
                "summary": summary,
                "may_mark": can(request.user, "mark", activity),
                "may_show_code": can(request.user, "show_code", activity),
            },
        )


def _markable(activity: Activity):
    """Residents a teacher may mark: those expected, those already seen, and for an open activity the hospital's."""
    from accounts.models import User

    q = Q(pk__in=checkin.expected_users(activity).values("pk")) | Q(teaching_attendance__activity=activity)
    if activity.audience == Audience.OPEN:
        hospital = activity.department.hospital
        q |= Q(resident_profile__base__hospital_id=hospital.parent_id or hospital.pk)
    users = User.objects.filter(q)
    return User.objects.filter(pk__in=users.values("pk")).order_by("real_name", "username")


class MarkView(_ActivityMixin, View):
    action = "mark"

    def _render(self, request, activity, form, status=200):
        return render(request, "teaching/checkin/mark.html", {"activity": activity, "form": form}, status=status)

    def get(self, request, uuid):
        activity = self.activity(request, uuid)
        initial = {}
        if request.GET.get("user"):
            initial["user"] = request.GET["user"]
        return self._render(request, activity, MarkForm(residents=_markable(activity), initial=initial))

    def post(self, request, uuid):
        activity = self.activity(request, uuid)
        form = MarkForm(request.POST, residents=_markable(activity))
        if not form.is_valid():
            return self._render(request, activity, form, status=400)
        data = form.cleaned_data
        try:
            checkin.mark_attendance(
                activity=activity,
                user=data["user"],
                purposes=data["purposes"],
                reason=data["reason"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self._render(request, activity, form, status=400)
        messages.success(request, _("Attendance marked."))
        return redirect("teaching:checkin_attendance", uuid=activity.uuid)


# --- the office's anomaly report --------------------------------------------------------------------------


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class AnomalyView(LoginRequiredMixin, View):
    def get(self, request):
        hospitals = office_hospitals(request.user)
        if not hospitals:
            deny(request)
        scoped = visible(request.user, Activity).filter(status__in=[ActivityStatus.APPROVED, ActivityStatus.CANCELLED])
        scoped = scoped.filter(department__hospital_id__in=hospitals) | scoped.filter(
            department__hospital__parent_id__in=hospitals
        )
        today = timezone.localdate()
        data = request.GET.copy()
        data.setdefault("date_from", (today - datetime.timedelta(days=30)).isoformat())
        data.setdefault("date_to", today.isoformat())
        filterset = AnomalyFilter(data, queryset=scoped, request=request)
        activities = filterset.qs if filterset.is_valid() else scoped.none()
        since = until = None
        if filterset.is_valid():
            first, last = filterset.form.cleaned_data.get("date_from"), filterset.form.cleaned_data.get("date_to")
            since = _midnight(first) if first else None
            until = _midnight(last + datetime.timedelta(days=1)) if last else None
        report = checkin.anomalies(activities, since=since, until=until)
        return render(
            request,
            "teaching/checkin/anomalies.html",
            {"filter": filterset, "report": report, "burst": checkin.burst_threshold()},
        )
