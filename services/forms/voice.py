"""Forms of the worker voice: the member's concern, rating and reopening; the staff's
reply, grade, hand-over and close forms in the admin."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from organizations.models import Organization, OrgStatus

from ..models import Concern, ConcernCategory, ConcernGrade
from ..selectors.voice import HAND_OVER_TARGETS, hand_over_targets

# --- Portal ------------------------------------------------------------------------------


class ConcernForm(forms.Form):
    category = forms.ChoiceField(label=_("What is it about?"), choices=ConcernCategory.choices)
    title = forms.CharField(
        label=_("Subject"),
        max_length=120,
        help_text=_("One line, e.g. “Overtime for March not paid”."),
    )
    text = forms.CharField(
        label=_("Your concern"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What happened, since when, and what you would like the union to do."),
    )
    attachment = forms.FileField(
        label=_("Attachment (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.docx"}),
        help_text=_("A PDF, JPG, PNG or Word (.docx) file of at most 5 MB, e.g. a pay slip."),
    )
    hide_name = forms.BooleanField(
        label=_("Hide my name above my own union"),
        required=False,
        help_text=_(
            "Your own union always sees who you are, so that it can help you. If the concern "
            "goes to a higher-level union or another union, they see “Anonymous worker” "
            "instead of your name."
        ),
    )
    share_name_outside = forms.BooleanField(
        label=_("Show my name to other unions it may be handed to"),
        required=False,
        help_text=_(
            "Your union may hand the concern to a union outside your own union's line, such as "
            "the union where your employer is. Without this, that union sees “Anonymous "
            "worker”; with it, your name as the unions above yours see it (masked)."
        ),
    )


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How well was your concern answered?"),
        coerce=int,
        choices=[(i, "★" * i) for i in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still not solved?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- Admin -------------------------------------------------------------------------------


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Answer"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text=_("The member sees this answer and can rate it or reopen the concern."),
    )


class GradeForm(forms.Form):
    grade = forms.ChoiceField(
        label=_("Grade"),
        choices=ConcernGrade.choices,
        help_text=_(
            "The due time is counted again from when your union received the concern, "
            "with the days set for this grade."
        ),
    )


class CloseForm(forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why it is closed; the member may reopen it."),
    )


class OrganizationSearchSelect(AutocompleteSelect):
    """Select2 search over the unions a concern may be handed to (directory data, not only
    the user's own): `concern` names it in the URL."""

    def __init__(self, field, admin_site, *, concern: Concern | None = None, **kwargs):
        super().__init__(field, admin_site, **kwargs)
        self.concern = concern

    def get_url(self):
        url = reverse(f"{self.admin_site.name}:services_concern_organizations")
        return f"{url}?{urlencode({'concern': self.concern.pk})}" if self.concern else url


class HandOverForm(forms.Form):
    to_organization = forms.ModelChoiceField(
        label=_("Hand over to"),
        queryset=Organization.objects.filter(status=OrgStatus.ACTIVE),
        help_text=_(
            "A union of your own province or industry union, a union above yours, or a union "
            "in the member's own line, e.g. the industry union. Type part of its name to "
            "search. A union outside the member's own line does not see the member's name "
            "unless the member agreed."
        ),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown in the concern's history, also to the member."),
    )

    def __init__(self, *args, admin_site=None, concern: Concern | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["to_organization"]
        if concern is not None:
            field.queryset = hand_over_targets(concern)
            field.error_messages["invalid_choice"] = HAND_OVER_TARGETS
        if admin_site is not None:
            field.widget = OrganizationSearchSelect(
                Concern._meta.get_field("organization"), admin_site, concern=concern
            )
            field.widget.choices = field.choices
