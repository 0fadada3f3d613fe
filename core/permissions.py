"""One answer to "may this user do this action on this object".

Each model that users reach through views registers a Policy in its app's
permissions.py. A policy restricts a queryset to what the user's role scope covers and
decides actions on one object. django-guardian grants (per-object exceptions such as
"this external examiner may view this resident") are added on top, for policies that
opt in. Views and selectors only call `visible()` and `can()`.
"""

from collections.abc import Iterable
from typing import Any, NoReturn

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from .audit import audit_record


class Policy:
    model: type[Model]
    #: consult guardian object grants for view_<model> / <action>_<model>
    object_grants: bool = False

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        """Rows the user's roles let them see. Default: nothing."""
        return queryset.none()

    def allows(self, user, action: str, obj: Any) -> bool:
        """May `user` perform `action` on `obj` they can already see? Default: view only."""
        return action == "view"


_registry: dict[type[Model], Policy] = {}


def register(policy_class: type[Policy]) -> type[Policy]:
    _registry[policy_class.model] = policy_class()
    return policy_class


def policy_for(model: type[Model]) -> Policy:
    try:
        return _registry[model]
    except KeyError:
        raise LookupError(f"No permission policy registered for {model._meta.label}") from None


def _codename(action: str, model: type[Model]) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def visible(user, queryset: QuerySet | type[Model]) -> QuerySet:
    """Restrict first: the rows of `queryset` this user may see."""
    if not isinstance(queryset, QuerySet):
        queryset = queryset._default_manager.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    policy = policy_for(queryset.model)
    scoped = policy.scope(user, queryset)
    if policy.object_grants:
        from guardian.shortcuts import get_objects_for_user

        granted = get_objects_for_user(
            user,
            _codename("view", queryset.model),
            klass=queryset.model,
            with_superuser=False,
            accept_global_perms=False,
        ).values("pk")
        scoped = queryset.filter(pk__in=scoped.values("pk")) | queryset.filter(pk__in=granted)
    return scoped


def can(user, action: str, obj: Model) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    policy = policy_for(type(obj))
    if policy.allows(user, action, obj):
        return True
    return policy.object_grants and user.has_perm(_codename(action, type(obj)), obj)


def get_visible_or_404(user, queryset: QuerySet | type[Model], **lookup: Any) -> Model:
    """Look up inside the user's scope; outside it the object does not exist for them (audited)."""
    scoped = visible(user, queryset)
    try:
        return get_object_or_404(scoped, **lookup)
    except Http404:
        model = scoped.model
        audit_record(
            action="access.not_found",
            outcome="denied",
            acting_user=user,
            target=None,
            model=model._meta.label_lower,
            lookup=_lookup_repr(lookup),
        )
        raise


def require(user, action: str, obj: Model) -> None:
    """A visible object with a forbidden action is a 403 (audited)."""
    if not can(user, action, obj):
        audit_record(action="access.denied", outcome="denied", acting_user=user, target=obj, attempted=action)
        raise PermissionDenied


def deny(request) -> NoReturn:
    """A page the user's roles do not open at all: 403, audited with the view's name."""
    audit_record(
        action="access.denied",
        outcome="denied",
        acting_user=request.user,
        view=request.resolver_match.view_name if request.resolver_match else request.path,
    )
    raise PermissionDenied


def _lookup_repr(lookup: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(lookup.items()))[:200]


def any_of(user, roles: Iterable[str]) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.scope.has_role(*roles)


class ScopedObjectMixin:
    """For class-based views that act on one object: restrict, look up, then check the action."""

    model: type[Model]
    permission_action = "view"
    lookup_field = "uuid"
    lookup_url_kwarg = "uuid"

    def get_scoped_queryset(self) -> QuerySet:
        return self.model._default_manager.all()

    def get_object(self, queryset: QuerySet | None = None) -> Model:
        obj = get_visible_or_404(
            self.request.user,
            queryset if queryset is not None else self.get_scoped_queryset(),
            **{self.lookup_field: self.kwargs[self.lookup_url_kwarg]},
        )
        if self.permission_action != "view":
            require(self.request.user, self.permission_action, obj)
        return obj


class RoleRequiredMixin:
    """For pages that belong to roles rather than objects (an office's import screen)."""

    required_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()  # type: ignore[attr-defined]
        if not request.user.scope.has_role(*self.required_roles):
            deny(request)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
