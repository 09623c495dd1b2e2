"""Form helpers every app's forms and views share."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class OneTimeCodeForm(forms.Form):
    """A 6-digit one-time code, typed on a phone's number pad. Subclasses say where the code
    comes from (`label`, `required_message`): an authenticator app, a text message."""

    label = _("6-digit code")
    required_message = _("Enter the 6-digit code.")

    code = forms.CharField(
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
        error_messages={
            "min_length": _("The code has 6 digits."),
            "max_length": _("The code has 6 digits."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = self.label
        self.fields["code"].error_messages["required"] = self.required_message

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise ValidationError(_("The code has 6 digits."))
        return code


def add_action_errors(
    form, error: ValidationError, *, field_map: dict | None = None, non_field: str | None = None
) -> None:
    """Show an action's ValidationError on `form`: each field's messages next to that field
    (renamed through `field_map`; on the form as a whole if it has no such field), errors
    without a field on `non_field` (None: the form as a whole)."""
    field_map = field_map or {}
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field_map.get(field, field)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(non_field, error)
