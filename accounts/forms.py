from django.utils.translation import gettext_lazy as _

from core.forms import OneTimeCodeForm


class CodeForm(OneTimeCodeForm):
    """The second factor's code, from the authenticator app."""

    required_message = _("Enter the 6-digit code from your authenticator app.")
