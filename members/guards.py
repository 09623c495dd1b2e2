"""Checks that other apps' actions consult (registered from MembersConfig.ready)."""

from django.utils.translation import gettext as _

from .models import CURRENT_STATUSES, Member


def union_has_current_members(org) -> str | None:
    count = Member.objects.filter(
        organization=org, status__in=CURRENT_STATUSES, deleted_at__isnull=True
    ).count()
    if count:
        return _("%(n)d members still belong to it; transfer them first.") % {"n": count}
    return None
