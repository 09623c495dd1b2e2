from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Level, Organization


def province_choices():
    rows = (
        Organization.objects.filter(level=Level.PROVINCIAL, tree_parent__isnull=True)
        .exclude(region_code="")
        .order_by("region_code")
        .values_list("region_code", "short_name", "name")
    )
    return [("", _("All regions"))] + [(code, short or name) for code, short, name in rows]


class DirectorySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Union name"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(
            attrs={
                "placeholder": _("Name, pinyin or initials, e.g. 杭州 / hangzhou / hz"),
                "autocomplete": "off",
                "enterkeyhint": "search",
            }
        ),
    )
    region = forms.ChoiceField(label=_("Region"), required=False)
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", _("All levels")), *Level.choices]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = province_choices()

    def has_criteria(self) -> bool:
        return any(self.cleaned_data.get(k) for k in ("q", "region", "level"))
