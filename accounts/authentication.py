from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import authentication, exceptions

from .security import needs_second_factor


class TokenAuthentication(authentication.TokenAuthentication):
    """API tokens, refused for users who need a second factor but have not set one up:
    a token is issued by an operator, and for those users only once their TOTP is on."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if (
            needs_second_factor(user)
            and not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        ):
            raise exceptions.AuthenticationFailed(
                _("This account needs two-step verification before it can use the API.")
            )
        return user, token
