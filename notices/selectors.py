from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from accounts.choices import UserStatus
from accounts.models import RoleAssignment, User
from core.permissions import visible

from .choices import NoticeStatus
from .models import Notice, NoticeRead
from .permissions import BASE_SCOPED_ROLES, DEPARTMENT_SCOPED_ROLES, HOSPITAL_SCOPED_ROLES


def notices_for(user: User, *, all_statuses: bool = False) -> QuerySet[Notice]:
    """The notices `user` may read, pinned first, newest first, each with `is_read` and `attachment_count`.

    `all_statuses` adds drafts and withdrawn notices, which only the office can see anyway.
    """
    queryset = visible(user, Notice)
    if not all_statuses:
        queryset = queryset.filter(status=NoticeStatus.PUBLISHED)
    return (
        queryset.annotate(
            is_read=Exists(NoticeRead.objects.filter(notice_id=OuterRef("pk"), user_id=user.pk)),
            attachment_count=Count("attachments", distinct=True),
        )
        .select_related("author")
        .order_by("-is_pinned", F("published_at").desc(nulls_first=True), "-created_at")
    )


def unread_count(user: User) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return (
        visible(user, Notice)
        .filter(status=NoticeStatus.PUBLISHED)
        .exclude(Exists(NoticeRead.objects.filter(notice_id=OuterRef("pk"), user_id=user.pk)))
        .count()
    )


def audience_of(notice: Notice) -> QuerySet[User]:
    """Active users the notice is addressed to: the same rule as NoticePolicy, seen from the users' side."""
    hospital_id = notice.hospital_id
    assignments = RoleAssignment.objects.active_on()
    in_hospital = assignments.filter(
        Q(role__in=HOSPITAL_SCOPED_ROLES, hospital_id=hospital_id)
        | Q(role__in=BASE_SCOPED_ROLES, base__hospital_id=hospital_id)
        | Q(role__in=DEPARTMENT_SCOPED_ROLES, department__hospital_id=hospital_id)
        | Q(role__in=DEPARTMENT_SCOPED_ROLES, department__hospital__parent_id=hospital_id)
        | Q(role__in=DEPARTMENT_SCOPED_ROLES, department__base__hospital_id=hospital_id)
    )
    users = User.objects.filter(status=UserStatus.ACTIVE, pk__in=in_hospital.values("user_id"))
    if notice.audience_roles:
        users = users.filter(pk__in=assignments.filter(role__in=notice.audience_roles).values("user_id"))
    base_ids = list(notice.audience_bases.values_list("pk", flat=True))
    if base_ids:
        users = users.filter(
            pk__in=assignments.filter(
                Q(role__in=BASE_SCOPED_ROLES, base_id__in=base_ids)
                | Q(role__in=DEPARTMENT_SCOPED_ROLES, department__base_id__in=base_ids)
            ).values("user_id")
        )
    return users


def read_report(notice: Notice, *, state: str = "") -> tuple[QuerySet[User], dict[str, int]]:
    """Who of the audience has read the notice (with `read_at`) and who has not, readers first."""
    audience = audience_of(notice)
    read_at = NoticeRead.objects.filter(notice_id=notice.pk, user_id=OuterRef("pk")).values("read_at")[:1]
    rows = audience.annotate(read_at=Subquery(read_at))
    total = audience.count()
    read = rows.filter(read_at__isnull=False).count()
    if state == "read":
        rows = rows.filter(read_at__isnull=False)
    elif state == "unread":
        rows = rows.filter(read_at__isnull=True)
    rows = rows.order_by(F("read_at").desc(nulls_last=True), "username")
    return rows, {"total": total, "read": read, "unread": total - read}
