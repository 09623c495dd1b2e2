"""Signing in with a mobile number: officers with their own (`AccountPhone`), members with
the one on their record (`members.backends`), as well as with their login name."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from core.phones import normalize_phone

from .phones import account_for_phone


class PhoneBackend(ModelBackend):
    """Authenticates `username` = a mobile number; `user_for_phone` finds its account.

    A password is hashed even when no account matches, so that timing does not tell whether
    a number belongs to someone.
    """

    def accepts(self, username: str) -> bool:
        return True

    def user_for_phone(self, phone: str):
        raise NotImplementedError

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None or not self.accepts(str(username)):
            return None
        try:
            phone = normalize_phone(username)
        except ValidationError:
            return None
        user = self.user_for_phone(phone)
        if user is None:
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class AccountPhoneBackend(PhoneBackend):
    """An officer's own mobile number (typed with spaces or +86 too)."""

    def user_for_phone(self, phone: str):
        return account_for_phone(phone)
