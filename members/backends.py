"""Members log in with their mobile phone as well as their membership number (username)."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from core import crypto

from . import validators
from .models import Member


class MemberPhoneBackend(ModelBackend):
    """Authenticates `username` = a mobile phone of a member with a portal account.

    The phone is found by its keyed hash. A password is checked even when no member
    matches, so that timing does not tell whether a phone belongs to a member.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None or not str(username).strip().isdigit():
            return None
        try:
            phone = validators.normalize_phone(username)
        except ValidationError:
            return None
        member = (
            Member.objects.select_related("user")
            .filter(phone_hash=crypto.phone_hash(phone), deleted_at__isnull=True)
            .exclude(user=None)
            .first()
        )
        if member is None:
            self._dummy_check(password)
            return None
        user = member.user
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    @staticmethod
    def _dummy_check(password):
        from django.contrib.auth import get_user_model

        get_user_model()().set_password(password)
