"""Reads of the faculty archive, always starting from what the user may see (core.permissions.visible)."""

from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Department, RoleAssignment
from core.permissions import visible
from rotation.models import RotationBlock

from .choices import RANK
from .models import FacultyProfile, SupervisorQualification, TeachingPost

#: The sign-in roles that are teaching work, shown on a teacher's page with their periods.
TEACHING_ROLES = (
    Role.SUPERVISOR,
    Role.MENTOR,
    Role.TEACHING_SECRETARY,
    Role.DEPARTMENT_HEAD,
    Role.BASE_DIRECTOR,
    Role.BASE_SECRETARY,
)


def current_posts_q(day: date | None = None) -> Q:
    day = day or timezone.localdate()
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gte=day))


def with_list_facts(queryset: QuerySet, day: date | None = None) -> QuerySet:
    """Annotate what a list row shows (qualification state, title rank, posts held now) in a fixed
    number of queries, however many teachers the page has."""
    day = day or timezone.localdate()
    valid = SupervisorQualification.objects.valid_on(day).filter(faculty_id=OuterRef("pk"))
    return (
        queryset.select_related("user", "department", "department__base")
        .annotate(
            qualified_now=Exists(valid),
            qualified_until=Subquery(valid.order_by("-expires_on").values("expires_on")[:1]),
            ever_qualified=Exists(SupervisorQualification.objects.filter(faculty_id=OuterRef("pk"))),
            title_rank=Case(
                *[When(title=value, then=Value(rank)) for value, rank in RANK.items()],
                default=Value(-1),
                output_field=IntegerField(),
            ),
        )
        .prefetch_related(
            Prefetch(
                "teaching_posts",
                queryset=TeachingPost.objects.filter(current_posts_q(day)).order_by("kind"),
                to_attr="current_posts",
            )
        )
    )


def faculty_for(user) -> QuerySet:
    """Every teacher `user` may see, with the facts a list or an export row needs."""
    return with_list_facts(visible(user, FacultyProfile)).order_by("department__code", "name_initials", "pk")


def list_counts(queryset: QuerySet) -> dict[str, int]:
    """Total and qualified-now of a (filtered) list, in one query."""
    return queryset.order_by().aggregate(total=Count("pk"), qualified=Count("pk", filter=Q(qualified_now=True)))


def departments_for(user) -> QuerySet:
    """Departments that have teachers this user may see (the department filter's choices)."""
    return Department.objects.filter(pk__in=visible(user, FacultyProfile).values("department_id")).order_by("code")


@dataclass(frozen=True)
class Supervision:
    now: int
    total: int


def supervision_counts(profile: FacultyProfile, day: date | None = None) -> Supervision:
    """Residents this teacher supervises now, and has ever supervised (distinct residents)."""
    day = day or timezone.localdate()
    blocks = RotationBlock.objects.filter(supervisor_id=profile.user_id)
    counts = blocks.aggregate(
        total=Count("resident_id", distinct=True),
        now=Count("resident_id", distinct=True, filter=Q(start_date__lte=day, end_date__gte=day)),
    )
    return Supervision(now=counts["now"], total=counts["total"])


def teaching_roles(profile: FacultyProfile) -> QuerySet:
    """Teaching roles the person holds or held, newest first, with where."""
    return (
        RoleAssignment.objects.filter(user_id=profile.user_id, role__in=TEACHING_ROLES)
        .select_related("department", "base", "hospital")
        .order_by("-valid_from", "role")
    )


#: Roles whose holders usually have a teaching archive: only they pay for the menu's check.
ARCHIVE_HOLDER_ROLES = (
    Role.SUPERVISOR,
    Role.MENTOR,
    Role.TEACHING_SECRETARY,
    Role.DEPARTMENT_HEAD,
    Role.BASE_DIRECTOR,
)
#: An archive is never removed (no delete path; the account is PROTECTed), so a "yes" can be remembered.
_HAS_PROFILE_TTL = 24 * 3600


def has_faculty_profile(user) -> bool:
    """For the menu, on every page: does this user have a teaching archive?

    No query for users without a teaching role (the scope is already loaded for the request), none for
    teachers whose archive the cache remembers; otherwise one, remembered on the user for the request.
    """
    if not getattr(user, "is_authenticated", False) or not user.scope.has_role(*ARCHIVE_HOLDER_ROLES):
        return False
    cached = getattr(user, "_has_faculty_profile", None)
    if cached is None:
        key = f"faculty:has-profile:{user.uuid}"
        cached = bool(cache.get(key))
        if not cached:
            cached = FacultyProfile.objects.filter(user_id=user.pk).exists()
            if cached:
                cache.set(key, True, _HAS_PROFILE_TTL)
        user._has_faculty_profile = cached
    return cached
