"""Tenant scope: the one place that decides which organizations a user may see or change.

Every surface goes through this package: `policy` computes reach from the user's `OrgRole`
grants (and is all that tasks, selectors and actions need); `admin` scopes ModelAdmins
(`ScopedAdminMixin`, and `RecordAdminMixin` for read-only record pages); `api` is the base
of every scoped viewset (`ScopedGenericViewSet`, `ScopedModelViewSet`); `portal` finds a
member's own rows by their model's `owner_path` (`own_object_or_404`). Outside its scope
an object does not exist: 404, never 403.

Call sites use the package: ``from organizations import scope; scope.can(...)``. The admin
and API adapters are loaded on first use, so importing the policy does not import
`django.contrib.admin` or Django REST framework.
"""

from importlib import import_module

from .policy import (
    PERSONAL_DATA_LEVELS,
    ROLE_ACCESS,
    ROLE_PERMISSIONS,
    Access,
    Grant,
    can,
    filter_queryset,
    forget,
    get_object_or_404,
    grants,
    has_statistics,
    is_operator,
    is_union_officer,
    org_q,
    organizations,
    reaches_personal_data,
    register_role_permissions,
    role_permissions,
    served_q,
    statistics_home,
    statistics_organizations,
    statistics_q,
    subtree_q,
    tenant_paths,
    tenant_q,
    tenants_of,
)
from .portal import own_object_or_404, owner_path, owner_q

# Names of the adapters, with the module each lives in (imported when first asked for).
_ADAPTERS = {
    "ScopedAdminMixin": "admin",
    "RecordAdminMixin": "admin",
    "ScopedPermission": "api",
    "ScopedGenericViewSet": "api",
    "ScopedModelViewSet": "api",
    "TenantCreateMixin": "api",
}


def __getattr__(name: str):
    module = _ADAPTERS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "PERSONAL_DATA_LEVELS",
    "ROLE_ACCESS",
    "ROLE_PERMISSIONS",
    "Access",
    "Grant",
    "can",
    "filter_queryset",
    "forget",
    "get_object_or_404",
    "grants",
    "has_statistics",
    "is_operator",
    "is_union_officer",
    "org_q",
    "organizations",
    "reaches_personal_data",
    "served_q",
    "register_role_permissions",
    "role_permissions",
    "statistics_home",
    "statistics_organizations",
    "statistics_q",
    "subtree_q",
    "tenant_paths",
    "tenant_q",
    "tenants_of",
    "own_object_or_404",
    "owner_path",
    "owner_q",
    *_ADAPTERS,
]
