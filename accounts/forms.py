from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.forms import OneTimeCodeForm

from .tokens import LIFETIMES


class CodeForm(OneTimeCodeForm):
    """The second factor's code, from the authenticator app."""

    required_message = _("Enter the 6-digit code from your authenticator app.")


class TokenForm(forms.Form):
    """A new API access token: its name, what it may do and how long it lives."""

    name = forms.CharField(
        label=pgettext_lazy("API token", "Name"),
        max_length=60,
        help_text=_("Which system or script uses it, e.g. 人事系统同步."),
    )
    access = forms.ChoiceField(
        label=_("Access"),
        choices=[
            ("read", _("Read only")),
            ("write", _("Read and change (as you can)")),
        ],
        initial="read",
        widget=forms.RadioSelect,
    )
    days = forms.TypedChoiceField(
        label=_("Expires after"),
        choices=[(d, _("%(n)d days") % {"n": d}) for d in LIFETIMES],
        coerce=int,
        initial=90,
    )
