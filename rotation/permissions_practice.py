"""Who may do what during a block: entry education, caseload, leave, attendance and 出科.

Everything follows the block (`rotation.permissions.block_q`): the resident, the block's
supervisor, the department (teaching secretary, head, attendance clerk), the base managers and
the office see it; what each may do is decided from `block_roles`. Outside scope 404, forbidden
actions 403 (core.permissions).
"""

from django.db.models import Q, QuerySet

from accounts.choices import Role
from core import permissions

from .choices import EntryStatus, LeaveStatus, ReportStatus
from .models import AttendanceReport, CaseloadEntry, EntryEducation, ExitReview, LeaveRequest
from .permissions import BASE_MANAGERS, block_q, block_roles, office_hospitals


@permissions.register
class EntryEducationPolicy(permissions.Policy):
    """Recorded by the department (secretary, head) or the block's supervisor; confirmed by the resident."""

    model = EntryEducation

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        return queryset.filter(block_q(user, "block__"))

    def allows(self, user, action: str, obj: EntryEducation) -> bool:
        roles = block_roles(user, obj.block)
        return {
            "view": True,
            "edit": roles["secretary"] or roles["head"] or roles["supervisor"],
            "confirm": roles["self"] and obj.confirmed_at is None,
        }.get(action, False)


@permissions.register
class CaseloadEntryPolicy(permissions.Policy):
    """The resident logs and edits until approval; only the block's supervisor (or the head) decides."""

    model = CaseloadEntry

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        return queryset.filter(block_q(user, "block__"))

    def allows(self, user, action: str, obj: CaseloadEntry) -> bool:
        roles = block_roles(user, obj.block)
        editable = obj.status in (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.RETURNED)
        return {
            "view": True,
            "edit": roles["self"] and editable,
            "correct": roles["self"] and obj.status == EntryStatus.APPROVED,
            "decide": (roles["supervisor"] or roles["head"]) and obj.status == EntryStatus.SUBMITTED,
        }.get(action, False)


@permissions.register
class LeaveRequestPolicy(permissions.Policy):
    """The resident, the block's people, the base and the office see leave; approvers act in the approval engine."""

    model = LeaveRequest

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        q = Q(resident__user_id=user.pk) | block_q(user, "block__")
        q |= Q(resident__base_id__in=user.scope.bases(*BASE_MANAGERS))
        q |= Q(resident__base__hospital_id__in=office_hospitals(user))
        return queryset.filter(q)

    def allows(self, user, action: str, obj: LeaveRequest) -> bool:
        is_self = obj.resident.user_id == user.pk
        return {
            "view": True,
            "withdraw": is_self and obj.status == LeaveStatus.PENDING,
            "report_back": is_self and obj.status == LeaveStatus.APPROVED and obj.returned_on is None,
        }.get(action, False)


@permissions.register
class AttendanceReportPolicy(permissions.Policy):
    """The department's clerk fills and submits; secretary and head read; the base reads; the office reopens."""

    model = AttendanceReport

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        scope = user.scope
        q = Q(department_id__in=scope.departments(Role.ATTENDANCE_CLERK, Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD))
        q |= Q(department__base_id__in=scope.bases(*BASE_MANAGERS))
        hospitals = office_hospitals(user)
        q |= Q(department__hospital_id__in=hospitals) | Q(department__hospital__parent_id__in=hospitals)
        return queryset.filter(q)

    def allows(self, user, action: str, obj: AttendanceReport) -> bool:
        scope = user.scope
        is_clerk = obj.department_id in scope.departments(Role.ATTENDANCE_CLERK)
        is_office = bool(office_hospitals(user) & {obj.department.hospital_id, obj.department.hospital.parent_id})
        editable = obj.status in (ReportStatus.OPEN, ReportStatus.RETURNED)
        return {
            "view": True,
            "edit": is_clerk and editable,
            "submit": is_clerk and editable,
            "reopen": is_office and obj.status == ReportStatus.APPROVED,
        }.get(action, False)


@permissions.register
class ExitReviewPolicy(permissions.Policy):
    """出科: the resident writes, the block's supervisor assesses, the head agrees, the base reviews."""

    model = ExitReview

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        return queryset.filter(block_q(user, "block__"))

    def allows(self, user, action: str, obj: ExitReview) -> bool:
        roles = block_roles(user, obj.block)
        return {
            "view": True,
            "summary": roles["self"],
            "assess": roles["supervisor"] or (roles["head"] and obj.block.supervisor_id is None),
            "agree": roles["head"],
            "review": roles["base"],
            "theory": roles["secretary"] or roles["head"],
        }.get(action, False)
