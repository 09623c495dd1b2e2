"""Read-only queries of the worker voice: scoped concern lists and how a member is named.

Names follow DESIGN.md: officers with personal-data access to the member's own union see
the name; everyone else sees the masked name, or "Anonymous worker" when the member asked
to hide it above their own union.
"""

from __future__ import annotations

from django.db.models import QuerySet

from organizations import scope

from ..actions.voice import ANONYMOUS
from ..models import Concern, ConcernStep


def concerns_for_staff(user, access: scope.Access = scope.Access.HANDLE) -> QuerySet[Concern]:
    """Concerns handled by, or raised in, the user's unions (and their subtrees)."""
    qs = Concern.objects.select_related("member", "origin", "organization")
    return scope.filter_queryset(user, qs, access)


def concerns_of_member(member) -> QuerySet[Concern]:
    """The member's own concerns, newest first."""
    return (
        Concern.objects.filter(member=member)
        .select_related("organization", "origin")
        .order_by("-created_at", "-pk")
    )


def history(concern: Concern) -> QuerySet[ConcernStep]:
    return concern.steps.select_related("from_organization", "to_organization").order_by("at", "pk")


def member_label(concern: Concern, user) -> str:
    """The member as `user` may see them on this concern."""
    if scope.can(user, scope.Access.PERSONAL, concern.origin):
        return concern.member.name
    if concern.hide_name:
        return str(ANONYMOUS)
    return concern.member.masked_name
