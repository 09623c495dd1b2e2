"""Forms for members' real-name data, shared by the admin and the portal.

Fields hold raw text; `members.people.clean_person` does the validation, so a form,
the API and the spreadsheet importer give the same answer for the same input.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from organizations.models import Organization

from ..models import ETHNICITIES, PERSON_FIELDS, Education, EmploymentType, MemberStatus
from ..people import clean_person
from ..selectors import member_record_unions


class PersonFieldsMixin(forms.Form):
    # No max_length: a browser would cut a longer name without a word; the check says why.
    name = forms.CharField(label=pgettext_lazy("person", "Name"))
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=24,
        help_text=_("18 characters, as on the ID card."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    ethnicity = forms.ChoiceField(label=_("Ethnicity"), choices=ETHNICITIES, initial="01")
    education = forms.ChoiceField(
        label=_("Education"), choices=[("", "—"), *Education.choices], required=False
    )
    employer = forms.CharField(label=_("Employer (work unit)"), max_length=200)
    job = forms.CharField(label=_("Job"), max_length=100, required=False)
    employment_type = forms.ChoiceField(
        label=_("Employment type"), choices=EmploymentType.choices, initial="full_time"
    )

    person_fields = PERSON_FIELDS

    def raw_person(self) -> dict:
        return {f: self.data.get(self.add_prefix(f), "") for f in self.person_fields}

    def clean(self):
        cleaned = super().clean()
        try:
            self.person = clean_person(self.raw_person())
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                target = field if field in self.fields else None
                for message in messages:
                    if target is None or target not in self.errors:
                        self.add_error(target, message)
        return cleaned


class MemberAddForm(PersonFieldsMixin):
    organization = forms.ModelChoiceField(
        label=_("Grassroots union"), queryset=Organization.objects.none()
    )
    join_date = forms.DateField(label=_("Join date"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = member_record_unions(user)
        self.fields["join_date"].initial = timezone.localdate()

    def clean_join_date(self):
        value = self.cleaned_data.get("join_date")
        if value and value > timezone.localdate():
            raise ValidationError(_("The join date cannot be in the future."))
        return value


class PersonCorrectionForm(PersonFieldsMixin):
    """Correcting stored real-name data (of a member or an application). The ID number and
    phone are never put back into the page: left empty they stay as they were, typed anew
    they replace the stored ones."""

    def __init__(self, *args, record, **kwargs):
        super().__init__(*args, **kwargs)
        self.record = record
        for field, masked in (("id_number", record.id_masked), ("phone", record.phone_masked)):
            self.fields[field].required = False
            self.fields[field].help_text = _("Now %(masked)s. Leave empty to keep it.") % {
                "masked": masked or "—"
            }

    def raw_person(self) -> dict:
        raw = super().raw_person()
        for field in ("id_number", "phone"):
            if not str(raw.get(field) or "").strip():
                raw[field] = getattr(self.record, field)
        return raw


class MemberChangeForm(PersonCorrectionForm):
    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, record=member, **kwargs)


class StatusChangeForm(forms.Form):
    status = forms.ChoiceField(
        label=_("New status"),
        choices=[
            (s, label)
            for s, label in MemberStatus.choices
            if s in (MemberStatus.WITHDRAWN, MemberStatus.EXPELLED, MemberStatus.DECEASED)
        ],
    )
    effective_on = forms.DateField(label=_("Effective on"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea)


class RevealForm(forms.Form):
    field = forms.ChoiceField(
        label=_("Show"), choices=[("id_number", _("ID number")), ("phone", _("Mobile phone"))]
    )
    reason = forms.CharField(
        label=_("Why do you need it?"),
        max_length=200,
        help_text=_("Recorded in the audit log with your name."),
    )
