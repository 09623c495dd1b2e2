"""Form helpers every app's forms and views share."""

from django.core.exceptions import ValidationError


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
