"""The scope policy: which organizations and rows a user reaches, and for what.

A user's reach is the union of the subtrees of their `OrgRole` grants. Each grant covers
its organization's MPTT range (`tree_id`, `lft`..`rght`) plus every tree whose root hangs
below that range across trees (so a grant at the national federation covers every
provincial and industry tree). Outside its scope an object does not exist: lookups raise
404, never 403.

Tenant-owned models declare where their organization is with a `tenant_path` class
attribute (e.g. ``"organization"``, or a tuple of paths for a row that belongs to several
organizations at once, like a transfer); `Organization` itself has the empty path.

Plain Django and the ORM only: the admin, the API and the portal adapt this module in
their own modules beside it, so a task or a selector can use the policy without them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from ..models import LEVEL_RANK, Level, Organization, OrgRole, Role

_CACHE_ATTR = "_unionhub_scope_grants"


class Access(enum.StrEnum):
    VIEW = "view"  # organization records and aggregated figures
    HANDLE = "handle"  # staff work: requests, concerns, activities
    CHANGE = "change"  # manage the organizations and their records
    PERSONAL = "personal"  # members' personal data
    AID = "aid"  # hardship aid case details (a dedicated role, at any level)


ROLE_ACCESS: dict[str, frozenset[Access]] = {
    Role.ADMIN: frozenset({Access.VIEW, Access.HANDLE, Access.CHANGE, Access.PERSONAL}),
    Role.STAFF: frozenset({Access.VIEW, Access.HANDLE, Access.PERSONAL}),
    Role.VIEWER: frozenset({Access.VIEW}),
    Role.AID: frozenset({Access.VIEW, Access.AID}),
}

# Levels at which a grant reaches members' personal data by default. Above grassroots,
# officers see aggregates only (see DESIGN.md, "Tenancy").
PERSONAL_DATA_LEVELS = frozenset({Level.GRASSROOTS, Level.GROUP})

# Django model permissions each role holds in the admin. Other apps add theirs from their
# AppConfig.ready() with `register_role_permissions`.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.ADMIN: {
        "organizations.view_organization",
        "organizations.add_organization",
        "organizations.change_organization",
        "organizations.delete_organization",
        "organizations.view_orgrole",
        "organizations.add_orgrole",
        "organizations.change_orgrole",
        "organizations.delete_orgrole",
        "organizations.view_unionimport",
    },
    Role.STAFF: {"organizations.view_organization"},
    Role.VIEWER: {"organizations.view_organization"},
    Role.AID: {"organizations.view_organization"},
}


def register_role_permissions(role: str, perms: set[str]) -> None:
    ROLE_PERMISSIONS[role].update(perms)


@dataclass(frozen=True)
class Grant:
    org_id: int
    role: str
    level: str
    tree_id: int
    lft: int
    rght: int
    linked_tree_ids: tuple[int, ...]

    def allows(self, access: Access) -> bool:
        if access not in ROLE_ACCESS[self.role]:
            return False
        if access is Access.PERSONAL:
            return self.level in PERSONAL_DATA_LEVELS
        return True

    def covers(self, org: Organization) -> bool:
        if org.tree_id == self.tree_id:
            return self.lft <= org.lft <= self.rght
        return org.tree_id in self.linked_tree_ids

    def q(self, prefix: str) -> Q:
        q = Q(
            **{
                f"{prefix}tree_id": self.tree_id,
                f"{prefix}lft__gte": self.lft,
                f"{prefix}lft__lte": self.rght,
            }
        )
        if self.linked_tree_ids:
            q |= Q(**{f"{prefix}tree_id__in": self.linked_tree_ids})
        return q


def _linked_roots() -> list[tuple[int, int, int]]:
    """(tree id, parent's tree id, parent's lft) of every tree hanging below another tree."""
    return list(
        Organization.objects.filter(tree_parent__isnull=True, parent__isnull=False).values_list(
            "tree_id", "parent__tree_id", "parent__lft"
        )
    )


def _linked_below(tree_id: int, lft: int, rght: int, linked) -> tuple[int, ...]:
    return tuple(
        sorted(
            t
            for t, parent_tree, parent_lft in linked
            if parent_tree == tree_id and lft <= parent_lft <= rght
        )
    )


def subtree_q(org: Organization, prefix: str = "") -> Q:
    """Rows whose organization (at `prefix`) lies in `org`'s subtree, the trees hanging
    below it included (the provinces under the national federation)."""
    grant = Grant(
        org_id=org.pk,
        role=Role.VIEWER,
        level=org.level,
        tree_id=org.tree_id,
        lft=org.lft,
        rght=org.rght,
        linked_tree_ids=_linked_below(org.tree_id, org.lft, org.rght, _linked_roots()),
    )
    return grant.q(prefix)


def reaches_personal_data(org: Organization, other: Organization) -> bool:
    """Whether officers of `org` reach the personal data of the members of `other`."""
    return (
        org.level in PERSONAL_DATA_LEVELS
        and org.tree_id == other.tree_id
        and org.lft <= other.lft <= org.rght
    )


def grants(user) -> tuple[Grant, ...]:
    """The user's grants with the current tree positions, cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return ()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    rows = list(
        OrgRole.objects.filter(user=user).values_list(
            "organization_id",
            "role",
            "organization__level",
            "organization__tree_id",
            "organization__lft",
            "organization__rght",
        )
    )
    # Roots of trees linked below another tree (provinces under the national federation).
    linked = _linked_roots() if rows else []
    result = tuple(
        Grant(
            org_id=org_id,
            role=role,
            level=level,
            tree_id=tree_id,
            lft=lft,
            rght=rght,
            linked_tree_ids=_linked_below(tree_id, lft, rght, linked),
        )
        for org_id, role, level, tree_id, lft, rght in rows
    )
    setattr(user, _CACHE_ATTR, result)
    return result


def forget(user) -> None:
    """Drop the cached grants (after the user's roles or the tree changed)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_operator(user) -> bool:
    """Superusers operate the platform; they are not union officers but see everything."""
    return bool(getattr(user, "is_superuser", False) and user.is_active)


def is_union_officer(user) -> bool:
    return bool(grants(user))


def org_q(user, access: Access, prefix: str = "") -> Q:
    """A filter selecting the organizations (at `prefix`) the user may reach for `access`."""
    if is_operator(user):
        return Q()
    q = Q(pk__in=[])
    for grant in grants(user):
        if grant.allows(access):
            q |= grant.q(prefix)
    return q


def served_q(user, field: str, *accesses: Access) -> Q:
    """A filter selecting the rows whose union (at `field`, e.g. "organization") is one where
    the user holds a grant allowing every one of `accesses`: the unions whose own work waits
    on the user (their to-do), not the unions below them, which have officers of their own.
    Operators hold no grants and serve no union here."""
    ids = sorted({g.org_id for g in grants(user) if all(g.allows(a) for a in accesses)})
    return Q(**{f"{field}__in": ids})


def organizations(user, access: Access = Access.VIEW) -> QuerySet[Organization]:
    return Organization.objects.filter(org_q(user, access))


def _statistics_grants(user) -> list[Grant]:
    """The grants that show aggregated figures: the one "sees statistics" rule. A grant
    that may view, held above grassroots level (where grants reach personal data instead)."""
    return [
        g for g in grants(user) if g.allows(Access.VIEW) and g.level not in PERSONAL_DATA_LEVELS
    ]


def statistics_q(user, prefix: str = "") -> Q:
    """The organizations whose aggregated figures the user sees on the dashboards: the
    subtrees of the grants held above grassroots level (never personal data)."""
    if is_operator(user):
        return Q()
    q = Q(pk__in=[])
    for grant in _statistics_grants(user):
        q |= grant.q(prefix)
    return q


def has_statistics(user) -> bool:
    """Whether the user sees any dashboard (a grant above grassroots level, or an operator)."""
    return is_operator(user) or bool(_statistics_grants(user))


def statistics_organizations(user) -> QuerySet[Organization]:
    return Organization.objects.filter(statistics_q(user))


def statistics_home(user) -> Organization | None:
    """Where the user's dashboard opens: the highest organization of their statistics grants."""
    if is_operator(user):
        return Organization.objects.filter(level=Level.NATIONAL).first()
    ids = [g.org_id for g in _statistics_grants(user)]
    orgs = Organization.objects.filter(pk__in=ids)
    return min(orgs, key=lambda org: (LEVEL_RANK[org.level], org.depth, org.pk), default=None)


def tenant_paths(model: type[Model]) -> tuple[str, ...]:
    """Where a model's organization is; a row with several (a transfer) belongs to each."""
    if issubclass(model, Organization):
        return ("",)
    path = getattr(model, "tenant_path", None)
    if path is None:
        raise TypeError(f"{model.__name__} declares no tenant_path; it cannot be scoped.")
    return (path,) if isinstance(path, str) else tuple(path)


def tenant_q(user, access: Access, model: type[Model]) -> Q:
    """A filter selecting the rows of `model` the user may reach for `access`."""
    if is_operator(user):
        return Q()
    q = Q(pk__in=[])
    for path in tenant_paths(model):
        q |= org_q(user, access, f"{path}__" if path else "")
    return q


def filter_queryset(user, queryset: QuerySet, access: Access = Access.VIEW) -> QuerySet:
    """Restrict a queryset of a tenant-owned model to the user's scope for `access`."""
    return queryset.filter(tenant_q(user, access, queryset.model))


def tenants_of(obj: Model) -> list[Organization]:
    if isinstance(obj, Organization):
        return [obj]
    result = []
    for path in tenant_paths(type(obj)):
        org = obj
        for step in path.split("__"):
            org = getattr(org, step) if org is not None else None
        if org is not None:
            result.append(org)
    return result


def can(user, access: Access, obj: Model) -> bool:
    """Whether the user reaches `obj` (an organization or a tenant-owned row) for `access`."""
    if is_operator(user):
        return True
    orgs = tenants_of(obj)
    return any(g.allows(access) and g.covers(org) for g in grants(user) for org in orgs)


def get_object_or_404(user, queryset: QuerySet, access: Access = Access.VIEW, **lookup):
    """The object if it exists within the user's scope for `access`; otherwise 404."""
    try:
        return filter_queryset(user, queryset, access).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404(_("Not found.")) from None


def role_permissions(user) -> set[str]:
    perms: set[str] = set()
    for grant in grants(user):
        perms |= ROLE_PERMISSIONS[grant.role]
    return perms
