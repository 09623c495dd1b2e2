"""Forms of activities: the admin's activity form and session formset, and the card scan."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import add_action_errors
from members.models import EmploymentType
from organizations.models import Level

from ..actions import activities as actions
from ..models import Activity


class ActivityAdminForm(forms.ModelForm):
    """The admin's activity form; the action's own validation decides, shown per field."""

    audience_levels = forms.MultipleChoiceField(
        label=gettext_lazy("for members of unions at these levels"),
        choices=Level.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: members of every level."),
    )
    audience_employment_types = forms.MultipleChoiceField(
        label=gettext_lazy("for these employment types"),
        choices=EmploymentType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every employment type."),
    )

    online_url = forms.URLField(
        label=gettext_lazy("online link"), required=False, assume_scheme="https"
    )

    class Meta:
        model = Activity
        fields = [
            "organization",
            *actions.ACTIVITY_FIELDS,
            "audience_unions",
        ]

    def organizer(self):
        if self.instance.pk:
            return self.instance.organization
        return self.cleaned_data.get("organization")

    def clean(self):
        data = super().clean()
        org = self.organizer()
        if org is None:
            return data
        unions = data.get("audience_unions")
        try:
            actions.clean_activity(org, data, list(unions) if unions is not None else [])
        except ValidationError as error:
            add_action_errors(self, error)
        return data


class SessionFormSet(forms.BaseInlineFormSet):
    """Sessions of an activity: the capacity never goes below the places already taken."""

    def clean(self):
        super().clean()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.instance.pk:
                continue
            if form.cleaned_data.get("DELETE") and form.instance.registrations.exists():
                form.add_error(
                    None,
                    _("Members have registered for this session, so it cannot be removed."),
                )
            capacity = form.cleaned_data.get("capacity")
            if capacity is not None and capacity < form.instance.registered:
                form.add_error(
                    "capacity",
                    _("%(n)s members are already registered; the capacity cannot be lower.")
                    % {"n": form.instance.registered},
                )


class ScanCardForm(forms.Form):
    """What a USB or phone scanner types: the card's verification URL or its bare token."""

    scan = forms.CharField(
        label=gettext_lazy("Scan the member's card"),
        max_length=500,
        help_text=gettext_lazy(
            "Click here and scan the QR code on the member's card (or paste its link)."
        ),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
