"""Forms of joining online: the application, and the applicant's correction of it.

The real-name fields are validated by `members.actions.clean_person` (through
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

from .person import PersonFieldsMixin


class JoinApplicationForm(PersonFieldsMixin):
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
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                field = {"password": "password1"}.get(field, field)
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error("id_number", error)


class JoinCorrectionForm(PersonFieldsMixin):
    """The applicant corrects their data. The ID number and phone are never put back into
    the page: left empty they stay as they were."""

    def __init__(self, *args, application, **kwargs):
        initial = {
            field: getattr(application, field)
            for field in ("name", "ethnicity", "education", "employer", "job", "employment_type")
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.application = application
        for field in ("id_number", "phone"):
            self.fields[field].required = False
        self.fields["id_number"].help_text = _("Now %(masked)s. Leave empty to keep it.") % {
            "masked": application.id_masked
        }
        self.fields["phone"].help_text = _("Now %(masked)s. Leave empty to keep it.") % {
            "masked": application.phone_masked or "—"
        }

    def raw_person(self) -> dict:
        raw = super().raw_person()
        for field in ("id_number", "phone"):
            if not str(raw.get(field) or "").strip():
                raw[field] = getattr(self.application, field)
        return raw

    def add_action_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        elif error.code in ("already_member", "deceased", "open_application"):
            self.add_error("id_number", error)
        else:
            self.add_error(None, error)
