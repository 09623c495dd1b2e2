"""Demo member services for `manage.py seed_demo` (registered from ServicesConfig.ready).

Built in the Hangzhou subtree through the services actions, so counters, history rows and
notifications are what real use would leave behind: two stations with ratings, a service
menu at four levels with requests in every state, wishes with votes, an activity with a
session starting within the hour (check-in is open) and an online one next week, concerns
(one escalated to the district federation) and hardship aid cases, one on public notice.

Runs after the members seeder (it needs the demo members), is deterministic, and a rerun
adds nothing once the services data exists; only the two aid officers' passwords and
grants are refreshed, like the other demo users'.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core import demo as registry
from members.cards import card_token
from members.demo import DEMO_MEMBER_USERNAME
from members.models import CURRENT_STATUSES, Member
from organizations.actions import grant_role
from organizations.models import Organization, OrgCounter, Role

from .actions import activities, aid, announcements, menu, stations, voice
from .actions import requests as request_actions
from .actions import wishes as wish_actions
from .models import (
    Activity,
    ActivitySession,
    AidCase,
    AidObjection,
    AidReason,
    AidStep,
    AidTier,
    Announcement,
    Concern,
    ConcernCategory,
    ConcernStep,
    ConfidentialNote,
    Delivery,
    Registration,
    RequestStep,
    Service,
    ServiceCategory,
    ServiceRequest,
    ServiceSettings,
    ServiceWish,
    Station,
    StationKind,
    StationVisit,
    WishVote,
)
from .selectors.voice import due_days

PROVINCE = "浙江省总工会"
CITY = "杭州市总工会"
DISTRICT = "西湖区总工会"
YUNFAN = "杭州云帆信息科技有限公司工会委员会"
COURIERS = "杭州顺达快递服务有限公司工会"

# The hardship aid officers: at the grassroots union (review, visit, notice, payment) and
# at the district federation, which approves (the default approval level is county).
AID_USERS = (("yunfan_aid", YUNFAN), ("xihu_aid", DISTRICT))

WORKERS_HOME = "云帆职工之家"
OUTDOOR_STATION = "西湖区文新户外劳动者服务驿站"


def _org(name: str) -> Organization | None:
    return Organization.objects.filter(name=name).order_by("pk").first()


def _officer(username: str):
    return get_user_model().objects.filter(username=username).first()


def _ensure_aid_officers(password: str) -> list[tuple[str, str]]:
    user_model = get_user_model()
    rows = []
    for username, org_name in AID_USERS:
        org = _org(org_name)
        if org is None:
            continue
        user, _created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        user.is_active = True
        user.set_password(password)
        user.save()
        grant_role(user=user, organization=org, role=Role.AID)
        rows.append((username, org.name))
    return rows


def _portal_login(member: Member):
    """The member's portal login (membership number, no usable password), as the joining
    flow creates it: the member-side actions act as the member themself."""
    if member.user_id:
        return member.user
    user_model = get_user_model()
    user = user_model(username=member.membership_number, is_active=True)
    user.set_unusable_password()
    user.save()
    member.user = user
    member.save(update_fields=["user", "updated_at"])
    return user


def _current_members(union: Organization, count: int, exclude=()) -> list[Member]:
    members = list(
        Member.objects.filter(
            organization=union, status__in=CURRENT_STATUSES, deleted_at__isnull=True
        )
        .exclude(pk__in=[m.pk for m in exclude])
        .select_related("organization")
        .order_by("pk")[:count]
    )
    for member in members:
        _portal_login(member)
    return members


def seed(stdout, password: str) -> None:
    aid_officers = _ensure_aid_officers(password)
    if Service.objects.exists() or Station.objects.exists() or Concern.objects.exists():
        stdout.write("Demo services are already present; left as they are.")
    else:
        _seed_services(stdout)
    for username, org_name in aid_officers:
        stdout.write(f"Hardship aid officer login: {username} ({org_name}) / {password}")
        registry.login("hardship aid officer", username, org_name)


def _seed_services(stdout) -> None:
    orgs = {name: _org(name) for name in (PROVINCE, CITY, DISTRICT, YUNFAN, COURIERS)}
    demo_member = (
        Member.objects.filter(user__username=DEMO_MEMBER_USERNAME).select_related("user").first()
    )
    officers = {
        name: _officer(name)
        for name in ("zj_admin", "hz_admin", "xihu_staff", "yunfan_admin", "yunfan_staff")
    }
    officers.update({name: _officer(name) for name, _org_name in AID_USERS})
    missing = [n for n, o in {**orgs, **officers}.items() if o is None]
    if demo_member is None or demo_member.organization_id != getattr(orgs[YUNFAN], "pk", None):
        missing.append(DEMO_MEMBER_USERNAME)
    if missing:
        stdout.write(
            f"Demo services skipped: {', '.join(missing)} not found (run the demo tree and "
            "members first)."
        )
        return
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    with transaction.atomic():
        people = _current_members(orgs[YUNFAN], 14, exclude=[demo_member])
        couriers = _current_members(orgs[COURIERS], 2)
        if len(people) < 14:
            stdout.write("Demo services skipped: too few demo members in the Yunfan union.")
            transaction.set_rollback(True)
            return
        ctx = _Context(rng, orgs, officers, demo_member, people, couriers)
        homes = _seed_stations(ctx)
        _seed_concerns(ctx)  # first: the escalation must only see its own concern
        _seed_menu(ctx, homes)
        _seed_activities(ctx, homes)
        _seed_aid(ctx)
        _seed_announcements(ctx)
    session = ctx.today_session
    stdout.write(
        f"Demo services: {Station.objects.count()} stations, {Service.objects.count()} "
        f"services ({Service.objects.filter(status='draft').count()} draft), "
        f"{ServiceRequest.objects.count()} requests, {ServiceWish.objects.count()} wishes, "
        f"{Activity.objects.count()} activities, {Concern.objects.count()} concerns, "
        f"{AidCase.objects.count()} aid cases, {Announcement.objects.count()} announcements."
    )
    stdout.write(
        f"Today's session “{session.activity.title}” starts at "
        f"{timezone.localtime(session.starts_at):%H:%M} (check-in is open; "
        f"{DEMO_MEMBER_USERNAME} is registered, the session is full with a waiting list)."
    )


class _Context:
    def __init__(self, rng, orgs, officers, demo_member, people, couriers):
        self.rng = rng
        self.orgs = orgs
        self.officers = officers
        self.demo_member = demo_member
        self.people = people
        self.couriers = couriers
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.today_session: ActivitySession | None = None


# --- Stations -----------------------------------------------------------------------------


def _seed_stations(ctx: _Context) -> dict[str, Station]:
    home = stations.create_station(
        organization=ctx.orgs[YUNFAN],
        data={
            "name": WORKERS_HOME,
            "kind": StationKind.WORKERS_HOME,
            "address": "浙江省杭州市西湖区文三路478号云帆大厦12楼",
            "opening_hours": "周一至周五 9:00–21:00，周六 10:00–17:00",
            "latitude": "30.277860",
            "longitude": "120.129450",
            "phone": "0571-86012345",
            "description": "职工书屋、母婴室、健身角和多功能活动室，会员凭会员卡免费使用。",
        },
        acting_user=ctx.officers["yunfan_admin"],
    )
    outdoor = stations.create_station(
        organization=ctx.orgs[DISTRICT],
        data={
            "name": OUTDOOR_STATION,
            "kind": StationKind.OUTDOOR,
            "address": "浙江省杭州市西湖区文新街道学院路208号",
            "opening_hours": "每天 7:00–22:00",
            "latitude": "30.289310",
            "longitude": "120.133620",
            "phone": "0571-88231456",
            "description": (
                "为快递员、外卖骑手、环卫工人等户外劳动者提供饮水、热饭、充电、休息、"
                "如厕和应急药箱，冬季供应姜茶。"
            ),
        },
        acting_user=ctx.officers["hz_admin"],
    )
    comments = ("环境干净，借书很方便。", "健身角器材有点少。", "母婴室很贴心。", "", "")
    for i, member in enumerate(ctx.people[:5]):
        stations.rate_visit(
            station=home,
            member=member,
            rating=ctx.rng.choice((4, 5, 5)),
            comment=comments[i],
            visited_on=ctx.today - datetime.timedelta(days=ctx.rng.randrange(1, 25)),
        )
    for member in ctx.people[5:7]:
        stations.rate_visit(
            station=outdoor,
            member=member,
            rating=ctx.rng.choice((3, 4, 5)),
            comment="中午在这里热饭，很方便。",
            visited_on=ctx.today - datetime.timedelta(days=ctx.rng.randrange(1, 25)),
        )
    return {"home": home, "outdoor": outdoor}


# --- Service menu, requests and wishes ----------------------------------------------------


def _create(ctx: _Context, org: str, officer: str, data: dict, publish: bool = True) -> Service:
    user = ctx.officers[officer]
    service = menu.create_service(organization=ctx.orgs[org], data=data, acting_user=user)
    if publish:
        service = menu.publish_service(service=service, acting_user=user)
    return service


def _order(service: Service, member: Member, note: str = "") -> ServiceRequest:
    return request_actions.order_service(
        service=service, member=member, note=note, acting_user=member.user
    )


def _seed_menu(ctx: _Context, homes: dict[str, Station]) -> None:
    p = ctx.people
    zj, hz, xihu = (ctx.officers[n] for n in ("zj_admin", "hz_admin", "xihu_staff"))
    yunfan_staff = ctx.officers["yunfan_staff"]
    rest = _create(
        ctx,
        PROVINCE,
        "zj_admin",
        {
            "title": f"{ctx.today.year}年度职工疗休养",
            "category": ServiceCategory.INCLUSIVE,
            "description": (
                "面向全省在职工会会员，每年一次5天4晚的疗休养，线路包括千岛湖、普陀山和"
                "雁荡山省级职工疗休养基地。报名后由省总工会统一安排批次，所在单位给予带薪休假。"
            ),
            "capacity": 200,
            "starts_on": ctx.today - datetime.timedelta(days=20),
            "ends_on": ctx.today + datetime.timedelta(days=160),
            "due_days": 30,
        },
    )
    legal = _create(
        ctx,
        CITY,
        "hz_admin",
        {
            "title": "职工法律援助",
            "category": ServiceCategory.LEGAL,
            "description": (
                "劳动合同、工资拖欠、工伤认定等劳动争议的免费法律咨询与代理，由市总工会"
                "职工法律援助律师团提供，咨询内容严格保密。"
            ),
            "due_days": 15,
        },
    )
    counselling = _create(
        ctx,
        CITY,
        "hz_admin",
        {
            "title": "职工心理咨询",
            "category": ServiceCategory.COUNSELLING,
            "description": (
                "国家二级心理咨询师一对一心理疏导（视频或电话），每人每年可预约3次，"
                "咨询内容严格保密。"
            ),
            "capacity": 60,
            "due_days": 7,
        },
    )
    training = _create(
        ctx,
        DISTRICT,
        "hz_admin",
        {
            "title": "电动车安全驾驶与应急救护技能培训",
            "category": ServiceCategory.TRAINING,
            "description": (
                "在文新户外劳动者服务驿站开班，每期半天：电动车安全驾驶、交通法规、心肺复苏"
                "和AED使用，考核合格颁发应急救护培训证书。"
            ),
            "capacity": 30,
            "delivery": Delivery.STATION,
            "station": homes["outdoor"],
            "due_days": 14,
        },
    )
    _create(
        ctx,
        YUNFAN,
        "yunfan_admin",
        {
            "title": "端午节职工慰问品",
            "category": ServiceCategory.INCLUSIVE,
            "description": "每位会员一份端午节慰问品（粽子礼盒），可选择到职工之家领取。",
            "capacity": 130,
            "due_days": 10,
        },
        publish=False,
    )

    # Wishes: addressed to every level of the chain, each with a few votes.
    township = ctx.orgs[YUNFAN].parent
    wishes = [
        (p[0], ctx.orgs[YUNFAN], "希望在职工之家开设职工书屋", ServiceCategory.OTHER),
        (p[1], township, "希望开放周末羽毛球场地", ServiceCategory.ACTIVITY),
        (p[2], ctx.orgs[DISTRICT], "希望开设职工子女暑期托管班", ServiceCategory.OTHER),
        (p[3], ctx.orgs[CITY], "希望增加夜间心理咨询时段", ServiceCategory.COUNSELLING),
        (p[4], ctx.orgs[PROVINCE], "希望疗休养增加亲子线路", ServiceCategory.INCLUSIVE),
    ]
    created = []
    for proposer, org, title, category in wishes:
        wish = wish_actions.propose_wish(
            member=proposer,
            organization=org,
            title=title,
            description="同事们都很需要，希望工会能考虑。",
            category=category,
            acting_user=proposer.user,
        )
        voters = [m for m in [ctx.demo_member, *p] if m.pk != proposer.pk]
        for voter in ctx.rng.sample(voters, ctx.rng.randrange(3, 9)):
            wish_actions.vote_wish(wish=wish, member=voter, acting_user=voter.user)
        created.append(wish)
    books = wish_actions.answer_wish_with_service(
        wish=created[0],
        data={
            "title": "职工书屋图书借阅",
            "category": ServiceCategory.OTHER,
            "description": "职工书屋藏书两千余册，会员可预约借阅，每次最多3本，借期30天。",
            "delivery": Delivery.STATION,
            "station": homes["home"],
            "due_days": 3,
        },
        publish=True,
        answer="职工书屋已在职工之家开放，欢迎预约借阅。",
        acting_user=ctx.officers["yunfan_admin"],
    )

    # Requests in every state.
    mine = _order(rest, ctx.demo_member, "希望安排在10月份的千岛湖线路。")
    request_actions.accept_request(request=mine, acting_user=zj)
    done = _order(rest, p[0])
    request_actions.start_request(request=done, acting_user=zj)
    request_actions.complete_request(
        request=done, result="已安排千岛湖疗休养基地第3批次，出发前一周另行通知。", acting_user=zj
    )
    request_actions.rate_request(
        request=done, rating=5, comment="安排得很周到。", acting_user=p[0].user
    )
    refused = _order(rest, p[6])
    request_actions.reject_request(
        request=refused, reason="本年度已参加过疗休养，按规定每人每年一次。", acting_user=zj
    )
    case = _order(legal, p[1], "公司拖欠两个月绩效工资，想咨询如何维权。")
    request_actions.accept_request(request=case, acting_user=hz)
    request_actions.add_confidential_note(
        request=case, text="已约定周三下午电话咨询，需准备劳动合同和工资条。", acting_user=hz
    )
    request_actions.complete_request(
        request=case,
        result="律师已提供书面法律意见，建议先与公司协商，协商不成可申请劳动仲裁。",
        acting_user=hz,
    )
    request_actions.rate_request(request=case, rating=4, acting_user=p[1].user)
    _order(counselling, p[2], "最近工作压力大，睡眠不好。")
    if ctx.couriers:
        _order(legal, ctx.couriers[0], "送件途中发生交通事故，想了解工伤认定。")
    training_request = _order(training, p[3])
    request_actions.accept_request(request=training_request, acting_user=xihu)
    borrowed = _order(books, p[4], "想借《人类简史》。")
    request_actions.accept_request(request=borrowed, acting_user=yunfan_staff)
    request_actions.complete_request(
        request=borrowed, result="图书已备好，请到职工之家前台领取。", acting_user=yunfan_staff
    )
    request_actions.rate_request(request=borrowed, rating=5, acting_user=p[4].user)
    _order(books, p[5])


# --- Activities ---------------------------------------------------------------------------


def _seed_activities(ctx: _Context, homes: dict[str, Station]) -> None:
    staff = ctx.officers["yunfan_staff"]
    salon = activities.create_activity(
        organization=ctx.orgs[YUNFAN],
        data={
            "title": "职工之家花艺手作沙龙",
            "description": "花艺老师现场教学，每人完成一束桌花带回家。材料由工会提供，名额有限。",
            "delivery": Delivery.STATION,
            "station": homes["home"],
            "venue": "云帆大厦12楼多功能活动室",
        },
        acting_user=staff,
    )
    # Starts within the hour, so check-in (open from one hour before) can be tried now.
    start = timezone.localtime(ctx.now).replace(second=0, microsecond=0)
    start += datetime.timedelta(minutes=50 + (-start.minute) % 10)
    session = activities.add_session(
        activity=salon,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2, minutes=30),
        capacity=6,
        acting_user=staff,
    )
    activities.publish_activity(activity=salon, acting_user=staff)
    for member in [ctx.demo_member, *ctx.people[:7]]:
        activities.register(session=session, member=member, acting_user=member.user)
    activities.check_in_by_card(
        session=session, card_token=card_token(ctx.people[0]), acting_user=staff
    )
    ctx.today_session = session

    hz = ctx.officers["hz_admin"]
    lecture = activities.create_activity(
        organization=ctx.orgs[CITY],
        data={
            "title": "劳动法律知识线上讲座：加班、调休与年休假",
            "description": "市总工会职工法律援助律师在线讲解加班工资计算、调休和带薪年休假，"
            "讲座后半小时在线答疑。",
            "delivery": Delivery.ONLINE,
            "online_url": "https://meeting.example.com/hzgh-labour-law",
        },
        acting_user=hz,
    )
    evening = timezone.make_aware(
        datetime.datetime.combine(ctx.today + datetime.timedelta(days=7), datetime.time(19, 30))
    )
    online = activities.add_session(
        activity=lecture,
        starts_at=evening,
        ends_at=evening + datetime.timedelta(hours=1, minutes=30),
        capacity=300,
        acting_user=hz,
    )
    activities.publish_activity(activity=lecture, acting_user=hz)
    for member in [*ctx.people[8:11], *ctx.couriers]:
        activities.register(session=online, member=member, acting_user=member.user)


# --- Worker voice -------------------------------------------------------------------------


def _seed_concerns(ctx: _Context) -> None:
    p = ctx.people
    staff = ctx.officers["yunfan_staff"]
    # Raised eight days ago and never answered: the daily job has moved it up twice, to the
    # township and then the district federation. Its raising is backdated (demo history
    # only) and the escalation job run at the times it would have run.
    late = voice.raise_concern(
        member=p[7],
        data={
            "category": ConcernCategory.CONTRACT,
            "title": "劳动合同到期后一直未续签",
            "text": "我的劳动合同上个月已经到期，公司一直没有和我续签，也没有说明原因，"
            "担心影响社保和年终奖。",
        },
    )
    raised = ctx.now - datetime.timedelta(days=8)
    days = due_days(late.origin, late.grade)
    Concern.objects.filter(pk=late.pk).update(
        created_at=raised, due_at=raised + datetime.timedelta(days=days)
    )
    ConcernStep.objects.filter(concern=late).update(at=raised)
    first = raised + datetime.timedelta(days=days, hours=2)
    voice.escalate_overdue_concerns(now=first)
    township = ctx.orgs[YUNFAN].parent
    voice.escalate_overdue_concerns(
        now=first + datetime.timedelta(days=due_days(township, late.grade), hours=2)
    )

    voice.raise_concern(
        member=p[8],
        data={
            "category": ConcernCategory.HOURS,
            "title": "项目上线期间连续加班，调休无法落实",
            "text": "最近一个月每周加班超过20小时，部门说上线后调休，但一直排不上。",
            "hide_name": True,
        },
    )
    rated = voice.raise_concern(
        member=p[9],
        data={
            "category": ConcernCategory.SAFETY,
            "title": "12楼办公区空调长期故障",
            "text": "12楼东侧空调坏了两周，下午室内超过30度，希望尽快维修。",
        },
    )
    voice.reply_to_concern(
        concern=rated,
        text="已与行政部沟通，空调已于本周二完成维修，后续每月巡检一次。",
        acting_user=staff,
    )
    voice.rate_concern(concern=rated, member=p[9], rating=5, comment="修好了，谢谢工会。")
    own = voice.raise_concern(
        member=ctx.demo_member,
        data={
            "category": ConcernCategory.WELFARE,
            "title": "希望生日福利可以自选",
            "text": "目前生日福利只有蛋糕券，希望可以在电影票、书店卡等几种里自选。",
        },
    )
    voice.reply_to_concern(
        concern=own,
        text="感谢建议！工会委员会已讨论通过，下季度起生日福利可在蛋糕券、电影票和书店卡中自选。",
        acting_user=ctx.officers["yunfan_admin"],
    )


# --- Hardship aid -------------------------------------------------------------------------


def _seed_aid(ctx: _Context) -> None:
    p = ctx.people
    local, approver = ctx.officers["yunfan_aid"], ctx.officers["xihu_aid"]
    aid.apply_for_aid(
        member=p[10],
        data={
            "tier": AidTier.RELATIVE,
            "reason": AidReason.EDUCATION,
            "household_size": 4,
            "household_monthly_income": Decimal("5200.00"),
            "situation": "两个孩子同时上大学，爱人无固定工作，家庭开支压力较大。",
            "amount_requested": Decimal("3000.00"),
        },
    )
    visited = aid.open_aid_case(
        member=p[11],
        data={
            "tier": AidTier.SUDDEN,
            "reason": AidReason.DISASTER,
            "household_size": 3,
            "household_monthly_income": Decimal("3800.00"),
            "situation": "家中老房因暴雨受损，维修费用约两万元，本人为家庭唯一收入来源。",
            "amount_requested": Decimal("5000.00"),
        },
        acting_user=local,
    )
    aid.review_case(case=visited, accept=True, text="材料齐全，同意入户走访。", acting_user=local)
    aid.record_home_visit(
        case=visited,
        text="房屋受损情况属实，已拍照留存；家庭收入情况与申报一致。",
        visited_on=ctx.today,
        visitors="工会主席、工会经审委员",
        acting_user=local,
    )
    notice = aid.open_aid_case(
        member=p[12],
        data={
            "tier": AidTier.DEEP,
            "reason": AidReason.ILLNESS,
            "household_size": 3,
            "household_monthly_income": Decimal("2600.00"),
            "situation": "爱人患尿毒症需长期透析，自付医疗费用较高，孩子正在读初中。",
            "amount_requested": Decimal("8000.00"),
        },
        acting_user=local,
    )
    aid.review_case(case=notice, accept=True, acting_user=local)
    aid.record_home_visit(
        case=notice,
        text="家庭情况属实，透析费用票据已核对。",
        visited_on=ctx.today,
        visitors="工会主席、女职工委员",
        acting_user=local,
    )
    aid.approve_case(
        case=notice,
        amount=Decimal("6000.00"),
        tier=AidTier.DEEP,
        text="符合深度困难职工认定条件。",
        acting_user=approver,
    )
    aid.start_notice(case=notice, acting_user=local)


# --- Announcements -------------------------------------------------------------------------


def _seed_announcements(ctx: _Context) -> None:
    """One notice of the district federation, sent to its subtree once the seed commits."""
    staff = ctx.officers["xihu_staff"]
    draft = announcements.create_announcement(
        organization=ctx.orgs[DISTRICT],
        title="关于开展2026年“两节”送温暖活动的通知",
        body=(
            "各基层工会、全体会员：\n"
            "为把党和政府的关怀送到职工心坎上，区总工会将于元旦、春节期间开展送温暖活动。"
            "困难职工可通过网上工会“困难帮扶”提出申请，也可联系所在基层工会。\n"
            "西湖区总工会"
        ),
        acting_user=staff,
    )
    announcements.publish_announcement(announcement=draft, acting_user=staff)


# --- Reset --------------------------------------------------------------------------------


def reset() -> None:
    """Delete every services row (children first) and the demo aid officers."""
    Announcement.objects.all().delete()
    StationVisit.objects.all().delete()
    Registration.objects.all().delete()
    ActivitySession.objects.all().delete()
    Activity.objects.all().delete()
    ConfidentialNote.objects.all().delete()
    RequestStep.objects.all().delete()
    ServiceRequest.objects.all().delete()
    Service.objects.all().delete()
    WishVote.objects.all().delete()
    ServiceWish.objects.all().delete()
    AidObjection.objects.all().delete()
    AidStep.objects.all().delete()
    AidCase.objects.all().delete()
    ConcernStep.objects.all().delete()
    Concern.objects.all().delete()
    Station.objects.all().delete()
    ServiceSettings.objects.all().delete()
    OrgCounter.objects.filter(key__startswith="services.").delete()
    get_user_model().objects.filter(username__in=[u for u, _org in AID_USERS]).delete()
