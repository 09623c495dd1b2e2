"""The admin (/admin/) for union officers: entry by role, scoped pages, and no trace of B.

Union officers have is_staff=False; they enter the admin through their OrgRole grants.
Union A's admin must never see, pick or change sibling union B, while the officers above
both (hz_admin, zj_admin) do, which proves each URL really reaches B.
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from core.models import AuditEntry
from organizations import integrity
from organizations.models import Level, Organization, OrgRole, OrgStatus, Role
from tests.factories import OrganizationFactory, UserFactory, make_uscc

PASSWORD = "Pass-word-123"  # set by tests.factories.UserFactory
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
ORG_CHANGELIST = reverse("admin:organizations_organization_changelist")
ROLE_CHANGELIST = reverse("admin:organizations_orgrole_changelist")
AUTOCOMPLETE = reverse("admin:autocomplete")


def org_url(view, org=None) -> str:
    args = [] if org is None else [org.pk]
    return reverse(f"admin:organizations_organization_{view}", args=args)


def page(client, user, path, **params):
    client.force_login(user)
    return client.get(path, params, **ZH)


def body(response) -> str:
    return response.content.decode()


def row_counts() -> tuple[int, int, int]:
    return Organization.objects.count(), OrgRole.objects.count(), AuditEntry.objects.count()


def changelist_names(response) -> set[str]:
    assert response.status_code == 200
    return {str(obj) for obj in response.context["cl"].result_list}


def autocomplete(client, user, model_name, field_name, term=""):
    response = page(
        client,
        user,
        AUTOCOMPLETE,
        app_label="organizations",
        model_name=model_name,
        field_name=field_name,
        term=term,
    )
    assert response.status_code == 200
    return {row["text"] for row in response.json()["results"]}, body(response)


def change_form(org, **changes) -> dict:
    """The POST data of an organization's change form as it stands, with `changes`."""
    data = {
        "name": org.name,
        "short_name": org.short_name,
        "uscc": org.uscc,
        "region_code": org.region_code,
        "address": org.address,
        "contact_phone": org.contact_phone,
        "founded_on": org.founded_on or "",
        "_save": "保存",
    }
    data.update(changes)
    return data


def add_form(parent, **values) -> dict:
    data = {
        "name": "杭州戊制药有限公司工会",
        "short_name": "",
        "level": Level.GRASSROOTS,
        "parent": parent.pk,
        "uscc": make_uscc("330106"),
        "region_code": "330106",
        "address": "杭州市西湖区天目山路 8 号",
        "contact_phone": "",
        "founded_on": "",
        "_save": "保存",
    }
    data.update(values)
    return data


def second_county(tree) -> Organization:
    return OrganizationFactory(
        name="拱墅区总工会", level=Level.COUNTY, parent=tree.hz, region_code="330105"
    )


def move_node(client, user, cut_item, pasted_on):
    client.force_login(user)
    return client.post(
        ORG_CHANGELIST,
        {
            "cmd": "move_node",
            "cut_item": cut_item.pk,
            "pasted_on": pasted_on.pk,
            "position": "last-child",
        },
        **ZH,
    )


# --- Entering the admin ----------------------------------------------------------------


def test_union_officer_without_is_staff_logs_in_through_the_admin_form(client, officers):
    assert not officers.a_admin.is_staff

    response = client.post(
        reverse("admin:login"),
        {"username": "a_admin", "password": PASSWORD, "next": reverse("admin:index")},
        **ZH,
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index"), **ZH).status_code == 200


def test_user_without_a_role_cannot_log_in_to_the_admin(client, tree):
    UserFactory(username="no_role")

    response = client.post(
        reverse("admin:login"),
        {"username": "no_role", "password": PASSWORD, "next": reverse("admin:index")},
        **ZH,
    )

    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()["__all__"]
    assert [e.code for e in errors] == ["no_role"]
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


# --- The organization changelist ---------------------------------------------------------


def test_grassroots_changelist_shows_union_a_and_nothing_of_b_or_another_province(
    client, tree, officers
):
    response = page(client, officers.a_admin, ORG_CHANGELIST)

    assert changelist_names(response) == {tree.union_a.name, tree.group_a.name}
    html = body(response)
    assert tree.union_a.name in html
    for outsider in (tree.union_b, tree.xihu, tree.gd, tree.sz, tree.union_c):
        assert outsider.name not in html


def test_provincial_changelist_shows_its_province_and_not_another(client, tree, officers):
    response = page(client, officers.zj_admin, ORG_CHANGELIST)

    names = changelist_names(response)
    html = body(response)
    assert {tree.hz.name, tree.union_b.name} <= names
    assert "杭州" in html
    assert "广东省总工会" not in html
    assert "深圳" not in html


def test_searching_for_union_b_finds_nothing_for_union_a_admin(client, tree, officers):
    hidden = page(client, officers.a_admin, ORG_CHANGELIST, q="乙物流")
    found = page(client, officers.hz_admin, ORG_CHANGELIST, q="乙物流")

    assert changelist_names(hidden) == set()
    assert hidden.context["cl"].full_result_count == 2  # union A and its group
    assert changelist_names(found) == {tree.union_b.name}


OBJECT_PAGES_OF_B = [
    ("organization", "change"),
    ("organization", "history"),
    ("organization", "delete"),
    ("orgrole", "change"),
    ("orgrole", "history"),
    ("orgrole", "delete"),
    ("auditentry", "change"),
    ("auditentry", "history"),
]


def object_page_of_b(tree, model_name, view) -> str:
    """The admin URL of union B itself, of b_admin's grant in B, or of B's creation entry."""
    obj = {
        "organization": lambda: tree.union_b,
        "orgrole": lambda: OrgRole.objects.get(organization=tree.union_b),
        "auditentry": lambda: AuditEntry.objects.filter(organization=tree.union_b).earliest("pk"),
    }[model_name]()
    return reverse(f"admin:{obj._meta.app_label}_{model_name}_{view}", args=[obj.pk])


@pytest.mark.parametrize(("model_name", "view"), OBJECT_PAGES_OF_B)
def test_object_pages_of_union_b_do_not_exist_for_union_a_admin(
    client, tree, officers, model_name, view
):
    response = page(client, officers.a_admin, object_page_of_b(tree, model_name, view))

    if response.status_code == 302:
        assert response.url == reverse("admin:index")
    else:
        assert response.status_code == 404
    assert tree.union_b.name not in body(response)


@pytest.mark.parametrize(("model_name", "view"), OBJECT_PAGES_OF_B)
def test_object_pages_of_union_b_open_for_the_city_admin(client, tree, officers, model_name, view):
    response = page(client, officers.hz_admin, object_page_of_b(tree, model_name, view))

    assert response.status_code == 200


def test_posting_to_union_b_change_page_changes_nothing_for_union_a_admin(client, tree, officers):
    client.force_login(officers.a_admin)
    before = row_counts()

    response = client.post(
        org_url("change", tree.union_b), change_form(tree.union_b, address="A 改的地址"), **ZH
    )

    assert response.status_code in (302, 403, 404)
    assert row_counts() == before
    tree.union_b.refresh_from_db()
    assert tree.union_b.address == ""


def test_audit_log_of_union_a_admin_has_no_entries_of_union_b(client, tree, officers):
    response = page(client, officers.a_admin, reverse("admin:core_auditentry_changelist"))

    assert response.status_code == 200
    entries = list(response.context["cl"].result_list)
    assert entries
    assert {e.organization_id for e in entries} <= {tree.union_a.pk, tree.group_a.pk}
    assert tree.union_b.name not in body(response)


# --- No option of union B anywhere -------------------------------------------------------


def test_role_organization_autocomplete_offers_no_sibling(client, tree, officers):
    offered, raw = autocomplete(client, officers.a_admin, "orgrole", "organization", "杭州")

    assert offered == {tree.union_a.name}
    assert tree.union_b.name not in raw


def test_parent_autocomplete_offers_no_sibling(client, tree, officers):
    offered, raw = autocomplete(client, officers.a_admin, "organization", "parent", "杭州")
    everything, _ = autocomplete(client, officers.a_admin, "organization", "parent")

    assert offered == {tree.union_a.name}
    assert everything == {tree.union_a.name, tree.group_a.name}
    assert tree.union_b.name not in raw


def test_parent_autocomplete_offers_the_sibling_to_the_city_admin(client, tree, officers):
    offered, _ = autocomplete(client, officers.hz_admin, "organization", "parent", "杭州")

    assert {tree.union_a.name, tree.union_b.name} <= offered


def test_role_add_form_offers_no_sibling(client, tree, officers):
    response = page(client, officers.a_admin, reverse("admin:organizations_orgrole_add"))

    assert response.status_code == 200
    field = response.context["adminform"].form.fields["organization"]
    assert set(field.queryset) == {tree.union_a, tree.group_a}
    assert tree.union_b.name not in body(response)


def test_role_changelist_filter_lists_no_sibling(client, tree, officers, make_officer):
    # B holds grants (b_admin, and this staff member); A holds two organizations' grants,
    # so the organization filter has something to show.
    make_officer("b_staff", tree.union_b, Role.STAFF)
    make_officer("group_a_staff", tree.group_a, Role.STAFF)

    response = page(client, officers.a_admin, ROLE_CHANGELIST, _facets="True")

    assert response.status_code == 200
    roles = response.context["cl"].result_list
    assert {r.organization_id for r in roles} == {tree.union_a.pk, tree.group_a.pk}
    organization_filter = next(
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "field_path", None) == "organization"
    )
    assert {label for _pk, label in organization_filter.lookup_choices} == {
        tree.union_a.name,
        tree.group_a.name,
    }
    html = body(response)
    assert tree.group_a.name in html  # the filter is shown
    assert tree.union_b.name not in html
    assert "b_staff" not in html and "b_admin" not in html


def test_role_changelist_filtered_on_union_b_lists_nothing(client, tree, officers, make_officer):
    # Django ignores the parameter of a filter with a single choice; give it two.
    make_officer("group_a_staff", tree.group_a, Role.STAFF)

    response = page(
        client, officers.a_admin, ROLE_CHANGELIST, organization__id__exact=tree.union_b.pk
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert tree.union_b.name not in body(response)


def test_role_changelist_search_for_union_b_finds_nothing(client, tree, officers):
    response = page(client, officers.a_admin, ROLE_CHANGELIST, q="乙物流")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert "b_admin" not in body(response)


# --- Changing an organization ------------------------------------------------------------


def test_grassroots_admin_edits_its_address_with_an_audit_entry(client, tree, officers):
    client.force_login(officers.a_admin)

    response = client.post(
        org_url("change", tree.union_a),
        change_form(tree.union_a, address="杭州市西湖区学院路 77 号"),
        **ZH,
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    tree.union_a.refresh_from_db()
    assert tree.union_a.address == "杭州市西湖区学院路 77 号"
    entry = AuditEntry.objects.get(action="organization.update", object_id=str(tree.union_a.pk))
    assert entry.actor == officers.a_admin
    assert entry.changes == {"address": ["", "杭州市西湖区学院路 77 号"]}


def test_parent_and_level_are_read_only_for_the_grassroots_admin(client, tree, officers):
    response = page(client, officers.a_admin, org_url("change", tree.union_a))

    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    assert "parent" not in form_fields
    assert "level" not in form_fields
    assert "address" in form_fields


def test_posted_parent_and_level_are_ignored_for_the_grassroots_admin(client, tree, officers):
    client.force_login(officers.a_admin)

    response = client.post(
        org_url("change", tree.union_a),
        change_form(tree.union_a, parent=tree.union_b.pk, level=Level.TOWNSHIP, address="新地址"),
        **ZH,
    )

    assert response.status_code == 302
    tree.union_a.refresh_from_db()
    assert tree.union_a.parent == tree.xihu
    assert tree.union_a.level == Level.GRASSROOTS
    assert tree.union_a.address == "新地址"
    assert not AuditEntry.objects.filter(action="organization.move").exists()


def test_city_admin_adds_a_grassroots_union_under_a_county(client, tree, officers):
    client.force_login(officers.hz_admin)

    response = client.post(org_url("add"), add_form(tree.xihu), **ZH)

    assert response.status_code == 302, response.context and response.context["errors"]
    created = Organization.objects.get(name="杭州戊制药有限公司工会")
    assert created.parent == tree.xihu
    assert created.tree_id == tree.xihu.tree_id
    assert AuditEntry.objects.filter(
        action="organization.create", object_id=str(created.pk), actor=officers.hz_admin
    ).exists()
    assert all(report.ok for report in integrity.verify_all())


def test_city_level_under_a_grassroots_union_is_a_form_error(client, tree, officers):
    client.force_login(officers.hz_admin)
    before = row_counts()

    response = client.post(
        org_url("add"), add_form(tree.union_a, name="错位市总工会", level=Level.CITY), **ZH
    )

    assert response.status_code == 200
    assert "level" in response.context["adminform"].form.errors
    assert row_counts() == before


def test_adding_under_a_parent_outside_the_scope_is_a_form_error(client, tree, officers):
    client.force_login(officers.a_admin)
    before = row_counts()

    response = client.post(
        org_url("add"), add_form(tree.union_b, name="乙公司工会小组", level=Level.GROUP), **ZH
    )

    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    assert tree.union_b.name not in body(response)
    assert row_counts() == before


def test_viewer_sees_the_changelist_without_an_add_button(client, tree, officers):
    response = page(client, officers.zj_viewer, ORG_CHANGELIST)

    assert tree.union_a.name in changelist_names(response)
    assert response.context["has_add_permission"] is False
    assert org_url("add") not in body(response)


def test_viewer_cannot_change_an_organization(client, tree, officers):
    client.force_login(officers.zj_viewer)
    before = row_counts()

    response = client.post(
        org_url("change", tree.union_a), change_form(tree.union_a, address="观察员改的"), **ZH
    )

    assert response.status_code in (302, 403)
    assert row_counts() == before
    tree.union_a.refresh_from_db()
    assert tree.union_a.address == ""


# --- The dissolve action ----------------------------------------------------------------


def dissolve_action(client, user, *orgs):
    client.force_login(user)
    return client.post(
        ORG_CHANGELIST,
        {"action": "dissolve_selected", "_selected_action": [o.pk for o in orgs]},
        follow=True,
        **ZH,
    )


def statuses(*orgs) -> list[str]:
    return [Organization.objects.get(pk=o.pk).status for o in orgs]


def test_parent_admin_dissolves_union_b_through_the_action(client, tree, officers):
    response = dissolve_action(client, officers.hz_admin, tree.union_b)

    assert response.status_code == 200
    assert statuses(tree.union_b) == [OrgStatus.DISSOLVED]


def test_dissolving_its_own_union_is_refused_with_a_message(client, tree, officers):
    """Dissolving union A belongs to the county above it, not to A's own admin."""
    response = dissolve_action(client, officers.a_admin, tree.union_a)

    assert response.status_code == 200
    assert statuses(tree.union_a) == [OrgStatus.ACTIVE]
    assert any(tree.union_a.name in str(m) for m in response.context["messages"])


def test_one_refused_union_does_not_stop_the_others(client, tree, officers):
    response = dissolve_action(client, officers.zj_admin, tree.zj, tree.union_b)

    assert response.status_code == 200
    assert statuses(tree.zj, tree.union_b) == [OrgStatus.ACTIVE, OrgStatus.DISSOLVED]


def test_union_b_selected_by_union_a_admin_is_left_alone(client, tree, officers):
    dissolve_action(client, officers.a_admin, tree.union_b)

    assert statuses(tree.union_b) == [OrgStatus.ACTIVE]
    assert not AuditEntry.objects.filter(action="organization.dissolve").exists()


# --- Drag and drop -------------------------------------------------------------------------


def test_city_admin_drags_union_b_under_another_county(client, tree, officers):
    gongshu = second_county(tree)

    response = move_node(client, officers.hz_admin, tree.union_b, gongshu)

    assert body(response) == "OK"
    tree.union_b.refresh_from_db()
    assert tree.union_b.parent == gongshu
    assert all(report.ok for report in integrity.verify_all())


def test_grassroots_admin_cannot_drag_union_b(client, tree, officers):
    gongshu = second_county(tree)

    for pasted_on in (gongshu, tree.union_a):
        response = move_node(client, officers.a_admin, tree.union_b, pasted_on)

        assert body(response).startswith("FAIL")
    tree.union_b.refresh_from_db()
    assert tree.union_b.parent == tree.xihu
    assert not AuditEntry.objects.filter(action="organization.move").exists()


def test_grassroots_admin_cannot_drag_its_own_union(client, tree, officers):
    response = move_node(client, officers.a_admin, tree.union_a, tree.group_a)

    assert body(response).startswith("FAIL")
    tree.union_a.refresh_from_db()
    assert tree.union_a.parent == tree.xihu


def test_viewer_cannot_drag(client, tree, officers):
    gongshu = second_county(tree)

    response = move_node(client, officers.zj_viewer, tree.union_b, gongshu)

    assert body(response).startswith("FAIL")
    tree.union_b.refresh_from_db()
    assert tree.union_b.parent == tree.xihu


# --- Granting roles ------------------------------------------------------------------------


def grant_form(org, **values) -> dict:
    data = {
        "username": "new_officer",
        "full_name": "王五",
        "email": "wangwu@example.com",
        "password": "Zhe-Jiang-2024-safe",
        "organization": org.pk,
        "role": Role.ADMIN,
        "_save": "保存",
    }
    data.update(values)
    return data


def test_provincial_admin_grants_a_role_to_a_new_officer_account(client, tree, officers):
    client.force_login(officers.zj_admin)

    response = client.post(reverse("admin:organizations_orgrole_add"), grant_form(tree.hz), **ZH)

    assert response.status_code == 302, response.context and response.context["errors"]
    user = get_user_model().objects.get(username="new_officer")
    assert user.check_password("Zhe-Jiang-2024-safe")
    assert not user.is_staff
    grant = OrgRole.objects.get(user=user)
    assert (grant.organization, grant.role, grant.granted_by) == (
        tree.hz,
        Role.ADMIN,
        officers.zj_admin,
    )
    assert AuditEntry.objects.filter(
        action="role.grant", object_id=str(grant.pk), actor=officers.zj_admin
    ).exists()


def test_a_new_account_without_a_password_is_a_form_error(client, tree, officers):
    client.force_login(officers.zj_admin)
    before = row_counts()

    response = client.post(
        reverse("admin:organizations_orgrole_add"), grant_form(tree.hz, password=""), **ZH
    )

    assert response.status_code == 200
    assert "password" in response.context["adminform"].form.errors
    assert row_counts() == before
    assert not get_user_model().objects.filter(username="new_officer").exists()


def test_a_role_outside_the_scope_cannot_be_granted(client, tree, officers):
    client.force_login(officers.a_admin)
    before = row_counts()

    response = client.post(
        reverse("admin:organizations_orgrole_add"), grant_form(tree.union_b), **ZH
    )

    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert tree.union_b.name not in body(response)
    assert row_counts() == before


def test_role_of_an_existing_officer_is_granted_without_a_password(client, tree, officers):
    client.force_login(officers.zj_admin)

    response = client.post(
        reverse("admin:organizations_orgrole_add"),
        grant_form(tree.hz, username="a_staff", password="", role=Role.VIEWER),
        **ZH,
    )

    assert response.status_code == 302
    assert OrgRole.objects.filter(
        user=officers.a_staff, organization=tree.hz, role=Role.VIEWER
    ).exists()
