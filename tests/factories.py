"""Factories that build a small real union tree through the actions, as production does."""

import datetime
import io
import itertools

import factory
from django.contrib.auth import get_user_model
from stdnum.cn import uscc

from organizations import actions
from organizations.models import Level, Organization

_serial = itertools.count(1)


def make_uscc(region_code: str = "330106") -> str:
    """A valid, unique unified social credit code of a trade union (authority 8, type 1)."""
    body = f"81{region_code}{next(_serial):09d}"
    return body + uscc.calc_check_digit(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("Pass-word-123")


class OrganizationFactory(factory.Factory):
    """Creates organizations with `actions.create_organization`, so every tree rule applies."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试工会{n}")
    level = Level.GRASSROOTS
    parent = None

    @classmethod
    def _create(cls, model_class, parent=None, **data):
        if parent is None:
            return actions.create_national_federation(data=data)
        return actions.create_organization(parent=parent, data=data)


_person_serial = itertools.count(1)


def make_id_number(
    region: str = "330106", born: str = "19900101", male: bool = True, serial: int | None = None
) -> str:
    """A valid 18-character resident ID number (check digit computed with python-stdnum)."""
    from stdnum.cn import ric

    n = next(_person_serial) if serial is None else serial
    # Digits 15-17: a sequence whose last digit is odd for men and even for women.
    seq = (n % 500) * 2 + (1 if male else 0)
    body = f"{region}{born}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def han_number(n: int) -> str:
    """A number in Chinese digits (12 → 一二), for unique real names: a name is written in
    characters, never with digits."""
    return "".join("零一二三四五六七八九"[int(d)] for d in str(n))


def person_data(**overrides) -> dict:
    """Raw real-name data of a new person, as typed into a form."""
    n = next(_person_serial)
    # Unique per serial: 500 people per birth day, both sexes.
    day = datetime.date(1970, 1, 1) + datetime.timedelta(days=(n // 500) % 12000)
    born = overrides.pop("born", day.strftime("%Y%m%d"))
    male = overrides.pop("male", bool(n % 2))
    data = {
        "name": f"测试{han_number(n)}",
        "id_number": make_id_number(born=born, male=male, serial=n),
        "phone": f"138{n:08d}",
        "ethnicity": "01",
        "education": "bachelor",
        "employer": "杭州甲科技有限公司",
        "job": "工程师",
        "employment_type": "full_time",
    }
    data.update(overrides)
    return data


def make_member(org, acting_user=None, **overrides):
    """A member enrolled through `members.actions.records.create_member`."""
    from members.actions import records as member_actions
    from members.people import clean_person

    data = clean_person(person_data(**overrides))
    return member_actions.create_member(organization=org, data=data, acting_user=acting_user)


def bulk_members(org, count: int, *, email: bool = True, prefix: str = "bulk") -> list:
    """`count` active members of `org`, each with a login (and an email address), inserted
    in bulk for fan-out tests. Real encrypted identifiers; counters are not adjusted."""
    from members.cards import new_membership_numbers
    from members.models import Member
    from members.people import clean_person

    User = get_user_model()
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{i}",
                email=f"{prefix}{i}@example.cn" if email else "",
                password="!",  # unusable
            )
            for i in range(count)
        ]
    )
    numbers = new_membership_numbers(count)
    today = datetime.date.today()
    rows = []
    for user, number in zip(users, numbers, strict=True):
        data = clean_person(person_data())
        member = Member(
            organization=org,
            user=user,
            membership_number=number,
            join_date=today,
            name=data["name"],
            employer=data["employer"],
            employment_type=data["employment_type"],
        )
        member.set_id_number(data["id_number"])
        member.set_phone(data["phone"])
        rows.append(member)
    return Member.objects.bulk_create(rows, batch_size=1000)


SHEET_EDUCATION = {"bachelor": "本科", "master": "硕士", "college": "大专"}


def sheet_row(raw: dict | None = None, **cells) -> dict:
    """A row of the member import spreadsheet (Chinese headers → text) for a person."""
    raw = raw or person_data()
    row = {
        "姓名": raw["name"],
        "身份证号": raw["id_number"],
        "手机号": raw["phone"],
        "民族": "汉族",
        "学历": SHEET_EDUCATION.get(raw["education"], "本科"),
        "工作单位": raw["employer"],
        "职务/岗位": raw["job"],
        "用工形式": "全日制",
        "入会日期": "",
        "性别": "",
        "出生日期": "",
        "所属工会代码": "",
    }
    row.update(cells)
    return row


def sheet_xlsx(rows: list[dict], headers=None) -> bytes:
    """An XLSX file of `rows` under `headers` (default: the import template's)."""
    from openpyxl import Workbook

    from members.importing.columns import HEADERS

    headers = HEADERS if headers is None else headers
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("会员")
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_token(user, *, read_only: bool = False, days: int = 90) -> str:
    """An API access token of `user`, made directly (no officer or second-factor check:
    `accounts.tokens.issue` has its own tests); returns its secret."""
    from accounts import tokens

    return tokens.new_token(user=user, name="test", read_only=read_only, days=days)[1]
