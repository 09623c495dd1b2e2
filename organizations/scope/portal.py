"""The portal adapter of the scope: a member's own rows.

A member's portal login reaches only their own records (DESIGN.md, "Tenancy"). Member-owned
models declare the path from a row to the owner's login with an `owner_path` class
attribute (e.g. ``"member__user"``), as tenant-owned models declare `tenant_path`; a model
that declares none cannot be looked up as anybody's own. Anybody else's row does not exist:
404, never 403.
"""

from __future__ import annotations

from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _


def owner_path(model: type[Model]) -> str:
    """Where a member-owned model's owner (a user) is."""
    path = getattr(model, "owner_path", None)
    if not path:
        raise TypeError(f"{model.__name__} declares no owner_path; it has no owner to look up.")
    return path


def owner_q(user, model: type[Model]) -> Q:
    """A filter selecting the rows of `model` that belong to `user` (none for a visitor)."""
    path = owner_path(model)
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    return Q(**{path: user})


def own_object_or_404(user, queryset: QuerySet, **lookup):
    """The user's own row of `queryset` matching `lookup`; anybody else's (or none) is 404."""
    own = queryset.filter(owner_q(user, queryset.model))  # refuses a model with no owner
    try:
        return own.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404(_("Not found.")) from None
