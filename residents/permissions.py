from django.db.models import QuerySet

from accounts.choices import REVEAL_ROLES, Role
from core import permissions

from . import access
from .models import EnrollmentBatch, ResidentProfile

#: who manages archives of a base beside the office (posts, awards, records)
BASE_MANAGERS = (Role.BASE_DIRECTOR, Role.BASE_SECRETARY)


@permissions.register
class ResidentProfilePolicy(permissions.Policy):
    """Archives: see residents.access for who sees whom; what each may do is decided here.

    Actions: view; edit_own (the resident's own contact fields); edit (the whole archive
    except training fields, which change through approval); records (posts, awards,
    certificates); request_change (退培/延期/... through approval); reveal (full ID number);
    contact (unmasked phone and emergency contacts); export.
    """

    model = ResidentProfile
    object_grants = True

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        q = access.residents_q(user)
        return queryset.none() if q is None else queryset.filter(q)

    def allows(self, user, action: str, obj: ResidentProfile) -> bool:
        scope = user.scope
        is_self = obj.user_id == user.pk
        is_office = scope.is_office
        manages_base = scope.acts_for_base(obj.base_id, *BASE_MANAGERS)
        return {
            "view": True,
            "edit_own": is_self,
            "edit": is_office,
            "records": is_office or manages_base,
            "upload_certificate": is_self or is_office or manages_base,
            "request_change": is_self or is_office or manages_base,
            "reveal": scope.has_role(*REVEAL_ROLES),
            "contact": is_self or is_office or obj.mentor_id == user.pk,
            "export": is_office or manages_base,
        }.get(action, False)


@permissions.register
class EnrollmentBatchPolicy(permissions.Policy):
    """Enrollment is the training office's: other roles never see batches."""

    model = EnrollmentBatch

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        hospitals = user.scope.hospitals(Role.TRAINING_OFFICE)
        return queryset.filter(hospital_id__in=hospitals) if hospitals else queryset.none()

    def allows(self, user, action: str, obj: EnrollmentBatch) -> bool:
        return action in {"view", "manage", "import", "export"}


def may_list_residents(user) -> bool:
    """The list is for people who look after several residents; a resident goes straight to their own archive."""
    return bool(user.is_authenticated) and user.scope.has_role(
        Role.TRAINING_OFFICE,
        Role.BASE_DIRECTOR,
        Role.BASE_SECRETARY,
        Role.MENTOR,
        Role.SUPERVISOR,
        Role.TEACHING_SECRETARY,
        Role.DEPARTMENT_HEAD,
    )


def may_enroll(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_office
