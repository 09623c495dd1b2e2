"""Union template and subtree export (issue 20): export → import round-trips unchanged."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation
from openpyxl import load_workbook

from organizations.actions import dissolve_organization
from organizations.importing.checker import UNCHANGED, UPDATE, check
from organizations.importing.columns import COLUMNS, HEADERS, OFFICER_HEADERS, level_label
from organizations.importing.export import export_subtree
from organizations.importing.template import template_xlsx
from organizations.models import Level, Organization
from tests.factories import OrganizationFactory, make_uscc

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x","y")'


def workbook(content: bytes):
    return load_workbook(io.BytesIO(content))


def validations(sheet) -> dict[str, tuple[list[str], str]]:
    """{header of the column: (drop-down values, cell range)} of a sheet's list validations."""
    headers = [c.value for c in sheet[1]]
    found = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        ranges = str(validation.sqref)
        column = "".join(ch for ch in ranges.split(":")[0] if ch.isalpha())
        index = ord(column) - ord("A")
        found[headers[index]] = (validation.formula1.strip('"').split(","), ranges)
    return found


def data_rows(content: bytes) -> dict[str, dict]:
    """The unions sheet as {名称: {header: value}}."""
    sheet = workbook(content)["工会"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    return {row[1]: dict(zip(HEADERS, row, strict=True)) for row in rows}


def checked(content: bytes, root):
    return check(io.BytesIO(content), "unions.xlsx", under=root)


# --- The template ----------------------------------------------------------------------------


def test_template_has_the_three_sheets_headers_and_drop_downs():
    book = workbook(template_xlsx())

    assert book.sheetnames == ["工会", "工会干部", "填写说明"]
    assert book.active.title == "工会"
    unions, officers = book["工会"], book["工会干部"]
    assert [c.value for c in unions[1]] == HEADERS
    assert unions.max_row == 1  # no example row: it would be imported
    assert [c.value for c in officers[1]] == OFFICER_HEADERS
    assert unions.freeze_panes == officers.freeze_panes == "A2"

    levels = [level_label(level) for level in Level if level != Level.NATIONAL]
    assert validations(unions) == {"级别": (levels, "G2:G200001")}
    assert validations(officers) == {"角色": (["管理员", "工作人员", "查看"], "D2:D200001")}

    # Codes, numbers and phones stay text (leading zeros, 18-character credit codes).
    text_columns = {
        c.value for c in unions[1] if unions.column_dimensions[c.column_letter].number_format == "@"
    }
    assert {"编号", "统一社会信用代码", "上级工会编号", "行政区划代码", "联系电话"} <= text_columns
    assert "名称" not in text_columns
    assert officers.column_dimensions["B"].number_format == "@"  # 手机号

    # Required columns are marked: their header is red and its comment says so.
    required = {c.header for c in COLUMNS if c.required}
    for cell in unions[1]:
        assert (cell.font.color is not None) == (cell.value in required), cell.value
        assert cell.comment.text.startswith("必填" if cell.value in required else "选填")


def test_template_instructions_are_in_chinese_and_list_every_column():
    with translation.override("en"):  # the file is Chinese whatever the officer's language
        book = workbook(template_xlsx())
    rows = list(book["填写说明"].iter_rows(values_only=True))

    assert rows[0] == ("列", "必填", "填写说明", "示例")
    listed = {row[0]: row for row in rows[1 : len(COLUMNS) + 1]}
    assert list(listed) == HEADERS
    assert listed["名称"][1:] == ("是", "工会全称。", "杭州云帆科技有限公司工会委员会")
    assert listed["简称"][1] == "否"
    assert "基层工会" in listed["级别"][2]
    text = "\n".join(str(v) for row in rows for v in row if v)
    for words in ("顺序任意", "编号", "确认", "不会被删除", "短信", "密码"):
        assert words in text, words
    rules = [row[2] for row in rows[len(COLUMNS) + 1 :] if row[2]]
    assert len(rules) >= 6
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in rule) for rule in rules)
    assert not any(rule.isascii() for rule in rules)


def test_empty_template_checks_as_a_file_without_rows(tree):
    plan = checked(template_xlsx(), tree.zj)

    assert plan.rows == []
    assert plan.errors == [{"row": None, "column": "", "message": "文件中没有工会数据行。"}]


# --- Export and round trip ---------------------------------------------------------------------


@pytest.fixture
def filled(tree):
    """The fixture tree under Zhejiang with every column used somewhere."""
    machinery = OrganizationFactory(
        name="中国机械冶金建材工会",
        short_name="机冶建材工会",
        level=Level.INDUSTRY,
        parent=tree.national,
        uscc=make_uscc("110000"),
    )
    street = OrganizationFactory(  # no credit code: its children name it by number
        name="西湖区北山街道总工会",
        short_name="北山街道工会",
        level=Level.TOWNSHIP,
        parent=tree.xihu,
        region_code="330106",
        address="杭州市西湖区北山街 1 号",
        contact_phone="0571-87000001",
    )
    factory = OrganizationFactory(
        name="杭州丁机械有限公司工会",
        short_name="丁机械工会",
        level=Level.GRASSROOTS,
        parent=street,
        uscc=make_uscc("330106"),
        region_code="330106",
        industry=machinery,
        employees=320,
        founded_on=datetime.date(2015, 3, 8),
        address="杭州市西湖区转塘街道 8 号",
        contact_phone="13800138000",
    )
    OrganizationFactory(name="丁机械装配车间工会小组", level=Level.GROUP, parent=factory)
    shop = OrganizationFactory(  # a grassroots union without a credit code, with a group
        name="北山街道戊商店工会",
        level=Level.GRASSROOTS,
        parent=street,
        employees=12,
        founded_on=datetime.date(2021, 11, 30),
    )
    OrganizationFactory(name="戊商店工会小组", level=Level.GROUP, parent=shop)
    return machinery, street, factory, shop


def test_export_lists_the_subtree_in_tree_order_with_every_column(tree, filled):
    machinery, street, factory, shop = filled

    rows = data_rows(export_subtree(root=tree.zj, acting_user=None))

    tree.zj.refresh_from_db()
    below = Organization.objects.filter(
        tree_id=tree.zj.tree_id, lft__gt=tree.zj.lft, rght__lt=tree.zj.rght
    ).order_by("lft")
    assert list(rows) == [o.name for o in below]  # root left out, parents first
    assert rows["杭州丁机械有限公司工会"] == {
        "编号": str(factory.pk),
        "名称": "杭州丁机械有限公司工会",
        "简称": "丁机械工会",
        "统一社会信用代码": factory.uscc,
        "上级工会统一社会信用代码": None,
        "上级工会编号": str(street.pk),  # the street federation has no credit code
        "级别": "基层工会",
        "行政区划代码": "330106",
        "所属产业工会": machinery.uscc,
        "职工人数": 320,
        "成立日期": "2015-03-08",
        "地址": "杭州市西湖区转塘街道 8 号",
        "联系电话": "13800138000",
    }
    group = rows["丁机械装配车间工会小组"]
    assert group["上级工会统一社会信用代码"] == factory.uscc and group["上级工会编号"] is None
    assert rows["戊商店工会小组"]["上级工会编号"] == str(shop.pk)
    assert rows["杭州市总工会"]["上级工会编号"] == str(tree.zj.pk)  # the anchor


def test_export_keeps_the_template_layout(tree, filled):
    book = workbook(export_subtree(root=tree.zj, acting_user=None))
    template = workbook(template_xlsx())

    assert book.sheetnames == template.sheetnames
    for name in book.sheetnames:
        assert [c.value for c in book[name][1]] == [c.value for c in template[name][1]]
    assert validations(book["工会"]) == validations(template["工会"])
    assert validations(book["工会干部"]) == validations(template["工会干部"])
    assert book["工会干部"].max_row == 1  # officers' phones are not exported
    for cell in book["工会"]["A"][1:]:
        assert cell.data_type == "s"  # ids as text, as the column is formatted


def test_exported_file_checks_unchanged_and_an_edited_cell_updates_its_row(tree, filled):
    for root in (tree.zj, tree.hz):
        plan = checked(export_subtree(root=root, acting_user=None), root)
        assert plan.errors == []
        assert plan.rows and {row.outcome for row in plan.rows} == {UNCHANGED}
        assert plan.missing == 0

    content = export_subtree(root=tree.zj, acting_user=None)
    book = workbook(content)
    sheet = book["工会"]
    employees = HEADERS.index("职工人数") + 1
    edited = next(
        r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 2).value == "北山街道戊商店工会"
    )
    sheet.cell(edited, employees).value = 15
    buffer = io.BytesIO()
    book.save(buffer)

    plan = checked(buffer.getvalue(), tree.zj)
    assert plan.errors == []
    assert [(row.number, row.outcome) for row in plan.rows if row.outcome != UNCHANGED] == [
        (edited, UPDATE)
    ]
    assert plan.counts()["moved"] == 0


def test_formula_like_name_is_exported_escaped_and_round_trips(tree):
    OrganizationFactory(name=HYPERLINK, level=Level.GRASSROOTS, parent=tree.xihu)
    OrganizationFactory(
        name="国际号码工会",
        level=Level.GRASSROOTS,
        parent=tree.xihu,
        contact_phone="+86 571 8765 4321",
    )

    content = export_subtree(root=tree.zj, acting_user=None)

    cell = next(c for c in workbook(content)["工会"]["B"] if c.value and "HYPERLINK" in c.value)
    assert cell.data_type == "s" and cell.value == "'" + HYPERLINK  # text, not a formula
    plan = checked(content, tree.zj)
    assert plan.errors == []
    assert {row.outcome for row in plan.rows} == {UNCHANGED}
    assert {row.data["name"] for row in plan.rows} >= {HYPERLINK, "国际号码工会"}


def test_dissolved_union_is_left_out(tree):
    gone = OrganizationFactory(name="已撤销的庚公司工会", level=Level.GRASSROOTS, parent=tree.xihu)
    dissolve_organization(organization=gone)

    content = export_subtree(root=tree.zj, acting_user=None)

    assert "已撤销的庚公司工会" not in data_rows(content)
    assert "杭州乙物流有限公司工会" in data_rows(content)
    assert checked(content, tree.zj).errors == []


def test_officer_of_another_province_is_refused(tree, officers):
    with pytest.raises(PermissionDenied):
        export_subtree(root=tree.zj, acting_user=officers.gd_admin)
    with pytest.raises(PermissionDenied):
        export_subtree(root=tree.zj, acting_user=officers.hz_admin)  # below it, not above
    # Seeing is enough: a viewer of the province may export it; a city admin their city.
    assert "杭州市总工会" in data_rows(export_subtree(root=tree.zj, acting_user=officers.zj_viewer))
    assert "西湖区总工会" in data_rows(export_subtree(root=tree.hz, acting_user=officers.hz_admin))


def test_national_export_lists_every_tree_with_parents_first(tree, filled):
    machinery = filled[0]

    rows = data_rows(export_subtree(root=tree.national, acting_user=None))

    names = list(rows)
    assert tree.national.name not in names
    assert {"浙江省总工会", "广东省总工会", machinery.name} <= set(names)
    assert names.index("广东省总工会") < names.index("深圳市总工会")
    plan = checked(export_subtree(root=tree.national, acting_user=None), tree.national)
    assert plan.errors == [] and {row.outcome for row in plan.rows} == {UNCHANGED}
