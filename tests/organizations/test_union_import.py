"""Union import (issue 20): a file checked whole, then written as one bulk operation per tree."""

from __future__ import annotations

import io

import pytest
from django.db import connection

from core.models import AuditEntry
from core.spreadsheets import write_csv, write_xlsx
from organizations import counters, integrity, rollups, statkeys
from organizations.actions import dissolve_organization
from organizations.actions.imports import ImportRefused, import_unions
from organizations.importing.checker import check
from organizations.importing.columns import HEADERS
from organizations.models import Level, Organization
from tests.factories import OrganizationFactory, make_uscc

pytestmark = pytest.mark.django_db


def union_row(**cells) -> dict:
    return {"级别": "基层工会", "行政区划代码": "330106", **cells}


def csv_file(rows: list[dict], *, encoding="utf-8") -> tuple[io.BytesIO, str]:
    content = write_csv(HEADERS, [[row.get(h, "") for h in HEADERS] for row in rows])
    if encoding != "utf-8":
        content = content.decode("utf-8-sig").encode(encoding)
    return io.BytesIO(content), "unions.csv"


def checked(tree, rows, *, under=None, user=None, encoding="utf-8"):
    file, name = csv_file(rows, encoding=encoding)
    return check(file, name, under=under or tree.zj, acting_user=user)


def snapshot() -> tuple:
    """Every union row and the audit count: what "nothing written" compares."""
    rows = list(Organization.objects.order_by("pk").values_list())
    return rows, AuditEntry.objects.count()


def descendants_by_cte(org: Organization) -> set[int]:
    """The subtree by the logical parent links (recursive CTE), to compare with MPTT's."""
    table = Organization._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE sub(id) AS (SELECT id FROM {table} WHERE parent_id = %s "
            f"UNION ALL SELECT o.id FROM {table} o JOIN sub ON o.parent_id = sub.id) "
            "SELECT id FROM sub",
            [org.pk],
        )
        return {pk for (pk,) in cursor.fetchall()}


def assert_consistent(*orgs: Organization) -> None:
    for report in integrity.verify_all():
        assert report.ok, report.problems
    for org in orgs:
        org.refresh_from_db()
        mptt = set(org.get_descendants().values_list("pk", flat=True))
        assert mptt == descendants_by_cte(org)
    assert not counters.verify().wrong
    rollups.fold()
    assert not rollups.verify().wrong


def test_children_before_parents_in_one_bulk_write(tree):
    city, county = make_uscc("330100"), make_uscc("330108")
    rows = [
        union_row(名称="滨江示范科技有限公司工会", 上级工会统一社会信用代码=county, 职工人数="120"),
        union_row(名称="滨江示范工会小组", 级别="工会小组", 上级工会编号="G1"),
        union_row(
            名称="滨江区总工会",
            级别="县级总工会",
            统一社会信用代码=county,
            上级工会统一社会信用代码=city,
            行政区划代码="330108",
        ),
        union_row(
            名称="示范市总工会",
            级别="地市级总工会",
            统一社会信用代码=city,
            上级工会编号=str(tree.zj.pk),
            行政区划代码="330100",
        ),
        union_row(编号="G1", 名称="滨江二厂工会", 上级工会统一社会信用代码=county),
    ]
    other_province = list(
        Organization.objects.filter(tree_id=tree.gd.tree_id).values_list("pk", "lft", "rght")
    )
    plan = checked(tree, rows)
    assert plan.errors == []
    assert plan.counts()["create"] == 5

    result = import_unions(plan=plan)

    assert result["create"] == 5 and len(result["created_ids"]) == 5
    county_org = Organization.objects.get(uscc=county)
    assert county_org.parent.uscc == city and county_org.tree_id == tree.zj.tree_id
    group = Organization.objects.get(name="滨江示范工会小组")
    assert group.parent.name == "滨江二厂工会" and group.level == Level.GROUP
    assert group.name_initials == "bjsfghxz"
    assert_consistent(tree.zj)
    assert counters.values(county_org.parent) == {statkeys.UNITS(Level.CITY): 1}
    assert rollups.totals(county_org)[statkeys.EMPLOYEES] == 120
    # Another province's rows are neither moved nor rewritten.
    assert other_province == list(
        Organization.objects.filter(tree_id=tree.gd.tree_id).values_list("pk", "lft", "rght")
    )
    entry = AuditEntry.objects.get(action="organization.import")
    assert entry.changes["create"] == 5
    assert sorted(entry.changes["created_ids"]) == sorted(result["created_ids"])


def test_new_unions_under_several_existing_parents_shift_each_tree_once(tree):
    rows = [
        union_row(名称=f"新基层{i}工会", 上级工会编号=str(parent.pk))
        for i, parent in enumerate([tree.xihu, tree.hz, tree.xihu, tree.zj], start=1)
        if parent.level != Level.PROVINCIAL
    ]
    rows.append(union_row(名称="新县级总工会", 级别="县级总工会", 上级工会编号=str(tree.hz.pk)))
    rows.append(union_row(名称="新县小组", 级别="工会小组", 上级工会编号=str(tree.union_a.pk)))
    plan = checked(tree, rows)
    assert plan.errors == []
    import_unions(plan=plan)
    assert_consistent(tree.zj, tree.hz, tree.xihu, tree.union_a)
    assert tree.union_a.get_children().count() == 2


def test_gb18030_file_and_full_width_lower_case_codes(tree):
    code = make_uscc("330106")
    spelled = code.lower().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    rows = [
        union_row(名称="全角代码工会", 统一社会信用代码=spelled, 上级工会编号=str(tree.xihu.pk)),
    ]
    plan = checked(tree, rows, encoding="gb18030")
    assert plan.errors == []
    import_unions(plan=plan)
    assert Organization.objects.get(name="全角代码工会").uscc == code


def errors_of(plan) -> set[tuple[int, str]]:
    return {(e["row"], e["column"]) for e in plan.errors}


def test_every_bad_row_is_named_and_nothing_is_written(tree):
    dissolved = Organization.objects.create(
        name="已撤销街道总工会", level=Level.TOWNSHIP, parent=tree.xihu, tree_parent=tree.xihu
    )
    dissolve_organization(organization=dissolved)
    taken = tree.union_c.uscc or make_uscc("440305")
    Organization.objects.filter(pk=tree.union_c.pk).update(uscc=taken)
    good = make_uscc("330106")
    valid = make_uscc("330106")
    bad_check = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    rows = [
        union_row(名称="好工会", 统一社会信用代码=good, 上级工会编号=str(tree.xihu.pk)),  # 2
        union_row(名称="无上级工会", 上级工会编号="NOPE"),  # 3 unknown parent
        union_row(名称="越界工会", 上级工会编号=str(tree.sz.pk)),  # 4 outside scope
        union_row(编号="C1", 名称="循环一", 级别="县级总工会", 上级工会编号="C2"),  # 5 cycle
        union_row(编号="C2", 名称="循环二", 级别="县级总工会", 上级工会编号="C1"),  # 6 cycle
        union_row(名称="级别倒挂", 级别="地市级总工会", 上级工会编号=str(tree.xihu.pk)),  # 7
        union_row(名称="基层下基层", 上级工会编号=str(tree.union_a.pk)),  # 8
        union_row(名称="撤销下新建", 上级工会编号=str(dissolved.pk)),  # 9
        union_row(名称="重复代码", 统一社会信用代码=good.lower(), 上级工会编号=str(tree.xihu.pk)),
        union_row(名称="外省代码", 统一社会信用代码=taken, 上级工会编号=str(tree.xihu.pk)),  # 11
        union_row(名称="校验错", 统一社会信用代码=bad_check, 上级工会编号=str(tree.xihu.pk)),
        union_row(名称="区划错", 行政区划代码="339999", 上级工会编号=str(tree.xihu.pk)),  # 13
        union_row(名称="表情😀工会", 上级工会编号=str(tree.xihu.pk)),  # 14
        union_row(名称="反向\u202e工会", 上级工会编号=str(tree.xihu.pk)),  # 15
        union_row(名称="控制\x07工会", 上级工会编号=str(tree.xihu.pk)),  # 16
        union_row(名称="未知级别", 级别="大工会", 上级工会编号=str(tree.xihu.pk)),  # 17
    ]
    before = snapshot()
    plan = checked(tree, rows)
    assert errors_of(plan) == {
        (3, "上级工会编号"),
        (4, "上级工会编号"),
        (5, "上级工会统一社会信用代码"),
        (6, "上级工会统一社会信用代码"),
        (7, "级别"),
        (8, "级别"),
        (9, "上级工会统一社会信用代码"),
        (10, "统一社会信用代码"),
        (11, "统一社会信用代码"),
        (12, "统一社会信用代码"),
        (13, "行政区划代码"),
        (14, "名称"),
        (15, "名称"),
        (16, "名称"),
        (17, "级别"),
    }
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]) for e in plan.errors)
    with pytest.raises(ImportRefused):
        import_unions(plan=plan)
    assert snapshot() == before


def test_a_union_added_after_the_check_is_caught_inside_the_transaction(tree):
    code = make_uscc("330106")
    plan = checked(
        tree, [union_row(名称="后来者", 统一社会信用代码=code, 上级工会编号=str(tree.xihu.pk))]
    )
    assert plan.errors == []
    Organization.objects.create(
        name="抢先一步", level=Level.GRASSROOTS, parent=tree.sz, tree_parent=tree.sz, uscc=code
    )
    before = snapshot()
    with pytest.raises(ImportRefused):
        import_unions(plan=plan)
    assert snapshot() == before
    assert plan.errors and plan.errors[0]["row"] == 2


def test_the_same_file_again_creates_nothing_and_a_changed_row_updates(tree):
    codes = [make_uscc("330106") for _ in range(3)]
    rows = [
        union_row(
            编号="P",
            名称="重导街道总工会",
            级别="乡镇（街道）总工会",
            上级工会编号=str(tree.xihu.pk),
        ),
        union_row(名称="重导一", 统一社会信用代码=codes[0], 上级工会编号="P", 职工人数="10"),
        union_row(名称="重导二", 统一社会信用代码=codes[1], 上级工会编号="P"),
        union_row(名称="重导三", 统一社会信用代码=codes[2], 上级工会编号=str(tree.xihu.pk)),
    ]
    import_unions(plan=checked(tree, rows))
    street = Organization.objects.get(name="重导街道总工会")
    count = Organization.objects.count()

    # Exported numbers (ids) make the same file match: nothing new, nothing changed.
    rows[0]["编号"] = str(street.pk)
    for row in rows[1:3]:
        row["上级工会编号"] = str(street.pk)
    again = checked(tree, rows)
    assert again.errors == [] and again.counts()["unchanged"] == 4
    import_unions(plan=again)
    assert Organization.objects.count() == count

    rows[1]["职工人数"] = "25"
    rows[3]["上级工会编号"] = str(street.pk)  # moves under the street federation
    changed = checked(tree, rows)
    assert changed.counts() == {"create": 0, "update": 2, "unchanged": 2, "moved": 1}
    import_unions(plan=changed)
    assert Organization.objects.get(uscc=codes[0]).employees == 25
    assert Organization.objects.get(uscc=codes[2]).parent == street
    assert Organization.objects.count() == count
    assert_consistent(tree.zj, street)


def test_officer_outside_the_subtree_is_refused(tree, make_officer):
    officer = make_officer("county_officer", tree.xihu)
    plan = checked(tree, [union_row(名称="越权工会", 上级工会编号=str(tree.xihu.pk))], user=officer)
    assert plan.errors and plan.errors[0]["row"] is None
    inside = checked(
        tree,
        [union_row(名称="本区工会", 上级工会编号=str(tree.xihu.pk))],
        under=tree.xihu,
        user=officer,
    )
    assert inside.errors == []
    import_unions(plan=inside, acting_user=officer)
    assert Organization.objects.get(name="本区工会").parent == tree.xihu


def test_damaged_workbook_is_refused_with_a_message(tree):
    plan = check(io.BytesIO(b"PK\x03\x04 not really a zip"), "unions.xlsx", under=tree.zj)
    assert plan.errors and plan.errors[0]["row"] is None and plan.rows == []


def test_xlsx_file_is_read(tree):
    content = write_xlsx(
        HEADERS,
        [[union_row(名称="表格工会", 上级工会编号=str(tree.xihu.pk)).get(h, "") for h in HEADERS]],
    )
    plan = check(io.BytesIO(content), "unions.xlsx", under=tree.zj)
    assert plan.errors == [] and plan.rows[0].data["name"] == "表格工会"


def test_command_reports_bad_rows_and_imports_a_good_file(tree, tmp_path):
    from django.core.management import CommandError, call_command

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_file([union_row(名称="无上级", 上级工会编号="X9")])[0].getvalue())
    report = tmp_path / "report.csv"
    before = snapshot()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_unions", str(bad), under=str(tree.zj.pk), report=str(report))
    assert snapshot() == before
    assert "上级工会编号" in report.read_bytes().decode("utf-8-sig")

    good = tmp_path / "good.csv"
    good.write_bytes(
        csv_file([union_row(名称="命令行工会", 上级工会编号=str(tree.xihu.pk))])[0].getvalue()
    )
    out = io.StringIO()
    call_command("import_unions", str(good), under=tree.zj.uscc or str(tree.zj.pk), stdout=out)
    assert "1 created" in out.getvalue()
    assert Organization.objects.get(name="命令行工会").parent == tree.xihu


def test_a_numeric_label_that_is_another_unions_id_is_refused_not_overwritten(tree):
    plan = checked(
        tree,
        [union_row(编号=str(tree.union_a.pk), 名称="新工会", 上级工会编号=str(tree.xihu.pk))],
    )
    assert errors_of(plan) == {(2, "编号")}
    assert tree.union_a.name in plan.errors[0]["message"]


def test_the_same_file_again_matches_unions_without_a_code_by_name_under_their_parent(tree):
    rows = [
        union_row(
            编号="T",
            名称="示范街道总工会",
            级别="乡镇（街道）总工会",
            上级工会编号=str(tree.xihu.pk),
        ),
        union_row(编号="U", 名称="示范社区联合工会", 上级工会编号="T"),
        union_row(名称="示范社区工会小组", 级别="工会小组", 上级工会编号="U"),
    ]
    import_unions(plan=checked(tree, rows))
    count = Organization.objects.count()
    again = checked(tree, rows)
    assert again.errors == []
    assert again.counts()["create"] == 0 and again.counts()["unchanged"] == 3
    import_unions(plan=again)
    assert Organization.objects.count() == count


def test_moves_change_parent_links_and_renumber_the_tree_once(tree, monkeypatch):
    """Two unions move (a county with its unions to another city, a grassroots union to
    another county): no per-union shift (move_organization is not called), the tree, the
    MPTT/CTE subtrees, counters and roll-ups exact, one audit entry per move."""
    from organizations.actions import imports

    nb = OrganizationFactory(name="宁波市总工会", level=Level.CITY, parent=tree.zj)
    yz = OrganizationFactory(name="鄞州区总工会", level=Level.COUNTY, parent=nb)
    rows = [
        union_row(
            编号=str(tree.xihu.pk), 名称=tree.xihu.name, 级别="县级总工会", 上级工会编号=str(nb.pk)
        ),
        union_row(
            编号=str(tree.union_b.pk),
            名称=tree.union_b.name,
            统一社会信用代码=tree.union_b.uscc,
            上级工会编号=str(yz.pk),
        ),
    ]
    plan = checked(tree, rows)
    assert plan.errors == [] and plan.counts()["moved"] == 2

    def refuse(**kwargs):
        raise AssertionError("moved one by one")

    monkeypatch.setattr(imports, "move_organization", refuse)
    moves = AuditEntry.objects.filter(action="organization.move").count()
    import_unions(plan=plan)
    tree.xihu.refresh_from_db()
    tree.union_b.refresh_from_db()
    assert tree.xihu.parent_id == nb.pk and tree.union_b.parent_id == yz.pk
    tree.union_a.refresh_from_db()
    assert tree.union_a.get_ancestors().filter(pk=nb.pk).exists()
    assert AuditEntry.objects.filter(action="organization.move").count() == moves + 2
    assert_consistent(tree.zj, nb, tree.hz, tree.xihu, yz)
