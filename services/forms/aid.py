"""Forms of hardship aid: the application (portal and admin) and the step forms."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..actions.aid import APPLICATION_FIELDS, DISBURSEMENT_METHODS
from ..models import AidCase, AidTier

MONEY = {"min_value": 0, "max_digits": 10, "decimal_places": 2}


class ApplicationForm(forms.ModelForm):
    """What the household tells the union; the flow sets everything else."""

    class Meta:
        model = AidCase
        fields = list(APPLICATION_FIELDS)
        widgets = {"situation": forms.Textarea(attrs={"rows": 5})}
        help_texts = {
            "situation": _(
                "Describe the household's situation: who lives in it, income, illness or "
                "other causes, and what help is needed."
            ),
            "household_monthly_income": _("All members of the household together, per month."),
        }

    def validate_unique(self):
        pass  # the action checks the one-case-a-year rule with a plain message


class OpenCaseForm(ApplicationForm):
    """An aid officer opens a case for a member named by membership number."""

    membership_number = forms.CharField(
        label=_("membership number"),
        max_length=32,
        help_text=_("The member's number, as on the membership card."),
    )

    class Meta(ApplicationForm.Meta):
        fields = ["membership_number", *APPLICATION_FIELDS]


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[
            ("accept", _("Accept: arrange the home visit")),
            ("reject", _("Reject the application")),
        ],
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("note or reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when you reject: the member is told the application failed."),
    )


class VisitForm(forms.Form):
    visited_on = forms.DateField(label=_("date of the visit"), initial=timezone.localdate)
    visitors = forms.CharField(label=_("visitors"), max_length=500)
    text = forms.CharField(
        label=_("visit record"), max_length=4000, widget=forms.Textarea(attrs={"rows": 6})
    )


class ApproveForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    amount = forms.DecimalField(label=_("amount approved (yuan)"), required=False, **MONEY)
    tier = forms.ChoiceField(label=_("tier confirmed"), choices=AidTier.choices, required=False)
    text = forms.CharField(
        label=_("note or reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class NoticeForm(forms.Form):
    pass  # one button: the dates come from the configured number of days


class ResolveForm(forms.Form):
    objection = forms.TypedChoiceField(label=_("objection"), coerce=int)
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[
            ("dismiss", _("Dismiss: the notice starts again")),
            ("uphold", _("Uphold: the case is rejected")),
        ],
        widget=forms.RadioSelect,
    )
    resolution = forms.CharField(
        label=_("resolution"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, objections=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objection"].choices = [
            (o.pk, f"{timezone.localtime(o.created_at):%Y-%m-%d %H:%M} · {o.text[:80]}")
            for o in objections
        ]


class DisburseForm(forms.Form):
    amount = forms.DecimalField(
        label=_("amount paid (yuan)"),
        required=False,
        help_text=_("Empty: the amount approved."),
        **MONEY,
    )
    method = forms.ChoiceField(label=_("paid by"), choices=list(DISBURSEMENT_METHODS.items()))
    reference = forms.CharField(
        label=_("payment reference"),
        required=False,
        max_length=200,
        help_text=_("e.g. the bank transfer number or the receipt number."),
    )


class YearlyReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[
            ("continue", _("Continue: open next year's case")),
            ("close", _("Close: aid ends")),
        ],
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("review record"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )


class ObjectionForm(forms.Form):
    text = forms.CharField(
        label=_("your objection"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Say what you know that speaks against this case. Only aid officers read it."),
    )
