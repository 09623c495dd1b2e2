"""The member spreadsheet's columns, and values as people write them in Chinese spreadsheets.

The import template (`template`), the row checker (`rows`) and the member export
(`members.exports`) share these: one list of columns (`COLUMNS`: header, field, required,
help) and the Chinese names of the choices (民族, 学历, 用工形式, 性别, 会籍状态) with the
spellings a row may use for them. The file format is Chinese whatever the UI language.
"""

from __future__ import annotations

import dataclasses
import re

from django.utils.translation import gettext_lazy
from stdnum.cn import ric

from core.spreadsheets import normalize_header, parse_date

from ..models import Education, EmploymentType, MemberStatus

__all__ = [
    "BY_FIELD",
    "COLUMNS",
    "EDUCATION_NAMES",
    "EMPLOYMENT_NAMES",
    "ETHNICITY_NAMES",
    "EXAMPLE_ID_NUMBER",
    "GENDER_NAMES",
    "HEADERS",
    "INSTRUCTIONS_SHEET",
    "STATUS_NAMES",
    "UNION_HEADER",
    "Column",
    "normalize_header",
    "parse_choice",
    "parse_date",
]

# --- Values as people write them in Chinese spreadsheets ---------------------------------

# GB 3304 names of the ethnic groups, in the order (and with the codes) of models.ETHNICITIES.
ETHNICITY_NAMES = {
    "01": "汉族", "02": "蒙古族", "03": "回族", "04": "藏族", "05": "维吾尔族", "06": "苗族",
    "07": "彝族", "08": "壮族", "09": "布依族", "10": "朝鲜族", "11": "满族", "12": "侗族",
    "13": "瑶族", "14": "白族", "15": "土家族", "16": "哈尼族", "17": "哈萨克族", "18": "傣族",
    "19": "黎族", "20": "傈僳族", "21": "佤族", "22": "畲族", "23": "高山族", "24": "拉祜族",
    "25": "水族", "26": "东乡族", "27": "纳西族", "28": "景颇族", "29": "柯尔克孜族",
    "30": "土族", "31": "达斡尔族", "32": "仫佬族", "33": "羌族", "34": "布朗族",
    "35": "撒拉族", "36": "毛南族", "37": "仡佬族", "38": "锡伯族", "39": "阿昌族",
    "40": "普米族", "41": "塔吉克族", "42": "怒族", "43": "乌孜别克族", "44": "俄罗斯族",
    "45": "鄂温克族", "46": "德昂族", "47": "保安族", "48": "裕固族", "49": "京族",
    "50": "塔塔尔族", "51": "独龙族", "52": "鄂伦春族", "53": "赫哲族", "54": "门巴族",
    "55": "珞巴族", "56": "基诺族", "97": "其他", "98": "外国血统中国籍人士",
}  # fmt: skip
EDUCATION_NAMES = {
    Education.JUNIOR_HIGH: "初中及以下",
    Education.SENIOR_HIGH: "高中中专",
    Education.COLLEGE: "大专",
    Education.BACHELOR: "本科",
    Education.MASTER: "硕士",
    Education.DOCTORATE: "博士",
}
EMPLOYMENT_NAMES = {
    EmploymentType.FULL_TIME: "全日制",
    EmploymentType.PART_TIME: "非全日制",
    EmploymentType.DISPATCHED: "劳务派遣",
    EmploymentType.FLEXIBLE: "灵活就业",
    EmploymentType.DELIVERY_RIDER: "外卖骑手",
    EmploymentType.RIDE_HAILING: "网约车司机",
    EmploymentType.COURIER: "快递员",
    EmploymentType.TRUCK_DRIVER: "货车司机",
    EmploymentType.DOMESTIC: "家政服务员",
    EmploymentType.OTHER_NEW_FORM: "其他新就业形态",
}
GENDER_NAMES = {"male": "男", "female": "女"}
STATUS_NAMES = {
    MemberStatus.ACTIVE: "在会",
    MemberStatus.RETAINED: "保留会籍",
    MemberStatus.WITHDRAWN: "退会",
    MemberStatus.EXPELLED: "除名",
    MemberStatus.DECEASED: "已故",
}


def _lookup(names: dict, aliases: dict | None = None) -> dict[str, str]:
    """Accepted spellings (the Chinese name, the code, a few common variants) → code."""
    table = {str(code).lower(): str(code) for code in names}
    table |= {name: str(code) for code, name in names.items()}
    table |= aliases or {}
    return table


_CHOICE_LOOKUP = {
    "ethnicity": _lookup(
        ETHNICITY_NAMES,
        {name.removesuffix("族"): code for code, name in ETHNICITY_NAMES.items() if code < "97"}
        | {"其它": "97"},
    ),
    "education": _lookup(
        EDUCATION_NAMES,
        {
            "初中": "junior_high",
            "小学": "junior_high",
            "初中以下": "junior_high",
            "高中": "senior_high",
            "中专": "senior_high",
            "高中/中专": "senior_high",
            "高中、中专": "senior_high",
            "职高": "senior_high",
            "技校": "senior_high",
            "专科": "college",
            "大学本科": "bachelor",
            "研究生": "master",
            "硕士研究生": "master",
            "博士研究生": "doctorate",
        },
    ),
    "employment_type": _lookup(EMPLOYMENT_NAMES),
    "gender": _lookup(GENDER_NAMES, {"男性": "male", "女性": "female"}),
}


def parse_choice(field: str, text: str) -> str | None:
    """The code of a choice written as `text` (a name, a code or a common variant), or None."""
    text = re.sub(r"\s+", "", text)
    if field == "ethnicity" and text.isdigit():
        text = text.zfill(2)
    return _CHOICE_LOOKUP[field].get(text) or _CHOICE_LOOKUP[field].get(text.lower())


# --- Columns ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    header: str  # as in the template; the file format is Chinese whatever the UI language
    field: str
    required: bool
    help: str
    aliases: tuple[str, ...] = ()


UNION_HEADER = "所属工会代码"
INSTRUCTIONS_SHEET = "填写说明"

COLUMNS: tuple[Column, ...] = (
    Column("姓名", "name", True, gettext_lazy("As written on the resident ID card.")),
    Column(
        "身份证号",
        "id_number",
        True,
        gettext_lazy("The 18-character resident ID number. Format the column as text."),
        ("身份证号码", "公民身份号码", "身份证"),
    ),
    Column(
        "手机号",
        "phone",
        True,
        gettext_lazy("A mainland China mobile number of 11 digits."),
        ("手机号码", "手机", "联系电话"),
    ),
    Column(
        "民族",
        "ethnicity",
        False,
        gettext_lazy("One of the values listed on the right, or its two-digit code; empty: 汉族."),
    ),
    Column(
        "学历",
        "education",
        False,
        gettext_lazy("One of the values listed on the right."),
        ("文化程度",),
    ),
    Column("工作单位", "employer", True, gettext_lazy("The employer (work unit)."), ("单位名称",)),
    Column("职务/岗位", "job", False, gettext_lazy("Job title or position."), ("职务", "岗位")),
    Column(
        "用工形式",
        "employment_type",
        False,
        gettext_lazy("One of the values listed on the right; empty: 全日制."),
    ),
    Column(
        "入会日期",
        "join_date",
        False,
        gettext_lazy("A date as YYYY-MM-DD, not in the future; empty: the day of the import."),
        ("入会时间",),
    ),
    Column(
        "性别",
        "gender",
        False,
        gettext_lazy("男 or 女; optional, checked against the ID number."),
    ),
    Column(
        "出生日期",
        "birth_date",
        False,
        gettext_lazy("A date as YYYY-MM-DD; optional, checked against the ID number."),
    ),
    Column(
        UNION_HEADER,
        "union_code",
        False,
        gettext_lazy(
            "The unified social credit code of the grassroots union the member belongs to; "
            "empty: the union chosen when uploading."
        ),
        ("工会代码", "工会统一社会信用代码"),
    ),
)
HEADERS = [c.header for c in COLUMNS]
BY_FIELD = {c.field: c for c in COLUMNS}

# A valid-looking, fictitious person for the template's example row (北京市朝阳区, 1990-03-07).
_EXAMPLE_ID_BODY = "11010519900307123"
EXAMPLE_ID_NUMBER = _EXAMPLE_ID_BODY + ric.calc_check_digit(_EXAMPLE_ID_BODY + "0")
