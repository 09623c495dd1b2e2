"""The tree's rules: every bad input is refused with a clear message and writes nothing."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from core.models import AuditEntry
from organizations import actions, integrity
from organizations.models import Level, Organization
from tests.conftest import tree_dump
from tests.factories import OrganizationFactory, make_uscc


@pytest.fixture
def unchanged(db):
    """Asserts that the wrapped block wrote no organization and no audit entry."""

    class Snapshot:
        def __enter__(self):
            self.before = (
                list(Organization.objects.order_by("pk").values()),
                AuditEntry.objects.count(),
            )
            return self

        def __exit__(self, *exc):
            after = (
                list(Organization.objects.order_by("pk").values()),
                AuditEntry.objects.count(),
            )
            assert after == self.before, "a refused change wrote to the database"
            return False

    return Snapshot


@pytest.fixture(autouse=True)
def english_messages():
    """Messages are compared in English here; one test below checks the Chinese default."""
    with translation.override("en"):
        yield


def test_users_read_the_rules_in_chinese_by_default(tree):
    with translation.override(settings.LANGUAGE_CODE), pytest.raises(ValidationError) as excinfo:
        OrganizationFactory(name="新工会", level=Level.CITY, parent=tree.union_a)
    assert messages_of(excinfo) == "基层工会下只能设立工会小组。"


def messages_of(excinfo) -> str:
    return " ".join(excinfo.value.messages)


def test_children_of_the_national_federation_root_their_own_trees(tree):
    assert tree.zj.tree_parent_id is None and tree.zj.parent_id == tree.national.pk
    assert len({tree.national.tree_id, tree.zj.tree_id, tree.gd.tree_id}) == 3
    assert tree.union_a.tree_id == tree.zj.tree_id
    assert all(r.ok for r in integrity.verify_all())


def test_tree_dump_after_inserts_and_a_move_across_provinces(tree):
    actions.move_organization(organization=tree.xihu, new_parent=tree.sz)
    orgs = Organization.objects.select_related("parent")
    assert tree_dump(orgs) == "\n".join(
        [
            "中华全国总工会 parent=- tree=1 depth=0 1-2",
            "浙江省总工会 parent=中华全国总工会 tree=2 depth=0 1-4",
            "杭州市总工会 parent=浙江省总工会 tree=2 depth=1 2-3",
            "广东省总工会 parent=中华全国总工会 tree=3 depth=0 1-14",
            "深圳市总工会 parent=广东省总工会 tree=3 depth=1 2-13",
            "深圳丙电子有限公司工会 parent=深圳市总工会 tree=3 depth=2 3-4",
            "西湖区总工会 parent=深圳市总工会 tree=3 depth=2 5-12",
            "杭州甲科技有限公司工会 parent=西湖区总工会 tree=3 depth=3 6-9",
            "甲公司研发部工会小组 parent=杭州甲科技有限公司工会 tree=3 depth=4 7-8",
            "杭州乙物流有限公司工会 parent=西湖区总工会 tree=3 depth=3 10-11",
        ]
    )


@pytest.mark.parametrize(
    ("parent_name", "level", "expected"),
    [
        ("union_a", Level.CITY, "Only union groups"),
        ("union_a", Level.GRASSROOTS, "Only union groups"),
        ("hz", Level.PROVINCIAL, "lower level than its parent"),
        ("hz", Level.CITY, "lower level than its parent"),
        ("group_a", Level.GROUP, "lower level than its parent"),
        ("zj", Level.NATIONAL, "only one national federation"),
    ],
)
def test_wrong_level_under_parent_is_refused(tree, unchanged, parent_name, level, expected):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        OrganizationFactory(name="新工会", level=level, parent=getattr(tree, parent_name))
    assert expected in messages_of(excinfo)
    assert "level" in excinfo.value.message_dict


def test_move_into_own_subtree_is_refused(tree, unchanged):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        actions.move_organization(organization=tree.hz, new_parent=tree.xihu)
    assert "own subtree" in messages_of(excinfo)


def test_move_onto_itself_is_refused(tree, unchanged):
    with unchanged(), pytest.raises(ValidationError):
        actions.move_organization(organization=tree.xihu, new_parent=tree.xihu)


def test_move_below_a_lower_level_is_refused(tree, unchanged):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        actions.move_organization(organization=tree.union_b, new_parent=tree.union_a)
    assert "Only union groups" in messages_of(excinfo)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("81330106MA2XXXXX", "18 digits"),  # too short
        ("81330106000000001X", "check character"),  # wrong check character
        ("81330106OOOOOOOOO1", "18 digits"),  # letter O is not allowed
    ],
)
def test_bad_credit_code_is_refused(tree, unchanged, code, expected):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        OrganizationFactory(name="新工会", level=Level.GRASSROOTS, parent=tree.xihu, uscc=code)
    assert "uscc" in excinfo.value.message_dict
    assert expected in messages_of(excinfo)


def test_duplicate_credit_code_is_refused(tree, unchanged):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        OrganizationFactory(
            name="新工会", level=Level.GRASSROOTS, parent=tree.xihu, uscc=tree.union_a.uscc
        )
    assert excinfo.value.message_dict["uscc"] == [
        "Another organization already uses this credit code."
    ]


def test_credit_code_is_normalised_to_capitals(tree):
    code = make_uscc("330106")
    org = OrganizationFactory(
        name="新工会", level=Level.GRASSROOTS, parent=tree.xihu, uscc=code.lower()
    )
    assert org.uscc == code


def test_empty_credit_codes_may_repeat(tree):
    for name in ("无法人资格工会一", "无法人资格工会二"):
        OrganizationFactory(name=name, level=Level.GRASSROOTS, parent=tree.xihu)
    assert Organization.objects.filter(uscc="").count() >= 2


@pytest.mark.parametrize("code", ["999999", "33010", "3301061", "330199"])
def test_unknown_region_code_is_refused(tree, unchanged, code):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        OrganizationFactory(
            name="新工会", level=Level.GRASSROOTS, parent=tree.xihu, region_code=code
        )
    assert "region_code" in excinfo.value.message_dict


def test_region_name_comes_from_the_division_table(tree):
    assert tree.xihu.region_name == "西湖区"
    assert tree.zj.region_name == "浙江省"


@pytest.mark.parametrize("phone", ["12345", "010-1234", "+1 650 253 0000"])
def test_bad_contact_phone_is_refused(tree, unchanged, phone):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        actions.update_organization(organization=tree.union_a, data={"contact_phone": phone})
    assert "contact_phone" in excinfo.value.message_dict


@pytest.mark.parametrize("phone", ["13800138000", "0571-87654321", "+86 571 8765 4321"])
def test_mainland_phones_are_accepted(tree, phone):
    org = actions.update_organization(organization=tree.union_a, data={"contact_phone": phone})
    assert org.contact_phone == phone


def test_dissolving_a_union_with_active_children_is_refused(tree, unchanged):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        actions.dissolve_organization(organization=tree.xihu)
    assert "2 active subordinate" in messages_of(excinfo)


def test_dissolve_guard_of_another_app_refuses(tree, unchanged, monkeypatch):
    def has_members(org):
        return "still has 3 active members" if org.pk == tree.union_b.pk else None

    monkeypatch.setattr(actions, "DISSOLVE_GUARDS", [has_members])
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        actions.dissolve_organization(organization=tree.union_b)
    assert "3 active members" in messages_of(excinfo)


def test_dissolving_a_leaf_union_is_recorded(tree):
    org = actions.dissolve_organization(organization=tree.union_b)
    assert org.status == "dissolved" and org.dissolved_on is not None
    assert AuditEntry.objects.filter(action="organization.dissolve", object_id=str(org.pk)).exists()


def test_nothing_can_be_added_under_a_dissolved_union(tree, unchanged):
    actions.dissolve_organization(organization=tree.union_b)
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        OrganizationFactory(name="小组", level=Level.GROUP, parent=tree.union_b)
    assert "dissolved" in messages_of(excinfo)


def test_level_change_must_fit_parent_and_children(tree, unchanged):
    with unchanged(), pytest.raises(ValidationError):
        # 杭州市 under 浙江 may not become a grassroots union: its county would be above it.
        actions.update_organization(organization=tree.hz, data={"level": Level.GRASSROOTS})


def test_there_is_only_one_national_federation(tree, unchanged):
    with unchanged(), pytest.raises(ValidationError):
        actions.create_national_federation(data={"name": "第二个全总"})


def test_the_national_federation_cannot_be_moved_or_deleted(tree, unchanged):
    with unchanged():
        with pytest.raises(ValidationError):
            actions.move_organization(organization=tree.national, new_parent=tree.zj)
        with pytest.raises(ValidationError):
            actions.delete_organization(organization=tree.national)


def test_deleting_a_union_with_children_is_refused(tree, unchanged):
    with unchanged(), pytest.raises(ValidationError) as excinfo:
        actions.delete_organization(organization=tree.union_a)
    assert "subordinate" in messages_of(excinfo)


def test_deleting_a_leaf_closes_the_gap(tree):
    actions.delete_organization(organization=tree.union_b)
    assert all(r.ok for r in integrity.verify_all())
    assert not Organization.objects.filter(pk=tree.union_b.pk).exists()


def _row_versions(tree_id):
    # On PostgreSQL every UPDATE writes a new row version with a new ctid, even when
    # the values stay the same: an unchanged ctid proves the row was not rewritten.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ctid::text FROM organizations_organization WHERE tree_id = %s", [tree_id]
        )
        return sorted(cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ctid is PostgreSQL's")
def test_an_insert_in_one_province_rewrites_no_row_of_another_province(tree):
    other = _row_versions(tree.gd.tree_id)
    own = _row_versions(tree.zj.tree_id)
    OrganizationFactory(name="新工会", level=Level.GRASSROOTS, parent=tree.xihu)
    assert _row_versions(tree.gd.tree_id) == other
    assert _row_versions(tree.zj.tree_id) != own  # the control: its own tree did shift


def test_check_tree_detects_and_repairs_corruption(tree, capsys):
    from django.core.management import call_command

    Organization.objects.filter(pk=tree.union_a.pk).update(lft=99)
    reports = {r.tree_id: r for r in integrity.verify_all()}
    assert not reports[tree.zj.tree_id].ok and reports[tree.gd.tree_id].ok
    with pytest.raises(SystemExit):
        call_command("check_tree")
    call_command("check_tree", "--repair")
    assert "repaired" in capsys.readouterr().out
    assert all(r.ok for r in integrity.verify_all())
