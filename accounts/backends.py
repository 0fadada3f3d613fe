from django.contrib.auth.backends import ModelBackend

from .choices import UserStatus


class StatusAwareModelBackend(ModelBackend):
    """Pending and disabled accounts cannot sign in, whatever their password."""

    def user_can_authenticate(self, user) -> bool:
        return getattr(user, "status", UserStatus.ACTIVE) == UserStatus.ACTIVE and super().user_can_authenticate(user)
