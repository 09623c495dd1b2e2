from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class RecipientSettingsForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of emails and SMS"), choices=settings.LANGUAGES)
    quiet_start = forms.TimeField(
        label=_("No SMS from"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    quiet_end = forms.TimeField(
        label=_("until"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    digest = forms.BooleanField(
        label=_("Daily digest of new work"),
        required=False,
        help_text=_(
            "New work for your unions (applications, requests, items falling due) comes to "
            "the inbox at once, and by email and SMS in one message a day instead of one each."
        ),
    )
