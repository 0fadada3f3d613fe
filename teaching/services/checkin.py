"""Recording scans and marks: who checked in and out of an activity, and the refused attempts.

`record_scan` is the one place a scan becomes an Attendance row; every refusal goes through
`scan_refuse` (a ScanFailure row for the anomaly report and an audit security event). The database's
unique (activity, user, purpose) constraint is the last word on duplicates: a second scan, even one
racing the first, ends as "already", never as a second row.
"""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.audit import audit_record
from teaching.choices import ActivityStatus, Audience, Method, Purpose
from teaching.models import Activity, Attendance, ScanFailure
from teaching.permissions import resident_audience_q

# Reasons a scan is refused (ScanFailure.reason and the audit event's "reason").
BAD_SIGNATURE = "bad_signature"
EXPIRED = "expired"
FUTURE = "future"
MALFORMED = "malformed"
OUTSIDE_WINDOW = "outside_window"
NOT_IN_AUDIENCE = "not_in_audience"
NOT_APPROVED = "not_approved"
RATE_LIMITED = "rate_limited"
HOLD_EXPIRED = "hold_expired"

REASON_LABELS = {
    BAD_SIGNATURE: _lazy("Forged (bad signature)"),
    MALFORMED: _lazy("Not a code"),
    EXPIRED: _lazy("Expired code"),
    FUTURE: _lazy("Code from the future"),
    OUTSIDE_WINDOW: _lazy("Outside the window"),
    NOT_IN_AUDIENCE: _lazy("Not in the audience"),
    NOT_APPROVED: _lazy("Activity not open"),
    RATE_LIMITED: _lazy("Too many scans"),
    HOLD_EXPIRED: _lazy("Held scan expired"),
}


def minutes_setting(name: str, default: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=int(getattr(settings, name, default)))


def checkin_window(activity: Activity, purpose: str) -> tuple[datetime.datetime, datetime.datetime]:
    """When a scan of `purpose` is accepted: around the start (check-in), the end (check-out), or during (random)."""
    if purpose == Purpose.CHECK_IN:
        return (
            activity.starts_at - minutes_setting("TEACHING_CHECKIN_BEFORE_MINUTES", 10),
            activity.starts_at + minutes_setting("TEACHING_CHECKIN_AFTER_MINUTES", 10),
        )
    if purpose == Purpose.CHECK_OUT:
        return (
            activity.ends_at - minutes_setting("TEACHING_CHECKOUT_BEFORE_MINUTES", 10),
            activity.ends_at + minutes_setting("TEACHING_CHECKOUT_AFTER_MINUTES", 10),
        )
    return activity.starts_at, activity.ends_at


def device_digest(device_id: str | None) -> str:
    """What Attendance.device keeps of the signed device cookie: a digest, never the id itself."""
    if not device_id:
        return ""
    return hashlib.sha256(f"{settings.SECRET_KEY}:teaching.device:{device_id}".encode()).hexdigest()[:32]


class ScanRefused(Exception):
    def __init__(self, reason: str, activity: Activity | None = None):
        super().__init__(reason)
        self.reason = reason
        self.activity = activity


@dataclass
class ScanResult:
    attendance: Attendance
    created: bool  # False: the same scan was already recorded, nothing changed
    flags: list[str] = field(default_factory=list)  # "no_check_in" for a check-out without a check-in


def scan_refuse(
    *, reason: str, activity: Activity | None = None, user=None, ip: str | None = None, device: str = "", **extra
) -> ScanFailure:
    """Keep a refused scan for the anomaly report and log it as a security event."""
    user = user if getattr(user, "is_authenticated", False) else None
    failure = ScanFailure.objects.create(activity=activity, user=user, reason=reason, ip=ip, device=device)
    audit_record(
        action="teaching.scan_refused",
        outcome="denied",
        target=activity,
        acting_user=user,
        reason=reason,
        ip=ip or "",
        device=device,
        **extra,
    )
    return failure


def in_audience(user, activity: Activity) -> bool:
    """A resident expected at (or allowed into) the activity: its department, base or an open one of their hospital."""
    return Activity.objects.filter(resident_audience_q(user), pk=activity.pk).exists()


def record_scan(
    user, activity: Activity, purpose: str, when: datetime.datetime, ip: str | None = None, device: str = ""
) -> ScanResult:
    """Record `user`'s verified scan of `purpose` at `when`; ScanRefused (logged) when the rules say no."""

    def refuse(reason: str):
        scan_refuse(reason=reason, activity=activity, user=user, ip=ip, device=device, purpose=purpose)
        raise ScanRefused(reason, activity)

    if activity.status != ActivityStatus.APPROVED:
        refuse(NOT_APPROVED)
    if not in_audience(user, activity):
        refuse(NOT_IN_AUDIENCE)
    first, last = checkin_window(activity, purpose)
    if not first <= when <= last:
        refuse(OUTSIDE_WINDOW)
    result = _create_once(
        activity=activity, user=user, purpose=purpose, at=when, method=Method.SCAN, ip=ip, device=device
    )
    if result.created:
        audit_record(
            action="teaching.scan", target=activity, acting_user=user, purpose=purpose, ip=ip or "", device=device
        )
    if purpose == Purpose.CHECK_OUT and not _has(activity, user, Purpose.CHECK_IN):
        result.flags.append("no_check_in")
    return result


def _has(activity: Activity, user, purpose: str) -> bool:
    return Attendance.objects.filter(activity=activity, user=user, purpose=purpose).exists()


def _create_once(*, activity, user, purpose, **values) -> ScanResult:
    """One row per (activity, user, purpose): a duplicate (even a concurrent one) returns the existing row."""
    existing = Attendance.objects.filter(activity=activity, user=user, purpose=purpose).first()
    if existing is not None:
        return ScanResult(existing, created=False)
    try:
        with transaction.atomic():
            row = Attendance.objects.create(activity=activity, user=user, purpose=purpose, **values)
    except IntegrityError:
        return ScanResult(Attendance.objects.get(activity=activity, user=user, purpose=purpose), created=False)
    return ScanResult(row, created=True)


def mark_attendance(*, activity: Activity, user, purposes: list[str], reason: str, acting_user) -> list[ScanResult]:
    """The teacher or secretary marks a resident present by hand (in and/or out), with a mandatory reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for marking attendance by hand."))
    if not purposes:
        raise ValidationError(_("Choose check-in, check-out or both."))
    now = timezone.now()
    results = []
    for purpose in purposes:
        result = _create_once(
            activity=activity,
            user=user,
            purpose=purpose,
            at=now,
            method=Method.MANUAL,
            reason=reason[:300],
            marked_by=acting_user,
        )
        if result.created:
            audit_record(
                action="teaching.attendance_marked",
                target=activity,
                acting_user=acting_user,
                resident=user.pk,
                purpose=purpose,
                reason=reason[:300],
            )
        results.append(result)
    return results


# --- who was expected, who came ------------------------------------------------------------------------------


def expected_users(activity: Activity):
    """Residents the activity was planned for: the department's residents rotating there that day, the base's
    residents in training; an open activity expects nobody in particular (whoever came is listed)."""
    from accounts.models import User
    from residents.choices import TrainingStatus

    day = timezone.localdate(activity.starts_at)
    if activity.audience == Audience.DEPARTMENT:
        q = Q(
            resident_profile__rotation_blocks__department_id=activity.department_id,
            resident_profile__rotation_blocks__start_date__lte=day,
            resident_profile__rotation_blocks__end_date__gte=day,
        )
    elif activity.audience == Audience.BASE and activity.audience_base_id:
        q = Q(
            resident_profile__base_id=activity.audience_base_id,
            resident_profile__status__in=[TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED],
        )
    else:
        return User.objects.none()
    return User.objects.filter(q).distinct()


@dataclass
class AttendanceRow:
    user: object
    expected: bool
    excused: bool
    check_in: Attendance | None = None
    check_out: Attendance | None = None
    random: Attendance | None = None

    @property
    def complete(self) -> bool:
        return self.check_in is not None and self.check_out is not None

    @property
    def missing(self) -> bool:
        return self.expected and not self.excused and self.check_in is None and self.check_out is None

    @property
    def manual(self) -> bool:
        return any(a is not None and a.method == Method.MANUAL for a in (self.check_in, self.check_out))


def attendance_rows(activity: Activity) -> list[AttendanceRow]:
    """Everyone expected plus everyone who came, with their check-in, check-out and whether leave excuses them."""
    from accounts.models import User
    from rotation.services.leave import on_leave

    expected = set(expected_users(activity).values_list("pk", flat=True))
    records = list(Attendance.objects.filter(activity=activity).select_related("marked_by"))
    by_user: dict[int, dict[str, Attendance]] = defaultdict(dict)
    for row in records:
        by_user[row.user_id][row.purpose] = row
    user_ids = expected | set(by_user)
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids).select_related("resident_profile")}
    profile_of = {
        u.pk: u.resident_profile.pk for u in users.values() if getattr(u, "resident_profile", None) is not None
    }
    excused_profiles = on_leave(timezone.localdate(activity.starts_at), profile_of.values())
    rows = []
    for user_id, user in users.items():
        marks = by_user.get(user_id, {})
        rows.append(
            AttendanceRow(
                user=user,
                expected=user_id in expected,
                excused=profile_of.get(user_id) in excused_profiles,
                check_in=marks.get(Purpose.CHECK_IN),
                check_out=marks.get(Purpose.CHECK_OUT),
                random=marks.get(Purpose.RANDOM),
            )
        )
    rows.sort(key=lambda r: (not r.missing, r.user.real_name or r.user.username))
    return rows


def live_counts(activity: Activity) -> dict[str, int]:
    counts = {str(Purpose.CHECK_IN): 0, str(Purpose.CHECK_OUT): 0, str(Purpose.RANDOM): 0}
    for purpose in Attendance.objects.filter(activity=activity).values_list("purpose", flat=True):
        counts[purpose] = counts.get(purpose, 0) + 1
    return {"checked_in": counts["in"], "checked_out": counts["out"], "random": counts["random"]}


# --- the office's anomaly report -----------------------------------------------------------------------------


@dataclass
class Anomalies:
    no_check_out: list = field(default_factory=list)  # (activity, [users]) with a check-in and no check-out
    shared_devices: list = field(default_factory=list)  # (activity, device, [users])
    refused: list = field(default_factory=list)  # (reason, label, count)
    refused_rows: list = field(default_factory=list)  # the latest refused scans
    bursts: list = field(default_factory=list)  # (activity, ip, scans, users, first at)


def burst_threshold() -> int:
    return int(getattr(settings, "TEACHING_SCAN_BURST", 5))


def anomalies(activities, *, since: datetime.datetime | None = None, until: datetime.datetime | None = None):
    """What looks wrong in `activities` (already scoped and filtered): see Anomalies."""
    from accounts.models import User

    report = Anomalies()
    activity_ids = list(activities.values_list("pk", flat=True))
    by_id = {a.pk: a for a in Activity.objects.filter(pk__in=activity_ids).select_related("department")}
    rows = list(
        Attendance.objects.filter(activity_id__in=activity_ids).only(
            "activity_id", "user_id", "purpose", "method", "device", "ip", "at"
        )
    )
    users = {u.pk: u for u in User.objects.filter(pk__in={r.user_id for r in rows})}

    purposes: dict[tuple[int, int], set[str]] = defaultdict(set)
    devices: dict[tuple[int, str], set[int]] = defaultdict(set)
    ips: dict[tuple[int, str], list] = defaultdict(list)
    for row in rows:
        purposes[(row.activity_id, row.user_id)].add(row.purpose)
        if row.method == Method.SCAN and row.device:
            devices[(row.activity_id, row.device)].add(row.user_id)
        if row.method == Method.SCAN and row.ip:
            ips[(row.activity_id, row.ip)].append(row)

    now = timezone.now()
    missing_out: dict[int, list] = defaultdict(list)
    for (activity_id, user_id), seen in purposes.items():
        activity = by_id[activity_id]
        if Purpose.CHECK_IN in seen and Purpose.CHECK_OUT not in seen and activity.ends_at < now:
            missing_out[activity_id].append(users[user_id])
    report.no_check_out = [(by_id[a], people) for a, people in sorted(missing_out.items())]

    report.shared_devices = [
        (by_id[a], device, [users[u] for u in sorted(people)])
        for (a, device), people in sorted(devices.items())
        if len(people) > 1
    ]

    threshold = burst_threshold()
    for (activity_id, ip), scans in sorted(ips.items()):
        scans.sort(key=lambda r: r.at)
        start, busiest = 0, []
        for end in range(len(scans)):
            while scans[end].at - scans[start].at > datetime.timedelta(minutes=1):
                start += 1
            if end + 1 - start > len(busiest):
                busiest = scans[start : end + 1]
        people = {r.user_id for r in busiest}
        if len(busiest) >= threshold and len(people) > 1:
            report.bursts.append((by_id[activity_id], ip, len(busiest), len(people), busiest[0].at))

    failures = ScanFailure.objects.filter(Q(activity_id__in=activity_ids) | Q(activity__isnull=True))
    if since is not None:
        failures = failures.filter(at__gte=since)
    if until is not None:
        failures = failures.filter(at__lt=until)
    counts: dict[str, int] = defaultdict(int)
    for reason in failures.values_list("reason", flat=True):
        counts[reason] += 1
    report.refused = [
        (reason, REASON_LABELS.get(reason, reason), count)
        for reason, count in sorted(counts.items(), key=lambda item: -item[1])
    ]
    report.refused_rows = list(failures.select_related("activity", "user")[:50])
    return report
