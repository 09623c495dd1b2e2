"""The columns of the union spreadsheet (Chinese headers) and how a cell is read.

One row is one union. It names its parent by credit code (上级工会统一社会信用代码) or by
number (上级工会编号): the id of a union already in UnionHub, or the 编号 that another row
of the same file gives itself. Export writes every union's id as its 编号, so an exported
file imports back unchanged.
"""

from __future__ import annotations

import dataclasses
import functools

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ..models import Level

__all__ = ["COLUMNS", "HEADERS", "OFFICER_HEADERS", "Column", "level_label", "level_words"]


@dataclasses.dataclass(frozen=True)
class Column:
    header: str
    field: str
    required: bool = False
    hint: str = ""
    example: str = ""


COLUMNS = (
    Column(
        "编号",
        "ref",
        hint=_(
            "The union's number in UnionHub (exported files carry it); for "
            "a new union, any label that other rows can name as their parent."
        ),
        example="A1",
    ),
    Column(
        "名称",
        "name",
        required=True,
        hint=_("Full name of the union."),
        example="杭州云帆科技有限公司工会委员会",
    ),
    Column("简称", "short_name", example="云帆科技工会"),
    Column(
        "统一社会信用代码",
        "uscc",
        hint=_("18 characters; leave empty for unions without legal-person status."),
    ),
    Column(
        "上级工会统一社会信用代码",
        "parent_uscc",
        hint=_("The parent union's credit code: a union in UnionHub or a row of this file."),
    ),
    Column(
        "上级工会编号",
        "parent_ref",
        hint=_(
            "For a parent without a credit code: its number in UnionHub or its 编号 in this file."
        ),
    ),
    Column("级别", "level", required=True, hint=_("Choose from the list."), example="基层工会"),
    Column(
        "行政区划代码",
        "region_code",
        hint=_("Six digits (GB/T 2260), e.g. 330106."),
        example="330106",
    ),
    Column(
        "所属产业工会",
        "industry",
        hint=_(
            "Grassroots unions: the national industry union they also belong to (name "
            "or credit code)."
        ),
    ),
    Column(
        "职工人数",
        "employees",
        hint=_("Grassroots unions: the number of employees."),
        example="120",
    ),
    Column("成立日期", "founded_on", hint=_("e.g. 2020-05-01."), example="2020-05-01"),
    Column("地址", "address"),
    Column("联系电话", "contact_phone", example="0571-87654321"),
)
HEADERS = [c.header for c in COLUMNS]
BY_FIELD = {c.field: c for c in COLUMNS}

# Officers, in a sheet of their own (工会干部), read and written by the accounts app.
OFFICER_HEADERS = ["姓名", "手机号", "工会", "角色"]


def level_label(level: str) -> str:
    """The Chinese name of a level as the template's drop-down lists it."""
    with translation.override("zh-hans"):
        return str(Level(level).label)


@functools.cache
def level_words() -> dict[str, str]:
    """Every spelling of a level the file may use: its Chinese label, English label or code."""
    words = {}
    for level in Level:
        if level == Level.NATIONAL:
            continue
        words[level.value] = level.value
        words[level_label(level)] = level.value
        with translation.override("en"):
            words[str(level.label).lower()] = level.value
    return words
