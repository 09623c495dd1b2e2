"""Forms of joining online: the application, and the applicant's correction of it.

The real-name fields are validated by `members.people.clean_person` (through
`PersonFieldsMixin`); the action checks everything again, so these forms only make
the first answer complete and shown next to each field.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import OneTimeCodeForm, add_action_errors

from .person import PersonCorrectionForm, PersonFieldsMixin


class JoinApplicationForm(PersonFieldsMixin):
    # The portal's field template marks the optional fields ("(optional)").
    mark_optional_fields = True

    password1 = forms.CharField(
        label=_("Password for your member account"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    privacy_consent = forms.BooleanField(
        label=_("I have read the privacy notice above and agree to it."),
        error_messages={
            "required": _("Please read the privacy notice and agree to it to apply."),
        },
    )
    sensitive_consent = forms.BooleanField(
        label=_(
            "I separately consent to the processing of my sensitive personal information "
            "(resident ID number and ethnicity) for my union membership."
        ),
        error_messages={
            "required": _(
                "Applying needs your separate consent to the processing of your ID number "
                "and ethnicity."
            ),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form so that it is in the language of the request.
        self.fields["password1"].help_text = password_validators_help_text_html()
        self.fields["name"].widget.attrs.setdefault("autocomplete", "name")
        self.fields["employer"].widget.attrs.setdefault("autocomplete", "organization")

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                validate_password(first, get_user_model()(first_name=cleaned.get("name", "")))
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned

    def add_action_error(self, error: ValidationError) -> None:
        """Show an error of the join action next to the field it concerns."""
        add_action_errors(self, error, field_map={"password": "password1"}, non_field="id_number")


class JoinCorrectionForm(PersonCorrectionForm):
    """The applicant corrects their data; the ID number and phone stay as they were unless
    typed anew."""

    # The portal's field template marks the optional fields ("(optional)").
    mark_optional_fields = True

    def __init__(self, *args, application, **kwargs):
        initial = {
            field: getattr(application, field)
            for field in ("name", "ethnicity", "education", "employer", "job", "employment_type")
        }
        super().__init__(*args, record=application, initial=initial, **kwargs)

    def add_action_error(self, error: ValidationError) -> None:
        person_code = getattr(error, "code", None) in (
            "already_member",
            "deceased",
            "open_application",
        )
        add_action_errors(self, error, non_field="id_number" if person_code else None)


class LinkRecoveryForm(forms.Form):
    """Get a lost status link back: the ID and mobile numbers the applicant applied with."""

    id_number = PersonFieldsMixin.base_fields["id_number"]
    phone = forms.CharField(
        label=_("Mobile phone you applied with"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )


class RecoveryCodeForm(OneTimeCodeForm):
    """The code of a lost link's recovery, from the text message."""

    label = _("6-digit code from the text message")
    required_message = _("Enter the 6-digit code from the text message.")
