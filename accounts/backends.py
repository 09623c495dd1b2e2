"""Officers sign in with their own mobile number as well as their login name."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from core.phones import normalize_phone

from .phones import account_for_phone


class AccountPhoneBackend(ModelBackend):
    """Authenticates `username` = an account's own mobile number (`AccountPhone`).

    A password is checked even when no account matches, so that timing does not tell
    whether a number belongs to an officer.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        try:
            phone = normalize_phone(username)
        except ValidationError:
            return None
        user = account_for_phone(phone)
        if user is None:
            from django.contrib.auth import get_user_model

            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
