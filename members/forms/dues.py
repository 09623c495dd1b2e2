"""Forms for dues: the wage base, payments, monthly generation, payroll upload, the split."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import add_action_errors

from .. import amounts
from ..actions import dues, payroll
from ..actions.permissions import require_wage_admin
from ..models import Member, PaymentMethod
from ..selectors import dues as selectors


class MonthInput(forms.TextInput):
    input_type = "month"

    def format_value(self, value):
        if isinstance(value, datetime.date):
            return value.strftime("%Y-%m")
        return super().format_value(value)


class MonthField(forms.Field):
    """A month typed as YYYY-MM; cleaned to its first day."""

    widget = MonthInput

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("For example 2025-01."))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.date):
            return value.replace(day=1)
        try:
            return selectors.parse_month(str(value))
        except ValidationError:
            raise ValidationError(
                _("Give the month as YYYY-MM, e.g. 2025-01."), code="invalid"
            ) from None


def this_month() -> datetime.date:
    return selectors.current_period()


class WageBaseForm(forms.Form):
    """The restricted wage base of one member; `save` goes through `set_wage_base`.

    Show it only to users for whom `can_change_wage_base(user, member)` is true.
    """

    wage_base = forms.DecimalField(
        label=_("monthly wage base (yuan)"),
        required=False,
        min_value=0,
        max_value=amounts.MAX_WAGE_BASE,
        max_digits=12,
        decimal_places=2,
        help_text=_("Dues are 0.5 percent of it each month. Leave empty if unknown."),
    )

    def __init__(self, *args, member: Member | None = None, **kwargs):
        if member is not None and "initial" not in kwargs:
            kwargs["initial"] = {"wage_base": member.wage_base}
        super().__init__(*args, **kwargs)
        self.member = member

    def save(self, *, acting_user) -> Member | None:
        """Write the cleaned value through `set_wage_base`; on a ValidationError the errors
        land on the form and None is returned. PermissionDenied propagates."""
        try:
            return dues.set_wage_base(
                member=self.member,
                wage_base=self.cleaned_data.get("wage_base"),
                acting_user=acting_user,
            )
        except ValidationError as error:
            add_action_errors(self, error)
            return None


def can_change_wage_base(user, member: Member) -> bool:
    """Whether `user` may see and change `member`'s wage base."""
    try:
        require_wage_admin(user, member.organization)
    except PermissionDenied:
        return False
    return True


class PaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("amount (yuan)"), min_value=Decimal("0.01"), max_digits=10, decimal_places=2
    )
    paid_on = forms.DateField(
        label=_("paid on"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    method = forms.ChoiceField(label=_("payment method"), choices=PaymentMethod.choices)


class FullPaymentForm(forms.Form):
    """For recording the selected records as paid in full today."""

    method = forms.ChoiceField(label=_("payment method"), choices=PaymentMethod.choices)


class _UnionMonthForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("union"), queryset=None)
    period = MonthField(label=_("month"), initial=this_month)

    def __init__(self, *args, unions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = unions
        if unions.count() == 1 and not self.is_bound:
            self.fields["organization"].initial = unions.first()


class GenerateDuesForm(_UnionMonthForm):
    pass


class DuesSplitForm(_UnionMonthForm):
    pass


class PayrollUploadForm(_UnionMonthForm):
    file = forms.FileField(
        label=_("payroll file"),
        help_text=_(
            "An .xlsx or .csv file with the columns of the template: 会员编号 or 身份证号, "
            "月工资, and optionally 实缴金额, 缴费日期, 缴费方式."
        ),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        if not file.name.lower().endswith((".xlsx", ".csv")):
            raise ValidationError(_("Upload an .xlsx or .csv file."), code="file_type")
        if file.size > payroll.MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is larger than 20 MB; split it into several files."), code="file_size"
            )
        return file
