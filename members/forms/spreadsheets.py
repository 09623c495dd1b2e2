"""Forms for member spreadsheets: uploading a file to import."""

from django import forms
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _

from ..actions.spreadsheets import MAX_UPLOAD_BYTES
from ..selectors import member_record_unions


class MemberImportForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Union"),
        queryset=None,
        help_text=_("Rows without a union credit code join this union."),
    )
    file = forms.FileField(
        label=_("Spreadsheet"),
        validators=[FileExtensionValidator(["xlsx", "csv"])],
        help_text=_("An .xlsx or .csv file laid out like the template (CSV in UTF-8 or GB18030)."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        unions = member_record_unions(user)
        self.fields["organization"].queryset = unions
        only = list(unions[:2])
        if len(only) == 1:
            self.fields["organization"].initial = only[0].pk
            self.fields["organization"].empty_label = None

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB; split it."))
        return upload
