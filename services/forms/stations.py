"""Forms of service stations: the admin's station and settings forms, the member's rating."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import add_action_errors
from organizations.models import Level

from ..actions import stations as actions
from ..models import ServiceSettings, Station


class StationAdminForm(forms.ModelForm):
    """The station's fields, checked by `actions.clean_station_data` (saved by the action)."""

    class Meta:
        model = Station
        fields = ["organization", *actions.STATION_FIELDS]

    def clean(self):
        cleaned = super().clean()
        self.station_data = None
        org = cleaned.get("organization")
        if org is not None and not org.is_active:
            self.add_error("organization", _("This union is dissolved."))
        if self.errors:
            return cleaned
        try:
            self.station_data = actions.clean_station_data(
                {f: cleaned.get(f) for f in actions.STATION_FIELDS}
            )
        except ValidationError as error:
            add_action_errors(self, error)
        return cleaned


class ServiceSettingsAdminForm(forms.ModelForm):
    """An organization's settings, checked by `actions.clean_settings` (saved by the action)."""

    class Meta:
        model = ServiceSettings
        fields = ["organization", *actions.SETTINGS_FIELDS]
        widgets = {"aid_approval_level": forms.Select}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "aid_approval_level" in self.fields:
            labels = dict(Level.choices)
            self.fields["aid_approval_level"].widget.choices = [
                ("", _("Default")),
                *[(level, labels[level]) for level in actions.AID_APPROVAL_LEVELS],
            ]

    def clean(self):
        cleaned = super().clean()
        self.settings_data = None
        if self.errors:
            return cleaned
        try:
            self.settings_data = actions.clean_settings(
                {f: cleaned.get(f) for f in actions.SETTINGS_FIELDS}
            )
        except ValidationError as error:
            add_action_errors(self, error)
        return cleaned


class RateVisitForm(forms.Form):
    # The portal's field template marks the optional fields ("(optional)").
    mark_optional_fields = True

    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    visited_on = forms.DateField(
        label=_("Day of your visit"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for today."),
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown on the station's page with your name masked."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visited_on"].widget.attrs["max"] = timezone.localdate().isoformat()
