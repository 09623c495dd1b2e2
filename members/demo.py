"""Demo members for `manage.py seed_demo` (registered from MembersConfig.ready).

A few hundred members with valid-looking ID numbers in the demo unions, pending join
applications, an open transfer, dues records, and a demo member login. Deterministic, and
a rerun adds nothing once the members exist.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from core import crypto
from core import demo as registry
from organizations.models import Organization

from . import people
from .actions import dues, joining, records, transfers
from .models import (
    DuesRecord,
    ImportJob,
    JoinApplication,
    Member,
    MembershipEvent,
    Transfer,
)
from .selectors.records import existing_member_for

DEMO_MEMBER_USERNAME = "demo_member"

_OFFICE = ("full_time",) * 8 + ("part_time", "dispatched")
_COURIERS = ("courier",) * 5 + ("truck_driver", "full_time")
_FACTORY = ("full_time",) * 6 + ("dispatched",)
_RIDERS = ("delivery_rider",) * 5 + ("courier", "ride_hailing")
_LOGISTICS = ("truck_driver",) * 3 + ("full_time",)
# (union name, number of members, region code for ID numbers, employment types)
DEMO_UNIONS = (
    ("杭州云帆信息科技有限公司工会委员会", 120, "330106", _OFFICE),
    ("杭州顺达快递服务有限公司工会", 80, "330108", _COURIERS),
    ("杭州智芯微电子有限公司工会委员会", 60, "330108", _FACTORY),
    ("深圳市南山区粤海街道快递外卖行业联合工会", 70, "440305", _RIDERS),
    ("宁波甬港物流有限公司工会委员会", 40, "330212", _LOGISTICS),
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国志红玉萍文博宇轩浩然子涵欣怡"
_EDUCATION = ("junior_high", "senior_high", "college", "bachelor", "bachelor", "master")
_JOBS = {
    "full_time": ("软件工程师", "测试工程师", "行政专员", "会计", "生产主管", "技术员"),
    "part_time": ("客服专员", "保洁员"),
    "dispatched": ("装配工", "仓库管理员"),
    "courier": ("快递员", "揽收员"),
    "truck_driver": ("货车司机",),
    "delivery_rider": ("外卖骑手", "配送站长"),
    "ride_hailing": ("网约车司机",),
}


def _id_number(rng: random.Random, region: str, born: datetime.date, male: bool) -> str:
    seq = rng.randrange(0, 499) * 2 + (1 if male else 0)
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def _person(rng: random.Random, region: str, employer: str, types) -> dict:
    male = rng.random() < 0.55
    born = datetime.date(1966, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 38))
    employment = rng.choice(types)
    return {
        "name": rng.choice(_SURNAMES)
        + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2)))),
        "id_number": _id_number(rng, region, born, male),
        "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
        "ethnicity": "01" if rng.random() < 0.92 else rng.choice(["03", "08", "06", "11", "02"]),
        "education": rng.choice(
            ["junior_high", "senior_high", "college", "bachelor", "bachelor", "master"]
        ),
        "employer": employer,
        "job": rng.choice(_JOBS.get(employment, ("职员",))),
        "employment_type": employment,
    }


def _employer(union: Organization) -> str:
    for suffix in ("工会委员会", "工会"):
        if union.name.endswith(suffix):
            return union.name[: -len(suffix)]
    return union.name


def seed(stdout, password: str) -> None:
    try:
        _seed(stdout, password)
    finally:
        member = Member.objects.filter(user__username=DEMO_MEMBER_USERNAME).first()
        if member is not None:
            registry.login(
                "member (portal /me/)",
                DEMO_MEMBER_USERNAME,
                f"{member.organization.name}; or mobile {member.phone}",
            )


def _seed(stdout, password: str) -> None:
    if Member.objects.exists():
        stdout.write("Demo members are already present; left as they are.")
        return
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    today = timezone.localdate()
    created = 0
    with transaction.atomic():
        for name, count, region, types in DEMO_UNIONS:
            union = Organization.objects.filter(name=name).first()
            if union is None:
                continue
            employer = _employer(union)
            for _ in range(count):
                raw = _person(rng, region, employer, types)
                try:
                    data = people.clean_person(raw)
                except ValidationError:
                    continue  # a rare impossible random date or region; skip the person
                if existing_member_for(crypto.id_hash(data["id_number"])):
                    continue
                join = today - datetime.timedelta(days=rng.randrange(30, 3650))
                records.enrol_member(organization=union, data=data, join_date=join)
                created += 1
        first = Organization.objects.filter(name=DEMO_UNIONS[0][0]).first()
        demo_member = Member.objects.filter(organization=first).order_by("pk").first()
        if demo_member is not None:
            user, _ = get_user_model().objects.get_or_create(username=DEMO_MEMBER_USERNAME)
            user.set_password(password)
            user.save()
            demo_member.user = user
            demo_member.wage_base = Decimal("8600.00")
            demo_member.save(update_fields=["user", "wage_base"])
            stdout.write(
                f"Demo member login: {DEMO_MEMBER_USERNAME} "
                f"(or mobile {demo_member.phone}) / {password}"
            )

        applications = _seed_applications(rng, password)
        transfers = _seed_transfer()
        dues_records = _seed_dues(rng, today)
    stdout.write(
        f"Demo members: {created} created, {applications} pending applications, "
        f"{transfers} open transfer, {dues_records} dues records."
    )


def _seed_applications(rng: random.Random, password: str) -> int:
    union = Organization.objects.filter(name=DEMO_UNIONS[0][0]).first()
    if union is None:
        return 0
    count = 0
    for _ in range(6):
        raw = _person(rng, "330106", _employer(union), _OFFICE)
        try:
            joining.submit_join_application(
                organization=union,
                data=raw,
                password=password,
                privacy_consent=True,
                sensitive_consent=True,
            )
        except ValidationError:
            continue
        count += 1
    return count


def _seed_transfer() -> int:
    """A courier moving from Hangzhou to the Shenzhen riders' union: across provinces."""
    source = Organization.objects.filter(name=DEMO_UNIONS[1][0]).first()
    target = Organization.objects.filter(name=DEMO_UNIONS[3][0]).first()
    member = Member.objects.filter(organization=source).order_by("pk").first()
    if source is None or target is None or member is None:
        return 0
    transfers.request_transfer(
        member=member,
        to_organization=target,
        side="sending",
        acting_user=None,
        reason="本人到深圳工作",
        new_employer="深圳市南山区某配送站",
    )
    return 1


def _seed_dues(rng: random.Random, today: datetime.date) -> int:
    """Three months of dues in the first two demo unions; a few members in arrears."""
    months = []
    month = today.replace(day=1)
    for _ in range(3):
        months.append(month)
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    created = 0
    for name, *_rest in DEMO_UNIONS[:2]:
        union = Organization.objects.filter(name=name).first()
        if union is None:
            continue
        for member in Member.objects.filter(organization=union, wage_base__isnull=True):
            member.wage_base = Decimal(rng.randrange(4000, 16000)).quantize(Decimal("1"))
            member.save(update_fields=["wage_base"])
        for period in reversed(months):
            created += dues.generate_monthly_dues(organization=union, period=period)
        for record in DuesRecord.objects.filter(organization=union, period__lt=months[0]):
            if rng.random() < 0.9:
                dues.record_payment(
                    record=record,
                    amount=record.amount_due,
                    paid_on=record.period + datetime.timedelta(days=14),
                    method="payroll",
                )
    return created


def reset() -> None:
    DuesRecord.objects.all().delete()
    MembershipEvent.objects.all().delete()
    Transfer.objects.all().delete()
    JoinApplication.objects.all().delete()
    ImportJob.objects.all().delete()
    get_user_model().objects.filter(member__isnull=False).delete()
    Member.objects.all().delete()
