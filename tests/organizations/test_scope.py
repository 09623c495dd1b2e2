"""The tenant scope package: one rule for who sees statistics, and the guarantees its
adapters give (see also tests/security/test_isolation_matrix.py)."""

import ast
from pathlib import Path

import pytest

from organizations import actions, scope
from organizations.models import Level, Role
from organizations.scope import policy
from reports import figures
from tests.factories import UserFactory

# --- Who sees statistics -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("org_name", "role", "sees"),
    [
        ("zj", Role.VIEWER, True),
        ("xihu", Role.STAFF, True),
        ("xihu", Role.AID, True),
        ("union_a", Role.ADMIN, False),
        ("group_a", Role.VIEWER, False),
    ],
)
def test_dashboard_access_list_and_home_follow_one_statistics_rule(
    tree, make_officer, org_name, role, sees
):
    org = getattr(tree, org_name)
    user = make_officer(f"{org_name}_{role}", org, role)

    assert scope.has_statistics(user) is sees
    assert scope.statistics_organizations(user).filter(pk=org.pk).exists() is sees
    assert scope.statistics_home(user) == (org if sees else None)


def test_only_grants_above_grassroots_add_statistics(tree, make_officer):
    user = make_officer("two_grants", tree.union_c, Role.ADMIN)
    assert not scope.has_statistics(user)

    actions.grant_role(user=user, organization=tree.hz, role=Role.VIEWER)
    scope.forget(user)

    assert scope.has_statistics(user)
    assert scope.statistics_home(user) == tree.hz
    visible = set(scope.statistics_organizations(user))
    assert tree.union_a in visible
    assert tree.union_c not in visible


def test_an_operator_sees_every_statistic_and_starts_at_the_national_federation(tree):
    operator = UserFactory(username="operator", is_superuser=True)
    assert scope.has_statistics(operator)
    assert scope.statistics_home(operator) == tree.national
    assert scope.statistics_organizations(operator).count() == 10


def test_the_levels_with_dashboards_are_the_levels_whose_grants_see_statistics():
    # reports keeps snapshots for exactly the levels at which a grant shows figures.
    assert set(figures.FEDERATION_LEVELS) == set(Level.values) - scope.PERSONAL_DATA_LEVELS


# --- The package's layout ----------------------------------------------------------------


def _imported_modules(path) -> set[str]:
    """Every module a source file imports, relative ones spelled with their dots."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            sep = "" if base.endswith(".") else "."
            names.update(f"{base}{sep}{alias.name}" for alias in node.names)
    return names


def test_the_policy_imports_no_admin_api_or_openapi_layer():
    imported = _imported_modules(Path(policy.__file__))
    forbidden = (
        "django.contrib.admin",
        "rest_framework",
        "drf_spectacular",
        "organizations.openapi",
        "..openapi",
        ".admin",
        ".api",
        ".portal",
    )
    assert "..models" in imported  # the walk sees relative imports
    assert [name for name in imported if name.startswith(forbidden)] == []


def test_the_package_offers_the_policy_and_its_adapters_under_one_name():
    from organizations.scope import admin as scope_admin
    from organizations.scope import api as scope_api

    assert scope.can is policy.can
    assert scope.ScopedAdminMixin is scope_admin.ScopedAdminMixin
    assert scope.ScopedModelViewSet is scope_api.ScopedModelViewSet
    with pytest.raises(AttributeError):
        scope.no_such_name  # noqa: B018
