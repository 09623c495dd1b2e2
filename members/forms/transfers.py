"""Forms for transfers: the member's request, the admin's start form, refusals, retention."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from organizations import scope
from organizations.models import Level, Organization, OrgStatus

from ..actions import transfers
from ..models import CURRENT_STATUSES, Member, Transfer, TransferSide
from ..selectors import member_record_unions


def _by_code_or_number(queryset, value: str) -> Organization | None:
    """An organization of `queryset` named by its credit code or its directory number."""
    value = (value or "").strip().upper()
    if len(value) == 18:
        return queryset.filter(uscc=value).first()
    if value.isdigit() and len(value) <= 18:
        return queryset.filter(pk=int(value)).first()
    return None


def find_target_union(value: str) -> Organization:
    """Any active grassroots union nationwide (public directory data), by credit code or id."""
    union = _by_code_or_number(
        Organization.objects.filter(level=Level.GRASSROOTS, status=OrgStatus.ACTIVE), value
    )
    if union is None:
        raise ValidationError(
            _(
                "No active grassroots union has this credit code or number. Look it up in "
                "the union directory."
            ),
            code="unknown_union",
        )
    return union


class TransferRequestForm(forms.Form):
    """The member confirms a transfer request to a union found in the directory."""

    new_employer = forms.CharField(
        label=_("New employer (work unit)"),
        max_length=200,
        required=False,
        help_text=_("Where you work now, if you changed jobs."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: I changed jobs, or I moved to another city."),
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for refusal"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the member and the other union."),
    )

    def __init__(self, *args, sides=(), **kwargs):
        super().__init__(*args, **kwargs)
        sides = list(sides)
        if len(sides) > 1:
            self.fields["side"] = forms.ChoiceField(
                label=_("Refuse on behalf of"),
                choices=[(s, TransferSide(s).label) for s in sides],
            )
        self.sides = sides

    def clean(self):
        cleaned = super().clean()
        if "side" not in self.fields:
            if not self.sides:
                raise ValidationError(_("You cannot refuse this transfer."))
            cleaned["side"] = self.sides[0]
        return cleaned


class TransferStartForm(forms.Form):
    """Start a transfer in the admin: the sending union picks one of its members, or the
    receiving union names a worker by ID number and exact name."""

    MODE_CHOICES = [
        (TransferSide.SENDING, _("Send one of our members to another union")),
        (TransferSide.RECEIVING, _("Receive a member of another union into ours")),
    ]

    mode = forms.ChoiceField(
        label=_("Transfer"), choices=MODE_CHOICES, widget=forms.RadioSelect, initial="sending"
    )
    member = forms.ModelChoiceField(
        label=_("Member"),
        queryset=Member.objects.none(),
        required=False,
        help_text=_("Sending: one of your union's current members."),
    )
    target = forms.CharField(
        label=_("Receiving union"),
        max_length=32,
        required=False,
        help_text=_(
            "Sending: the receiving union's unified social credit code, or its number "
            "from the union directory (the number in its page address)."
        ),
    )
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Receiving: the worker's ID number."),
    )
    name = forms.CharField(
        label=pgettext_lazy("person", "Name"),
        required=False,
        help_text=_("Receiving: the name exactly as on the ID card."),
    )
    own_union = forms.ModelChoiceField(
        label=_("Our union"),
        queryset=Organization.objects.none(),
        required=False,
        help_text=_("Receiving: the union the member joins."),
    )
    new_employer = forms.CharField(
        label=_("New employer (work unit)"), max_length=200, required=False
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, user, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["member"].queryset = (
            scope.filter_queryset(
                user,
                Member.objects.filter(deleted_at__isnull=True, status__in=CURRENT_STATUSES),
                scope.Access.PERSONAL,
            )
            .filter(scope.org_q(user, scope.Access.CHANGE, "organization__"))
            .select_related("organization")
        )
        if admin_site is not None:
            # Searched in the (scoped) member admin, so a large union needs no huge list.
            field = self.fields["member"]
            field.widget = AutocompleteSelect(Transfer._meta.get_field("member"), admin_site)
            field.widget.choices = field.choices
        unions = member_record_unions(user)
        self.fields["own_union"].queryset = unions
        if len(unions) == 1:
            self.fields["own_union"].initial = unions[0].pk

    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("mode")
        if mode == TransferSide.SENDING:
            if not cleaned.get("member") and "member" not in self.errors:
                self.add_error("member", _("Choose the member."))
            try:
                cleaned["to_organization"] = find_target_union(cleaned.get("target", ""))
            except ValidationError as error:
                self.add_error("target", error)
            self.transfer_member = cleaned.get("member")
        elif mode == TransferSide.RECEIVING:
            own = cleaned.get("own_union")
            if own is None and "own_union" not in self.errors:
                self.add_error("own_union", _("Choose your union."))
            cleaned["to_organization"] = own
            if not cleaned.get("id_number"):
                self.add_error("id_number", _("Enter the ID number."))
            if not cleaned.get("name", "").strip():
                self.add_error("name", _("Enter the name as written on the ID card."))
            if not self.errors:
                try:
                    member = transfers.find_member_for_receiving(
                        id_number=cleaned["id_number"], name=cleaned["name"]
                    )
                except ValidationError as error:
                    for message in error.message_dict.get("id_number", error.messages):
                        self.add_error("id_number", message)
                    member = None
                else:
                    if member is None:
                        self.add_error(
                            "id_number",
                            _("No current member has this ID number and this name."),
                        )
                self.transfer_member = member
        return cleaned


class RetainForm(forms.Form):
    """Park a membership as retained at a township federation or designated union."""

    keeper = forms.CharField(
        label=_("Keep the membership at"),
        max_length=32,
        help_text=_(
            "The unified social credit code, or the number from the union directory, of a "
            "township or subdistrict federation or of a union designated to keep retained "
            "memberships."
        ),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_keeper(self):
        keepers = Organization.objects.filter(status=OrgStatus.ACTIVE).filter(
            Q(level=Level.TOWNSHIP) | Q(keeps_retained_members=True)
        )
        keeper = _by_code_or_number(keepers, self.cleaned_data["keeper"])
        if keeper is None:
            raise ValidationError(
                _(
                    "No active township or subdistrict federation or designated union has "
                    "this credit code or number."
                ),
                code="unknown_union",
            )
        return keeper
