"""The admin's announcement form: it collects input, the action checks it."""

from django import forms
from django.core.exceptions import ValidationError

from core.forms import add_action_errors

from ..actions import announcements as actions
from ..models import Announcement
from .menu import AudienceFieldsMixin


class AnnouncementAdminForm(AudienceFieldsMixin, forms.ModelForm):
    class Meta:
        model = Announcement
        fields = [
            "organization",
            "title",
            "body",
            "audience_levels",
            "audience_employment_types",
            "audience_unions",
        ]

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("organization") or (
            self.instance.organization if self.instance.pk else None
        )
        if org is None:
            return cleaned
        try:
            actions.clean_announcement(
                organization=org,
                title=cleaned.get("title"),
                body=cleaned.get("body"),
                levels=cleaned.get("audience_levels"),
                employment_types=cleaned.get("audience_employment_types"),
                unions=cleaned.get("audience_unions") or [],
            )
        except ValidationError as error:
            add_action_errors(self, error)
        return cleaned
