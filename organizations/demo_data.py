"""The demo union tree that `manage.py seed_demo` builds for development. Pure data, no queries.

The federations above township level carry their real names and GB/T 2260 codes; the
companies, their unions, addresses and phone numbers below them are made up. Real federations
get only their city as address (the national federation's address is public), so the demo
never passes off invented details as facts about a real body.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import NamedTuple

from stdnum.cn import uscc

from .models import Level, Role

# The most `--grassroots` may ask for: the serial is six digits of the organization code.
MAX_GENERATED = 999_999


# --- Credit codes ----------------------------------------------------------------------

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check(body: str) -> str:
    """The check character of a GB 11714 organization code (the credit code's 9th-17th)."""
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def union_credit_code(region_code: str, serial: int, series: str = "MC") -> str:
    """A valid unified social credit code of a trade union, unique per (series, serial).

    "8" is the registration authority of trade unions and "1" the type of a union with
    legal-person status. Only the serial varies, so codes stay stable across reruns.
    """
    body = f"{series}{serial:06d}"
    first17 = f"81{region_code}{body}{_org_code_check(body)}"
    return first17 + uscc.calc_check_digit(first17)


# --- The tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgSpec:
    name: str
    level: str
    short_name: str = ""
    region_code: str = ""
    uscc: str = ""
    address: str = ""
    contact_phone: str = ""
    founded_on: datetime.date | None = None
    children: tuple[OrgSpec, ...] = ()

    def data(self) -> dict:
        """The fields `actions.create_organization` takes."""
        return {
            "name": self.name,
            "short_name": self.short_name,
            "level": self.level,
            "uscc": self.uscc,
            "region_code": self.region_code,
            "address": self.address,
            "contact_phone": self.contact_phone,
            "founded_on": self.founded_on,
        }

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _union(serial, name, region_code, address, phone, founded, *children, short_name=""):
    return OrgSpec(
        name=name,
        level=Level.GRASSROOTS,
        short_name=short_name,
        region_code=region_code,
        uscc=union_credit_code(region_code, serial),
        address=address,
        contact_phone=phone,
        founded_on=founded,
        children=children,
    )


def _group(name, region_code):
    return OrgSpec(name=name, level=Level.GROUP, region_code=region_code)


def _federation(level, name, region_code, address, *children, short_name=""):
    return OrgSpec(
        name=name,
        level=level,
        short_name=short_name,
        region_code=region_code,
        address=address,
        children=children,
    )


def _township(name, region_code, address, *children):
    return _federation(Level.TOWNSHIP, name, region_code, address, *children)


_d = datetime.date

# (name, short name, GB/T 2260 code, seat of the federation)
PROVINCES = (
    ("北京市总工会", "北京", "110000", "北京市"),
    ("天津市总工会", "天津", "120000", "天津市"),
    ("河北省总工会", "河北", "130000", "河北省石家庄市"),
    ("山西省总工会", "山西", "140000", "山西省太原市"),
    ("内蒙古自治区总工会", "内蒙古", "150000", "内蒙古自治区呼和浩特市"),
    ("辽宁省总工会", "辽宁", "210000", "辽宁省沈阳市"),
    ("吉林省总工会", "吉林", "220000", "吉林省长春市"),
    ("黑龙江省总工会", "黑龙江", "230000", "黑龙江省哈尔滨市"),
    ("上海市总工会", "上海", "310000", "上海市"),
    ("江苏省总工会", "江苏", "320000", "江苏省南京市"),
    ("浙江省总工会", "浙江", "330000", "浙江省杭州市"),
    ("安徽省总工会", "安徽", "340000", "安徽省合肥市"),
    ("福建省总工会", "福建", "350000", "福建省福州市"),
    ("江西省总工会", "江西", "360000", "江西省南昌市"),
    ("山东省总工会", "山东", "370000", "山东省济南市"),
    ("河南省总工会", "河南", "410000", "河南省郑州市"),
    ("湖北省总工会", "湖北", "420000", "湖北省武汉市"),
    ("湖南省总工会", "湖南", "430000", "湖南省长沙市"),
    ("广东省总工会", "广东", "440000", "广东省广州市"),
    ("广西壮族自治区总工会", "广西", "450000", "广西壮族自治区南宁市"),
    ("海南省总工会", "海南", "460000", "海南省海口市"),
    ("重庆市总工会", "重庆", "500000", "重庆市"),
    ("四川省总工会", "四川", "510000", "四川省成都市"),
    ("贵州省总工会", "贵州", "520000", "贵州省贵阳市"),
    ("云南省总工会", "云南", "530000", "云南省昆明市"),
    ("西藏自治区总工会", "西藏", "540000", "西藏自治区拉萨市"),
    ("陕西省总工会", "陕西", "610000", "陕西省西安市"),
    ("甘肃省总工会", "甘肃", "620000", "甘肃省兰州市"),
    ("青海省总工会", "青海", "630000", "青海省西宁市"),
    ("宁夏回族自治区总工会", "宁夏", "640000", "宁夏回族自治区银川市"),
    ("新疆维吾尔自治区总工会", "新疆", "650000", "新疆维吾尔自治区乌鲁木齐市"),
)

INDUSTRY_UNIONS = (
    ("中国教育工会全国委员会", "中国教育工会"),
    ("中国海员建设工会全国委员会", "中国海员建设工会"),
    ("中国金融工会全国委员会", "中国金融工会"),
    ("中国能源化学地质工会全国委员会", "中国能源化学地质工会"),
    ("中国机械冶金建材工会全国委员会", "中国机械冶金建材工会"),
    ("中国国防邮电工会全国委员会", "中国国防邮电工会"),
)

# The demo subtrees below three provincial federations, keyed by the federation's name.
SUBTREES: dict[str, tuple[OrgSpec, ...]] = {
    "浙江省总工会": (
        _federation(
            Level.CITY,
            "杭州市总工会",
            "330100",
            "浙江省杭州市",
            _federation(
                Level.COUNTY,
                "西湖区总工会",
                "330106",
                "浙江省杭州市西湖区",
                _township(
                    "西湖区文新街道总工会",
                    "330106",
                    "浙江省杭州市西湖区文新街道",
                    _union(
                        1,
                        "杭州云帆信息科技有限公司工会委员会",
                        "330106",
                        "浙江省杭州市西湖区文三路478号云帆大厦12楼",
                        "0571-86012345",
                        _d(2016, 3, 18),
                        _group("研发部工会小组", "330106"),
                        _group("市场部工会小组", "330106"),
                        short_name="云帆科技工会",
                    ),
                    _union(
                        2,
                        "杭州市西湖区文新街道社区联合工会",
                        "330106",
                        "浙江省杭州市西湖区文新街道学院路208号",
                        "0571-88231456",
                        _d(2012, 7, 1),
                        short_name="文新社区联合工会",
                    ),
                ),
                _township(
                    "西湖区北山街道总工会",
                    "330106",
                    "浙江省杭州市西湖区北山街道",
                    _union(
                        3,
                        "杭州北山文旅发展有限公司工会委员会",
                        "330106",
                        "浙江省杭州市西湖区北山街道曙光路66号",
                        "0571-87963210",
                        _d(2018, 9, 10),
                    ),
                ),
            ),
            _federation(
                Level.COUNTY,
                "滨江区总工会",
                "330108",
                "浙江省杭州市滨江区",
                _township(
                    "滨江区长河街道总工会",
                    "330108",
                    "浙江省杭州市滨江区长河街道",
                    _union(
                        4,
                        "杭州顺达快递服务有限公司工会",
                        "330108",
                        "浙江省杭州市滨江区长河路590号2幢",
                        "13957112345",
                        _d(2021, 5, 1),
                        short_name="顺达快递工会",
                    ),
                    _union(
                        5,
                        "杭州智芯微电子有限公司工会委员会",
                        "330108",
                        "浙江省杭州市滨江区江虹路1750号",
                        "0571-86695678",
                        _d(2014, 11, 20),
                        _group("生产车间工会小组", "330108"),
                        short_name="智芯微电子工会",
                    ),
                ),
                _township(
                    "滨江区西兴街道总工会",
                    "330108",
                    "浙江省杭州市滨江区西兴街道",
                    _union(
                        6,
                        "杭州西兴精密机械制造有限公司工会委员会",
                        "330108",
                        "浙江省杭州市滨江区西兴路2333号",
                        "0571-86721098",
                        _d(2009, 4, 28),
                    ),
                ),
            ),
        ),
        _federation(
            Level.CITY,
            "宁波市总工会",
            "330200",
            "浙江省宁波市",
            _federation(
                Level.COUNTY,
                "鄞州区总工会",
                "330212",
                "浙江省宁波市鄞州区",
                _township(
                    "鄞州区首南街道总工会",
                    "330212",
                    "浙江省宁波市鄞州区首南街道",
                    _union(
                        7,
                        "宁波甬港物流有限公司工会委员会",
                        "330212",
                        "浙江省宁波市鄞州区天童南路888号",
                        "0574-87301234",
                        _d(2011, 8, 15),
                    ),
                ),
            ),
        ),
    ),
    "广东省总工会": (
        _federation(
            Level.CITY,
            "深圳市总工会",
            "440300",
            "广东省深圳市",
            _federation(
                Level.COUNTY,
                "南山区总工会",
                "440305",
                "广东省深圳市南山区",
                _township(
                    "粤海街道总工会",
                    "440305",
                    "广东省深圳市南山区粤海街道",
                    _union(
                        8,
                        "深圳前湾智能科技有限公司工会委员会",
                        "440305",
                        "广东省深圳市南山区科技南十二路18号",
                        "0755-86001234",
                        _d(2017, 6, 6),
                    ),
                    _union(
                        9,
                        "深圳市南山区粤海街道快递外卖行业联合工会",
                        "440305",
                        "广东省深圳市南山区粤海街道海天二路",
                        "0755-26501234",
                        _d(2022, 3, 8),
                        short_name="粤海快递外卖联合工会",
                    ),
                ),
            ),
        ),
        _federation(Level.CITY, "广州市总工会", "440100", "广东省广州市"),
    ),
    "北京市总工会": (
        # Beijing's districts are county-level and sit directly under the municipal federation.
        _federation(
            Level.COUNTY,
            "海淀区总工会",
            "110108",
            "北京市海淀区",
            _township(
                "中关村街道总工会",
                "110108",
                "北京市海淀区中关村街道",
                _union(
                    10,
                    "北京青松数智科技有限公司工会委员会",
                    "110108",
                    "北京市海淀区中关村大街27号",
                    "010-62551234",
                    _d(2015, 10, 12),
                ),
                _union(
                    11,
                    "北京海创孵化器管理有限公司工会",
                    "110108",
                    "北京市海淀区海淀西大街36号",
                    "010-82601234",
                    _d(2019, 1, 16),
                ),
            ),
        ),
        _federation(Level.COUNTY, "朝阳区总工会", "110105", "北京市朝阳区"),
    ),
}


def demo_tree() -> OrgSpec:
    """The whole demo tree, rooted at the national federation."""
    provinces = tuple(
        _federation(
            Level.PROVINCIAL,
            name,
            code,
            seat,
            *SUBTREES.get(name, ()),
            short_name=short_name,
        )
        for name, short_name, code, seat in PROVINCES
    )
    industry = tuple(
        OrgSpec(name=name, level=Level.INDUSTRY, short_name=short_name, address="北京市")
        for name, short_name in INDUSTRY_UNIONS
    )
    return OrgSpec(
        name="中华全国总工会",
        level=Level.NATIONAL,
        short_name="全总",
        address="北京市西城区复兴门外大街10号",
        founded_on=_d(1925, 5, 1),
        children=provinces + industry,
    )


def township_names() -> list[str]:
    """The townships that `--grassroots N` spreads generated unions over, in a fixed order."""
    return [spec.name for spec in demo_tree().walk() if spec.level == Level.TOWNSHIP]


# --- Users -----------------------------------------------------------------------------


class DemoUser(NamedTuple):
    username: str
    role: str  # a Role, or "operator" for the platform superuser
    organization: str  # the organization's name; empty for the operator


OPERATOR = "operator"

DEMO_USERS = (
    DemoUser("operator", OPERATOR, ""),
    DemoUser("national_admin", Role.ADMIN, "中华全国总工会"),
    DemoUser("zj_admin", Role.ADMIN, "浙江省总工会"),
    DemoUser("zj_viewer", Role.VIEWER, "浙江省总工会"),
    DemoUser("hz_admin", Role.ADMIN, "杭州市总工会"),
    DemoUser("nb_admin", Role.ADMIN, "宁波市总工会"),
    DemoUser("xihu_staff", Role.STAFF, "西湖区总工会"),
    DemoUser("yunfan_admin", Role.ADMIN, "杭州云帆信息科技有限公司工会委员会"),
    DemoUser("yunfan_staff", Role.STAFF, "杭州云帆信息科技有限公司工会委员会"),
    DemoUser("gd_admin", Role.ADMIN, "广东省总工会"),
)


# --- Generated grassroots unions (`--grassroots N`) ------------------------------------

# Keyed by the first four digits of the region code: (city, telephone area code).
_CITIES = {
    "3301": ("杭州", "0571"),
    "3302": ("宁波", "0574"),
    "4403": ("深圳", "0755"),
    "4401": ("广州", "020"),
    "1101": ("北京", "010"),
}
_BRANDS = (
    "启明", "长风", "青禾", "瑞丰", "和信", "恒远", "新禾", "德润", "明川", "锦程",
    "嘉禾", "华曦", "东篱", "南湖", "北辰", "立方", "博远", "众诚", "汇通", "睿思",
    "星澜", "知行", "乐达", "安泰", "丰源", "晨光", "远望", "同舟", "正阳", "鼎盛",
    "万象", "惠民", "聚力", "天衡", "宏图", "卓越", "兴邦", "朗月", "银杏", "山海",
)  # fmt: skip
_TRADES = (
    "信息科技", "网络科技", "电子商务", "物流", "餐饮管理", "建筑工程", "医疗器械",
    "文化传媒", "物业服务", "汽车销售服务", "食品", "纺织", "机械制造", "新材料",
    "家政服务", "教育咨询", "环保科技", "生物医药", "包装印刷", "商贸",
)  # fmt: skip
_ROADS = ("创业路", "科技路", "兴业街", "学院路", "工业路", "人民路", "建设路", "文化路")
_CHINESE_NUMERALS = "零一二三四五六七八九"


def _ordinal(n: int) -> str:
    """A branch number in Chinese (二, 十一, 九十九), falling back to digits from 100."""
    if n < 10:
        return _CHINESE_NUMERALS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        prefix = _CHINESE_NUMERALS[tens] if tens > 1 else ""
        suffix = _CHINESE_NUMERALS[ones] if ones else ""
        return f"{prefix}十{suffix}"
    return str(n)


def _phone(area_code: str, index: int) -> str:
    # Scrambled, because phonenumbers rejects local numbers with long runs of zeros.
    local = (index * 7919 + 123_457) % 1_000_000
    return f"{area_code}-86{local:06d}" if area_code else f"139{local:08d}"


def generated_grassroots(index: int, region_code: str, township_address: str) -> dict:
    """The fields of the `index`-th generated grassroots union (1-based), deterministic.

    Its credit code uses its own series, so it never collides with the hand-written unions.
    """
    city, area_code = _CITIES.get(region_code[:4], ("", ""))
    brand_count, trade_count = len(_BRANDS), len(_TRADES)
    n = index - 1
    brand = _BRANDS[n % brand_count]
    trade = _TRADES[(n // brand_count) % trade_count]
    branch = n // (brand_count * trade_count)
    company = f"{city}{brand}{trade}有限公司"
    if branch:
        company += f"第{_ordinal(branch + 1)}分公司"
    return {
        "name": f"{company}工会委员会",
        "short_name": "",
        "level": Level.GRASSROOTS,
        "uscc": union_credit_code(region_code, index, series="MD"),
        "region_code": region_code,
        "address": f"{township_address}{_ROADS[n % len(_ROADS)]}{100 + n % 900}号",
        "contact_phone": _phone(area_code, index),
        "founded_on": datetime.date(2000, 1, 1) + datetime.timedelta(days=(index * 37) % 9000),
    }
