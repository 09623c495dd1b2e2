"""Real-name data (实名信息) as typed: checked and normalized the same way everywhere.

A form, the API, a join application and a spreadsheet row all go through `clean_person`;
`apply_person` copies its result onto a member or an application. Validation, not an
action: nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.text import validate_real_name

from . import validators
from .models import ETHNICITIES, Education, EmploymentType, Gender

_CHOICES = {
    "ethnicity": dict(ETHNICITIES),
    "education": dict(Education.choices),
    "employment_type": dict(EmploymentType.choices),
}


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def clean_person(raw: Mapping, *, require_phone: bool = True) -> dict:
    """Validate real-name data; returns normalized values or raises ValidationError per field.

    Optional `gender` and `birth_date` in `raw` are cross-checked against the ID number,
    which is what they are taken from.
    """
    errors: dict[str, list] = {}
    data: dict = {}
    name = str(raw.get("name") or "")
    try:
        name = validate_real_name(name)
    except ValidationError as error:
        errors["name"] = error.messages
    data["name"] = name.strip()
    for field in ("employer", "job"):
        # Pasted text can carry them; a workbook cannot hold them, nor PostgreSQL a NUL.
        if _CONTROL_CHARACTERS.search(str(raw.get(field) or "")):
            errors[field] = [
                _("Remove the control characters (invisible characters) from this text.")
            ]
    try:
        data["id_number"] = validators.validate_id_number(raw.get("id_number") or "")
    except ValidationError as error:
        errors["id_number"] = error.messages
    phone = str(raw.get("phone") or "").strip()
    if phone or require_phone:
        try:
            data["phone"] = validators.normalize_phone(phone)
        except ValidationError as error:
            errors["phone"] = error.messages
    else:
        data["phone"] = ""
    for field, choices in _CHOICES.items():
        value = raw.get(field)
        if value in (None, ""):
            if field == "education":
                data[field] = ""
                continue
            value = {"ethnicity": "01", "employment_type": EmploymentType.FULL_TIME}[field]
        if value not in choices:
            errors[field] = [_("Choose one of the listed values.")]
        data[field] = value
    employer = str(raw.get("employer") or "").strip()
    if not employer:
        errors.setdefault("employer", [_("Enter the employer (work unit).")])
    data["employer"] = employer[:200]
    data["job"] = str(raw.get("job") or "").strip()[:100]
    if "id_number" in data:
        number = data["id_number"]
        gender = raw.get("gender")
        if gender and gender != validators.gender_of(number):
            errors["gender"] = [
                _("The ID number belongs to a %(gender)s; please check the gender or the ID.")
                % {"gender": Gender(validators.gender_of(number)).label}
            ]
        born = raw.get("birth_date")
        if born and born != validators.birth_date_of(number):
            errors["birth_date"] = [
                _("The ID number gives the birth date %(date)s; please check.")
                % {"date": validators.birth_date_of(number).isoformat()}
            ]
    if errors:
        raise ValidationError(errors)
    return data


def apply_person(obj, data: Mapping) -> None:
    """Copy cleaned real-name data onto a member or an application (encrypting identifiers)."""
    for field in ("name", "ethnicity", "education", "employer", "job", "employment_type"):
        if field in data:
            setattr(obj, field, data[field])
    if "id_number" in data:
        obj.set_id_number(data["id_number"])
    if "phone" in data:
        obj.set_phone(data["phone"])
