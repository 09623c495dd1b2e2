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
