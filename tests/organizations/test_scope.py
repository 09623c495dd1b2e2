"""The tenant scope package: one rule for who sees statistics, and the guarantees its
adapters give (see also tests/security/test_isolation_matrix.py)."""

import ast
from pathlib import Path

import pytest
from django.contrib import admin
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.permissions import AllowAny, IsAdminUser

from organizations import actions, scope
from organizations.models import Level, Organization, OrgRole, Role
from organizations.scope import policy
from reports import selectors
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
    assert set(selectors.FEDERATION_LEVELS) == set(Level.values) - scope.PERSONAL_DATA_LEVELS


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


# --- The admin adapter: one "not found outside the scope" ----------------------------------


class _OrgRoleRecordAdmin(scope.RecordAdminMixin, admin.ModelAdmin):
    """Not registered: a record page over a tenant-owned model, for the tests below."""


def _admin_request(user, method="get", **data):
    request = getattr(RequestFactory(), method)("/admin/", data)
    request.user = user
    return request


def test_the_admin_finds_an_object_in_scope_and_nothing_outside_it(tree, officers):
    model_admin = _OrgRoleRecordAdmin(OrgRole, admin.site)
    own = OrgRole.objects.get(user=officers.a_admin)
    sibling = OrgRole.objects.get(user=officers.b_admin)
    request = _admin_request(officers.a_admin)

    assert model_admin.object_or_404(request, own.pk) == own
    with pytest.raises(Http404):
        model_admin.object_or_404(request, sibling.pk)
    with pytest.raises(Http404):
        model_admin.object_or_404(request, "not-a-number")


def test_a_record_in_scope_without_permission_on_its_model_does_not_exist(tree, make_officer):
    # A viewer reaches union A's rows but holds no permission on roles at all: the record
    # page answers 404 (not 403), for reading and for posting alike.
    viewer = make_officer("xihu_viewer", tree.xihu, Role.VIEWER)
    model_admin = _OrgRoleRecordAdmin(OrgRole, admin.site)
    role = OrgRole.objects.get(user=viewer)
    assert scope.can(viewer, scope.Access.VIEW, role)

    for method in ("get", "post"):
        with pytest.raises(Http404):
            model_admin.change_view(_admin_request(viewer, method), str(role.pk))
    with pytest.raises(Http404):
        model_admin.history_view(_admin_request(viewer), str(role.pk))


def test_a_to_field_lookup_outside_the_scope_is_not_found_either(client, tree, officers):
    client.force_login(officers.a_admin)
    url = reverse("admin:organizations_organization_change", args=[tree.union_b.pk])

    response = client.get(url, {"_to_field": "id", "_popup": "1"})

    assert response.status_code == 404
    assert tree.union_b.name not in response.content.decode()


def test_every_scoped_admin_uses_the_one_not_found_check():
    # A private override with another meaning once shadowed the scope's own check; now only
    # the scope's admin adapter answers "not found" for an admin URL.
    checks = ("object_or_404", "_in_scope_or_404", "_get_obj_does_not_exist_redirect")
    adapters = {scope.ScopedAdminMixin, scope.RecordAdminMixin}
    for model, model_admin in admin.site._registry.items():
        if not (model is Organization or getattr(model, "tenant_path", None) is not None):
            continue
        assert isinstance(model_admin, scope.ScopedAdminMixin), model
        overriding = [
            klass.__qualname__
            for klass in type(model_admin).__mro__
            if klass not in adapters and any(name in vars(klass) for name in checks)
        ]
        assert overriding in ([], ["ModelAdmin"]), (model, overriding)


# --- The API adapter: the scope cannot be replaced -----------------------------------------


@pytest.mark.parametrize("name", ["get_queryset", "get_object", "get_permissions"])
def test_a_scoped_viewset_cannot_replace_how_it_finds_rows_or_checks_them(name):
    def unscoped(self, *args, **kwargs):
        return None

    with pytest.raises(TypeError, match=name):
        type("UnscopedViewSet", (scope.ScopedGenericViewSet,), {name: unscoped})
    with pytest.raises(TypeError, match=name):
        type("UnscopedModelViewSet", (scope.ScopedModelViewSet,), {name: unscoped})
    # Nor through a mixin placed before the scoped base.
    mixin = type("UnscopedMixin", (), {name: unscoped})
    with pytest.raises(TypeError, match=f"{name} \\(in UnscopedMixin\\)"):
        type("MixedViewSet", (mixin, scope.ScopedGenericViewSet), {})


def test_a_scoped_viewset_keeps_the_scoped_permission_and_may_add_to_it():
    with pytest.raises(TypeError, match="ScopedPermission"):
        type("OpenViewSet", (scope.ScopedGenericViewSet,), {"permission_classes": [AllowAny]})

    stricter = type(
        "StricterViewSet",
        (scope.ScopedGenericViewSet,),
        {"permission_classes": [scope.ScopedPermission, IsAdminUser]},
    )
    assert stricter.permission_classes == [scope.ScopedPermission, IsAdminUser]
