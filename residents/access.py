"""Who may see which residents' archives, as one Q that any app can add a relation to.

The residents app answers for the resident themself, the responsible mentor, the base and
the training office. Apps that know other relations register them here: rotation adds the
supervisor of any block (current and past) and the department's secretary and head for
residents rotating there now or scheduled to. Everyone else gets nothing (a 404 upstream).
"""

from collections.abc import Callable

from django.db.models import Q

from accounts.choices import Role

Provider = Callable[[object], Q | None]

_providers: dict[str, Provider] = {}


def register(name: str) -> Callable[[Provider], Provider]:
    def decorator(func: Provider) -> Provider:
        _providers[name] = func
        return func

    return decorator


def residents_q(user) -> Q | None:
    """A filter on ResidentProfile for everything `user` may see, or None for nothing."""
    combined: Q | None = None
    for provider in _providers.values():
        q = provider(user)
        if q is not None:
            combined = q if combined is None else combined | q
    return combined


@register("self")
def _self(user) -> Q | None:
    return Q(user_id=user.pk)


@register("mentor")
def _mentor(user) -> Q | None:
    return Q(mentor_id=user.pk)


@register("base")
def _base(user) -> Q | None:
    bases = user.scope.bases(Role.BASE_DIRECTOR, Role.BASE_SECRETARY)
    return Q(base_id__in=bases) if bases else None


@register("office")
def _office(user) -> Q | None:
    hospitals = user.scope.hospitals(Role.TRAINING_OFFICE)
    if not hospitals:
        return None
    return Q(base__hospital_id__in=hospitals) | Q(base__hospital__parent_id__in=hospitals)
