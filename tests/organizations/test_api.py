"""The organizations API (/api/v1/organizations/): scope, isolation and the tree rules.

Union A's officers stand for any grassroots tenant; union B, A's sibling under the same
county, is the tenant they must never see or change.
"""

import json
from html.parser import HTMLParser

import pytest

from core.models import AuditEntry
from organizations import integrity, scope
from organizations.models import Level, Organization, OrgStatus
from tests.factories import OrganizationFactory, make_token, make_uscc

API = "/api/v1/organizations/"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def url(org=None, action=None) -> str:
    path = API if org is None else f"{API}{org.pk}/"
    return f"{path}{action}/" if action else path


def send(client, method, path, body=None):
    """A JSON request in Chinese, as a browser or app of a union officer sends it."""
    data = json.dumps(body) if body is not None else ""
    if method in ("get", "head"):
        return getattr(client, method)(path, **ZH)
    return getattr(client, method)(path, data, content_type="application/json", **ZH)


def post(client, path, body):
    return send(client, "post", path, body)


def patch(client, path, body):
    return send(client, "patch", path, body)


def listed_names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def row_counts() -> tuple[int, int]:
    """Organizations and audit entries: neither may change when a write is refused."""
    return Organization.objects.count(), AuditEntry.objects.count()


def grassroots_payload(**overrides) -> dict:
    payload = {
        "name": "杭州丁餐饮有限公司工会",
        "level": Level.GRASSROOTS,
        "region_code": "330106",
        "uscc": make_uscc("330106"),
        "address": "杭州市西湖区文三路 1 号",
    }
    payload.update(overrides)
    return payload


class Ref:
    """A value of the `tree` fixture in a parametrized body (params exist before the tree)."""

    def __init__(self, org: str, attr: str = "pk"):
        self.org, self.attr = org, attr

    def resolve(self, tree):
        return getattr(getattr(tree, self.org), self.attr)


def resolved(body: dict | None, tree) -> dict | None:
    if body is None:
        return None
    return {k: v.resolve(tree) if isinstance(v, Ref) else v for k, v in body.items()}


def second_county(tree) -> Organization:
    return OrganizationFactory(
        name="拱墅区总工会", level=Level.COUNTY, parent=tree.hz, region_code="330105"
    )


# --- Listing ---------------------------------------------------------------------------


def test_grassroots_admin_lists_only_its_own_union_and_group(client, tree, officers):
    client.force_login(officers.a_admin)

    names = listed_names(client.get(API))

    assert names == {tree.union_a.name, tree.group_a.name}


def test_provincial_admin_lists_its_province_subtree_only(client, tree, officers):
    client.force_login(officers.zj_admin)

    names = listed_names(client.get(API))

    assert names == {
        tree.zj.name,
        tree.hz.name,
        tree.xihu.name,
        tree.union_a.name,
        tree.group_a.name,
        tree.union_b.name,
    }


def test_national_admin_lists_every_tree(client, tree, officers):
    client.force_login(officers.national_admin)

    names = listed_names(client.get(API))

    assert names == set(Organization.objects.values_list("name", flat=True))
    assert {tree.national.name, tree.gd.name, tree.union_c.name} <= names


def test_listing_filtered_by_parent_stays_in_scope(client, tree, officers):
    client.force_login(officers.a_admin)

    names = listed_names(client.get(API, {"parent": tree.xihu.pk}))

    assert names == {tree.union_a.name}


# --- Sibling isolation -------------------------------------------------------------------


SIBLING_REQUESTS = [
    pytest.param("get", None, None, id="detail"),
    pytest.param("patch", None, {"address": "改掉的地址"}, id="update"),
    pytest.param("put", None, {"name": "改名", "level": Level.GRASSROOTS}, id="replace"),
    pytest.param("delete", None, None, id="delete"),
    pytest.param("get", "children", None, id="children-list"),
    pytest.param("post", "children", {"name": "新工会小组", "level": Level.GROUP}, id="children"),
    pytest.param("post", "move", {"parent": Ref("union_a")}, id="move"),
    pytest.param("post", "dissolve", None, id="dissolve"),
    pytest.param("get", "ancestors", None, id="ancestors"),
]


@pytest.mark.parametrize(("method", "action", "body"), SIBLING_REQUESTS)
def test_sibling_admin_gets_404_for_every_endpoint_of_union_b(
    client, tree, officers, method, action, body
):
    client.force_login(officers.a_admin)
    before = row_counts()
    b_before = Organization.objects.get(pk=tree.union_b.pk)

    response = send(client, method, url(tree.union_b, action), resolved(body, tree))

    assert response.status_code == 404
    assert tree.union_b.name not in response.content.decode()
    assert row_counts() == before
    b_after = Organization.objects.get(pk=tree.union_b.pk)
    assert (b_after.parent_id, b_after.status, b_after.address, b_after.name) == (
        b_before.parent_id,
        b_before.status,
        b_before.address,
        b_before.name,
    )


def test_union_b_is_absent_from_search_results_of_union_a_admin(client, tree, officers):
    client.force_login(officers.a_admin)

    response = client.get(API, {"search": "乙物流"})

    assert listed_names(response) == set()
    assert tree.union_b.name not in response.content.decode()


# --- Creating ----------------------------------------------------------------------------


def test_post_to_the_collection_is_refused_with_a_message(client, tree, officers):
    client.force_login(officers.hz_admin)
    before = row_counts()

    response = post(client, API, grassroots_payload())

    assert response.status_code == 405
    assert "children" in response.json()["detail"]
    assert row_counts() == before


def test_admin_creates_a_union_under_the_parent_in_the_url_never_the_body(client, tree, officers):
    client.force_login(officers.hz_admin)

    response = post(client, url(tree.xihu, "children"), grassroots_payload(parent=tree.gd.pk))

    assert response.status_code == 201, response.content
    created = Organization.objects.get(pk=response.json()["id"])
    assert created.parent == tree.xihu
    assert response.json()["parent"] == tree.xihu.pk
    assert created.tree_id == tree.xihu.tree_id
    assert AuditEntry.objects.filter(
        action="organization.create", object_id=str(created.pk), actor=officers.hz_admin
    ).exists()
    assert all(report.ok for report in integrity.verify_all())


def test_children_are_listed_within_scope(client, tree, officers):
    client.force_login(officers.hz_admin)

    names = listed_names(client.get(url(tree.xihu, "children")))

    assert names == {tree.union_a.name, tree.union_b.name}


_valid = make_uscc("330106")
# Well-formed, but its last character is not the check character of the first 17.
WRONG_CHECK_CHARACTER = _valid[:-1] + ("1" if _valid[-1] == "0" else "0")

INVALID_CHILDREN = [
    pytest.param(
        "union_a",
        {"level": Level.CITY, "name": "错位市总工会"},
        "level",
        id="city-under-grassroots",
    ),
    pytest.param("xihu", {"uscc": WRONG_CHECK_CHARACTER}, "uscc", id="bad-uscc-checksum"),
    pytest.param("xihu", {"uscc": Ref("union_a", "uscc")}, "uscc", id="duplicate-uscc"),
    pytest.param("xihu", {"region_code": "339999"}, "region_code", id="bad-region-code"),
    pytest.param("xihu", {"name": ""}, "name", id="blank-name"),
]


@pytest.mark.parametrize(("parent", "overrides", "field"), INVALID_CHILDREN)
def test_invalid_child_is_refused_with_field_errors_and_nothing_written(
    client, tree, officers, parent, overrides, field
):
    client.force_login(officers.hz_admin)
    before = row_counts()

    response = post(
        client,
        url(getattr(tree, parent), "children"),
        grassroots_payload(**resolved(overrides, tree)),
    )

    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert all(isinstance(m, str) and m for m in errors[field])
    assert row_counts() == before


@pytest.mark.parametrize(
    ("accept_language", "message"),
    [
        # DRF ships its zh-Hans catalogue, so these messages are certainly translated.
        (None, "该字段是必填项。"),  # LANGUAGE_CODE is zh-hans
        ("zh-hans", "该字段是必填项。"),
        ("en", "This field is required."),
    ],
)
def test_validation_messages_follow_the_request_language_chinese_by_default(
    client, tree, officers, accept_language, message
):
    client.force_login(officers.hz_admin)
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}

    response = client.post(
        url(tree.xihu, "children"),
        json.dumps({"level": Level.GRASSROOTS}),
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 400
    assert response.json()["name"] == [message]


def test_children_of_a_union_group_cannot_be_created(client, tree, officers):
    client.force_login(officers.a_admin)
    before = row_counts()

    response = post(
        client, url(tree.group_a, "children"), {"name": "小组下的小组", "level": Level.GROUP}
    )

    assert response.status_code == 400
    assert "level" in response.json()
    assert row_counts() == before


# --- Updating ----------------------------------------------------------------------------


def test_admin_updates_its_union_address_with_an_audit_entry(client, tree, officers):
    client.force_login(officers.a_admin)

    response = patch(client, url(tree.union_a), {"address": "杭州市西湖区学院路 77 号"})

    assert response.status_code == 200, response.content
    assert response.json()["address"] == "杭州市西湖区学院路 77 号"
    tree.union_a.refresh_from_db()
    assert tree.union_a.address == "杭州市西湖区学院路 77 号"
    entry = AuditEntry.objects.get(action="organization.update", object_id=str(tree.union_a.pk))
    assert entry.actor == officers.a_admin
    assert entry.changes["address"][1] == "杭州市西湖区学院路 77 号"


def test_patch_ignores_the_parent_in_the_body(client, tree, officers):
    client.force_login(officers.hz_admin)

    response = patch(client, url(tree.union_b), {"parent": tree.sz.pk, "address": "新地址"})

    assert response.status_code == 200
    tree.union_b.refresh_from_db()
    assert tree.union_b.parent == tree.xihu
    assert tree.union_b.address == "新地址"


def test_staff_cannot_update_its_own_union(client, tree, officers):
    client.force_login(officers.a_staff)
    before = row_counts()

    assert client.get(url(tree.union_a)).status_code == 200
    response = patch(client, url(tree.union_a), {"address": "员工改的地址"})

    assert response.status_code == 404
    assert row_counts() == before
    tree.union_a.refresh_from_db()
    assert tree.union_a.address == ""


def test_viewer_reads_but_cannot_update(client, tree, officers):
    client.force_login(officers.zj_viewer)

    read = client.get(url(tree.union_a))
    response = patch(client, url(tree.union_a), {"address": "观察员改的地址"})

    assert read.status_code == 200
    assert read.json()["name"] == tree.union_a.name
    assert response.status_code == 404
    tree.union_a.refresh_from_db()
    assert tree.union_a.address == ""


# --- Moving ------------------------------------------------------------------------------


def test_city_admin_moves_a_union_to_another_county_keeping_the_tree_valid(client, tree, officers):
    gongshu = second_county(tree)
    client.force_login(officers.hz_admin)

    response = post(client, url(tree.union_b, "move"), {"parent": gongshu.pk})

    assert response.status_code == 200, response.content
    assert response.json()["parent"] == gongshu.pk
    tree.union_b.refresh_from_db()
    assert tree.union_b.parent == gongshu
    assert tree.union_b.tree_parent == gongshu
    assert all(report.ok for report in integrity.verify_all())
    assert AuditEntry.objects.filter(
        action="organization.move", object_id=str(tree.union_b.pk)
    ).exists()


def test_moving_into_its_own_subtree_is_refused(client, tree, officers):
    client.force_login(officers.hz_admin)
    before = row_counts()

    response = post(client, url(tree.xihu, "move"), {"parent": tree.union_a.pk})

    assert response.status_code == 400
    assert "parent" in response.json()
    assert row_counts() == before
    tree.xihu.refresh_from_db()
    assert tree.xihu.parent == tree.hz


def test_moving_under_a_parent_outside_the_scope_is_refused(client, tree, officers):
    client.force_login(officers.hz_admin)
    before = row_counts()

    response = post(client, url(tree.union_b, "move"), {"parent": tree.gd.pk})

    assert response.status_code == 400
    assert "parent" in response.json()
    assert tree.gd.name not in response.content.decode()
    assert row_counts() == before
    tree.union_b.refresh_from_db()
    assert tree.union_b.parent == tree.xihu


def test_grassroots_admin_cannot_move_its_own_union(client, tree, officers):
    """The place of union A belongs to whoever manages its parent (the county)."""
    client.force_login(officers.a_admin)
    before = row_counts()

    response = post(client, url(tree.union_a, "move"), {"parent": tree.group_a.pk})

    assert response.status_code == 403
    assert row_counts() == before
    tree.union_a.refresh_from_db()
    assert tree.union_a.parent == tree.xihu


# --- Ancestors and dissolving ----------------------------------------------------------


def test_ancestors_run_from_the_national_federation_down_to_the_parent(client, tree, officers):
    client.force_login(officers.a_admin)

    response = client.get(url(tree.union_a, "ancestors"))

    assert response.status_code == 200
    assert [row["name"] for row in response.json()] == [
        "中华全国总工会",
        "浙江省总工会",
        "杭州市总工会",
        "西湖区总工会",
    ]


def test_parent_admin_dissolves_a_union_without_subordinates(client, tree, officers):
    client.force_login(officers.hz_admin)

    response = post(client, url(tree.union_b, "dissolve"), {})

    assert response.status_code == 200, response.content
    assert response.json() == {"status": OrgStatus.DISSOLVED}
    tree.union_b.refresh_from_db()
    assert tree.union_b.status == OrgStatus.DISSOLVED
    assert tree.union_b.dissolved_on is not None


def test_dissolving_a_federation_with_active_subordinates_is_refused(client, tree, officers):
    client.force_login(officers.hz_admin)
    before = row_counts()

    response = post(client, url(tree.xihu, "dissolve"), {})

    assert response.status_code == 400
    message = " ".join(response.json()["detail"])
    assert tree.xihu.name in message
    assert row_counts() == before
    tree.xihu.refresh_from_db()
    assert tree.xihu.status == OrgStatus.ACTIVE


def test_grassroots_admin_cannot_dissolve_its_own_union(client, tree, officers):
    client.force_login(officers.a_admin)

    response = post(client, url(tree.union_a, "dissolve"), {})

    assert response.status_code == 403
    tree.union_a.refresh_from_db()
    assert tree.union_a.status == OrgStatus.ACTIVE


# --- Authentication ----------------------------------------------------------------------


def test_token_authentication_lists_the_scope_of_the_token_owner(client, tree, officers):
    token = make_token(officers.a_admin)

    response = client.get(API, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert listed_names(response) == {tree.union_a.name, tree.group_a.name}


def test_a_wrong_token_is_rejected(client, tree, officers):
    response = client.get(API, HTTP_AUTHORIZATION="Bearer uhp_not-a-real-token")

    # Session authentication comes first and sends no WWW-Authenticate header, so DRF
    # answers 403 rather than 401.
    assert response.status_code == 403
    assert response.json()["detail"] == "令牌无效。"
    assert "results" not in response.json()


def test_anonymous_requests_are_rejected(client, tree):
    response = client.get(API, **ZH)

    assert response.status_code in (401, 403)
    assert "results" not in response.json()
    assert tree.union_a.name not in response.content.decode()


# --- Schema and docs ---------------------------------------------------------------------


def test_schema_is_an_openapi_3_document_with_the_organizations_endpoint(client, db):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/organizations/" in document["paths"]
    assert "/api/v1/organizations/{id}/children/" in document["paths"]


class _AssetCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def test_api_docs_load_every_asset_from_this_site(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    collector = _AssetCollector()
    collector.feed(html)
    assert collector.urls, "the docs page loads no assets at all"
    # Static files, and the page's own script (served apart from the page for the CSP).
    assert all(
        u.startswith("/static/") or u.startswith("/api/docs/?script") for u in collector.urls
    ), collector.urls
    assert client.get("/api/docs/?script=").status_code == 200
    assert "http://" not in html and "https://" not in html


# --- The scoped base viewset -----------------------------------------------------------


def test_a_scoped_viewset_cannot_replace_get_queryset():
    with pytest.raises(TypeError, match="get_queryset"):

        class UnscopedViewSet(scope.ScopedGenericViewSet):
            queryset = Organization.objects.all()

            def get_queryset(self):
                return Organization.objects.all()

    with pytest.raises(TypeError, match="get_queryset"):

        class UnscopedModelViewSet(scope.ScopedModelViewSet):
            def get_queryset(self):
                return Organization.objects.all()


def test_grassroots_admin_cannot_change_the_level_of_its_own_union(client, tree, officers):
    client.force_login(officers.a_admin)
    response = patch(client, url(tree.union_a), {"level": Level.TOWNSHIP})
    assert response.status_code == 403
    tree.union_a.refresh_from_db()
    assert tree.union_a.level == Level.GRASSROOTS
