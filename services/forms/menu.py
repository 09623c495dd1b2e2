"""Forms of the service menu: the admin's service form, staff steps, and the portal's order,
cancel, rating and wish forms. Each form only collects input; the actions decide."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import add_action_errors
from members.models import EmploymentType
from organizations.models import Level

from ..actions import menu as actions
from ..models import Service, ServiceCategory

SERVICE_FORM_FIELDS = list(actions.SERVICE_FIELDS)


class AudienceFieldsMixin(forms.Form):
    audience_levels = forms.MultipleChoiceField(
        label=_("For members of unions at these levels"),
        choices=Level.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every level."),
    )
    audience_employment_types = forms.MultipleChoiceField(
        label=_("For these employment types"),
        choices=EmploymentType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: everyone."),
    )


class ServiceAdminForm(AudienceFieldsMixin, forms.ModelForm):
    """The admin's form; the action's own checks show next to the fields."""

    class Meta:
        model = Service
        fields = ["organization", *SERVICE_FORM_FIELDS, "audience_unions"]

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("organization") or (
            self.instance.organization if self.instance.pk else None
        )
        if org is None or self.errors:
            return cleaned
        data = {f: cleaned.get(f) for f in SERVICE_FORM_FIELDS if f in self.fields}
        current = Service.objects.get(pk=self.instance.pk) if self.instance.pk else None
        try:
            actions.clean_service(
                organization=org,
                data=data,
                audience_unions=cleaned.get("audience_unions") or [],
                service=current,
            )
        except ValidationError as error:
            add_action_errors(self, error)
        return cleaned


class ServiceFromWishForm(AudienceFieldsMixin, forms.ModelForm):
    """Staff answer a wish with a new service at the addressed union or one above it."""

    organization = forms.ModelChoiceField(
        label=_("Offered by"), queryset=None, help_text=_("The addressed union or one above it.")
    )
    publish = forms.BooleanField(
        label=_("Publish it now"),
        required=False,
        help_text=_("Otherwise it is saved as a draft to publish later."),
    )
    answer = forms.CharField(
        label=_("Answer to the members"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Empty: “Answered with the service …”."),
    )

    class Meta:
        model = Service
        fields = SERVICE_FORM_FIELDS

    def __init__(self, *args, organizations, stations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["station"].queryset = stations
        self.order_fields(["organization", *SERVICE_FORM_FIELDS, "publish", "answer"])

    def _post_clean(self):
        pass  # validated by the action, which knows the organization


class ResultForm(forms.Form):
    result = forms.CharField(
        label=_("What was done"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the member."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the member."),
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Confidential note"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the staff handling this request can read it."),
    )


class DeclineWishForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer to the members"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why the wish is declined; everyone who voted for it is told."),
    )


# --- Portal -----------------------------------------------------------------------------------


class OrderForm(forms.Form):
    note = forms.CharField(
        label=_("Note for the union (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example when you can be reached, or what you need exactly."),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why (optional)"), max_length=500, required=False)


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        coerce=int,
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("Comment (optional)"), max_length=500, required=False)


class WishForm(forms.Form):
    organization = forms.TypedChoiceField(label=_("Ask this union"), coerce=int)
    title = forms.CharField(
        label=_("What service do you want?"),
        max_length=120,
        help_text=_("In a few words, e.g. “Summer cooling supplies for outdoor workers”."),
    )
    category = forms.ChoiceField(
        label=_("Kind of service"), choices=ServiceCategory.choices, initial="other"
    )
    description = forms.CharField(
        label=_("Details (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, unions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.unions = {u.pk: u for u in unions}
        self.fields["organization"].choices = [(u.pk, u.name) for u in unions]
        if unions:
            self.fields["organization"].initial = unions[-1].pk

    def clean_organization(self):
        return self.unions[self.cleaned_data["organization"]]
