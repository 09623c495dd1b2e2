"""A seeded world of tenants for the security tests (isolation matrix, schemathesis).

Interface (stable; other test modules import it):

    from tests.security.world import PASSWORD, TENANTS, World, build_world

    world = build_world()   # inside a test or fixture with database access

    world.orgs[key]                 # the Organization of tenant `key` (keys: TENANTS)
    world.objects[key][model]       # the object of `model` seeded in that tenant; `model` is
                                    # a key of MODELS (absent where the model does not apply,
                                    # e.g. no member at a county federation)
    world.object_of(key, Model)     # the same, looked up by model class (None if absent)
    world.users[key][role]          # an officer holding one grant `role` (organizations.
                                    # models.Role: admin, staff, viewer, aid) at the tenant
    world.members[key]              # the tenant's member with a portal account (.user);
                                    # grassroots tenants only ("a", "b", "c")
    world.member_user               # the portal account of union A's member
    world.join_keys[key]            # the secret of the join application's status link
    world.seeds                     # every seeded object with its canary strings (Seed)
    world.canaries_outside(org, *, as_member=False, include_public=False) -> set[str]
    world.canaries_of(key) -> set[str]   # every canary seeded in one tenant
    world.numeric_canaries          # tenant -> the printed forms of its distinctive figures
    world.numbers_outside(org) -> set[str]   # numeric canaries `org`'s officers must not see

Every seeded object carries unique canary strings ``CANARY-<tenant>-<model>-<hex>`` in its
free-text fields (an organization in its address, a member in its name and employer, a
user in its username, a report in its error text, the administrator's API token in its
name). A canary is only ever shown to those who may see the object, so finding one in a
response body that the reader may not see is a leak. `canaries_outside(org)` gives the
canaries a user whose scope is `org`'s subtree must not see, following
`organizations.scope`:

- an object is visible to a scope that covers one of the tenants it belongs to, or one of
  the tenants it is legitimately shown to (a transfer to both unions, a concern handed over
  to the union that handles it and the union it came from, ...);
- ``as_member=True``: the reader is a member of `org` in the portal, who also sees what the
  unions of their chain publish to them (services, activities, announcements, open wishes);
- ``include_public=False`` (the default) leaves out public facts (an organization's
  address, a station and its visitors' comments), which anyone may read on public pages;
  with ``include_public=True`` they count too, except the public facts of `org`'s own
  chain of federations (the union's page shows them): use it for the admin and the API,
  whose lists are scoped.

Pages that show only figures carry no canary string, so some tenants also have numeric
canaries: the dues paid in the current month by their member (`NUMERIC_CANARIES`), a yuan
amount of six significant digits, and their number of employees (`NUMERIC_EMPLOYEES`), a
five-digit count; no sum can equal either (every union beside it pays something and counts
employees too). `numeric_canaries[key]` holds the forms pages print them in: "8,641.37",
"8641.37" and in fen "864137"; "52,719" and "52719". A reader may see a tenant's figures if
the tenant is in its subtree, or if the tenant is affiliated to the reader (a national
industry union sees its affiliates' figures aggregated; the matrix allows it their
numbers).

The tree (each tenant a key):

    national  中华全国总工会
    province  浙江省总工会 ─ city 杭州市总工会 ─ county 西湖区总工会 ─┬─ a  (grassroots)
                                                                    └─ b  (grassroots)
    other_province 广东省总工会 ─ other_city 深圳市总工会 ─ c (grassroots)
    city 杭州市总工会 ─ other_county 上城区总工会      (beside county; reads only)
    national ─ industry 中国海员建设工会                (b affiliated to it; reads only)

The two reader-only federations (`READERS_ONLY`) have officers, an audit entry, a union
import and a report, but no services or member-bound rows: the isolation matrix uses them
(and the federations above) as readers reaching sideways.

All users' password is `PASSWORD`, hashed once with the hasher configured when the world
is built. Building writes uploaded spreadsheets and a concern attachment under
MEDIA_ROOT: point it at a temporary directory first. On-commit work (notifications,
background checks) does not run inside a test transaction, so jobs stay queued.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.utils import timezone

from accounts.models import AccessToken
from core.models import AuditEntry
from members.actions import cards as card_actions
from members.actions import dues as dues_actions
from members.actions import joining as joining_actions
from members.actions import payroll as payroll_actions
from members.actions import records as member_actions
from members.actions import spreadsheets as spreadsheet_actions
from members.actions import transfers as transfer_actions
from members.models import (
    DuesRecord,
    ImportJob,
    ImportKind,
    JoinApplication,
    Member,
    Transfer,
    TransferSide,
)
from members.people import clean_person
from notifications import actions as notification_actions
from notifications.models import Notification
from organizations import actions as org_actions
from organizations import scope
from organizations.actions import import_jobs as union_import_jobs
from organizations.models import Level, Organization, OrgRole, Role, UnionImport
from reports import actions as report_actions
from reports import selectors
from reports.models import ReportJob, ReportStatus
from services.actions import activities as activity_actions
from services.actions import aid as aid_actions
from services.actions import announcements as announcement_actions
from services.actions import menu as menu_actions
from services.actions import requests as request_actions
from services.actions import stations as station_actions
from services.actions import voice as voice_actions
from services.actions import wishes as wish_actions
from services.models import (
    Activity,
    ActivitySession,
    AidCase,
    Announcement,
    Concern,
    ConfidentialNote,
    Registration,
    Service,
    ServiceRequest,
    ServiceSettings,
    ServiceWish,
    Station,
    StationVisit,
)
from tests.factories import OrganizationFactory, make_token, make_uscc, person_data

PASSWORD = "Pass-word-123"

TENANTS = (
    "national",
    "province",
    "city",
    "county",
    "a",
    "b",
    "other_province",
    "other_city",
    "c",
    "other_county",
    "industry",
)
GRASSROOTS = ("a", "b", "c")
# Federations that only read (the isolation matrix's sideways readers): officers and a report,
# no services or member-bound objects of their own. The other county sits beside union A's
# county under the same city; the national industry union has union B affiliated (dual
# affiliation), whose figures it may see aggregated but whose rows it may not.
READERS_ONLY = ("other_county", "industry")
ROLES = tuple(Role.values)

# Model key -> model class of the seeded objects ("mover" is the member being transferred,
# "payrolljob" the payroll upload; both are rows of the model named).
MODELS: dict[str, type[Model]] = {
    "organization": Organization,
    "orgrole": OrgRole,
    "auditentry": AuditEntry,
    "member": Member,
    "mover": Member,
    "joinapplication": JoinApplication,
    "transfer": Transfer,
    "duesrecord": DuesRecord,
    "importjob": ImportJob,
    "payrolljob": ImportJob,
    "service": Service,
    "servicerequest": ServiceRequest,
    "confidentialnote": ConfidentialNote,
    "servicewish": ServiceWish,
    "activity": Activity,
    "activitysession": ActivitySession,
    "registration": Registration,
    "aidcase": AidCase,
    "concern": Concern,
    "station": Station,
    "stationvisit": StationVisit,
    "servicesettings": ServiceSettings,
    "announcement": Announcement,
    "reportjob": ReportJob,
    "unionimport": UnionImport,
    "notification": Notification,
    "accesstoken": AccessToken,
}

# Where a tenant's member-bound objects come from: the grassroots union whose member orders
# the service, proposes the wish, raises the concern... of a federation above it.
MEMBER_SOURCE = {
    "national": "b",
    "province": "b",
    "city": "b",
    "county": "b",
    "a": "a",
    "b": "b",
    "other_province": "c",
    "other_city": "c",
    "c": "c",
}
# Transfers between grassroots unions: none touches union A's sibling's and A's together.
TRANSFER_TO = {"a": "c", "b": "c", "c": "b"}

PRIVATE, CHAIN, PUBLIC = "private", "chain", "public"

# Dues paid this month by the member of each tenant (see the module docstring). Union A pays
# too, so that its county's sums differ from B's figure.
NUMERIC_CANARIES = {"b": Decimal("8641.37"), "c": Decimal("7352.91")}
OWN_PAYMENT = Decimal("25.13")
NUMERIC_WAGE_BASE = "3000000"
# Employees of each grassroots union (the dashboards' breakdowns and reports show them); A's
# own count keeps its county's sum apart from B's.
NUMERIC_EMPLOYEES = {"b": 52719, "c": 61847}
OWN_EMPLOYEES = 130


def numeric_forms(amount: Decimal) -> tuple[str, ...]:
    """How pages print a yuan amount: grouped, plain, and in fen (JSON counters)."""
    return (f"{amount:,.2f}", f"{amount:.2f}", str(int(amount * 100)))


def count_forms(count: int) -> tuple[str, ...]:
    """How pages print a count: grouped and plain."""
    return (f"{count:,}", str(count))


AID_DATA = {
    "tier": "relative",
    "reason": "unemployment",
    "household_size": 4,
    "household_monthly_income": Decimal("1800.00"),
    "amount_requested": Decimal("2000.00"),
}
PDF = b"%PDF-1.4\n% isolation matrix\n%%EOF\n"


def canary(tenant: str, model: str) -> str:
    # Letters only (hex digits a-f): a canary is also a member's real name, which is made
    # of letters (Latin letters and hyphens for a foreign national).
    return f"CANARY-{tenant}-{model}-{''.join(secrets.choice('abcdef') for _ in range(8))}"


@dataclass
class Seed:
    """One seeded object: its tenant, canaries, and who may legitimately see them."""

    tenant: str
    model: str
    obj: Model | None
    canaries: tuple[str, ...]
    # Tenants whose scope shows the object (its own, and e.g. the other side of a transfer).
    visible_in: set[str]
    exposure: str = PRIVATE


@dataclass
class World:
    orgs: dict[str, Organization]
    objects: dict[str, dict[str, Model]]
    users: dict[str, dict[str, object]]
    members: dict[str, Member]
    join_keys: dict[str, str]
    seeds: list[Seed] = field(default_factory=list)
    numeric_canaries: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def member_user(self):
        return self.members["a"].user

    def object_of(self, tenant: str, model: type[Model]) -> Model | None:
        """The tenant's seeded object of `model` (the first model key naming it)."""
        for key, cls in MODELS.items():
            if cls is model and key in self.objects[tenant]:
                return self.objects[tenant][key]
        return None

    def key_of(self, org: Organization | str) -> str:
        if isinstance(org, str):
            return org
        for key, o in self.orgs.items():
            if o.pk == org.pk:
                return key
        raise KeyError(org)

    def subtree(self, org: Organization | str) -> set[str]:
        """The tenants in `org`'s subtree, as `organizations.scope` computes it."""
        org = self.orgs[self.key_of(org)]
        org = Organization.objects.get(pk=org.pk)
        pks = set(Organization.objects.filter(scope.subtree_q(org)).values_list("pk", flat=True))
        return {key for key, o in self.orgs.items() if o.pk in pks}

    def chain(self, org: Organization | str) -> set[str]:
        """`org` and its federations up to the national one."""
        keys = set()
        current = Organization.objects.get(pk=self.orgs[self.key_of(org)].pk)
        while current is not None:
            keys.add(self.key_of(current))
            current = current.parent
        return keys

    def canaries_of(self, tenant: str) -> set[str]:
        return {c for seed in self.seeds if seed.tenant == tenant for c in seed.canaries}

    def numbers_outside(self, org: Organization | str) -> set[str]:
        """The numeric canaries a reader whose scope is `org`'s subtree must not see: those of
        tenants outside the subtree that are not affiliated to `org` (see above)."""
        reader = self.orgs[self.key_of(org)]
        inside = self.subtree(org)
        affiliated = set(
            Organization.objects.filter(industry=reader.pk).values_list("pk", flat=True)
        )
        return {
            form
            for key, forms in self.numeric_canaries.items()
            if key not in inside and self.orgs[key].pk not in affiliated
            for form in forms
        }

    def canaries_outside(
        self, org: Organization | str, *, as_member: bool = False, include_public: bool = False
    ) -> set[str]:
        """The canaries a reader whose scope is `org`'s subtree must not see (see above)."""
        inside = self.subtree(org)
        chain = self.chain(org)
        result: set[str] = set()
        for seed in self.seeds:
            if seed.visible_in & inside:
                continue
            own_chain_fact = seed.model == "organization" and seed.tenant in chain
            if seed.exposure == PUBLIC and (not include_public or own_chain_fact):
                continue
            if seed.exposure == CHAIN and as_member and seed.tenant in chain:
                continue
            result.update(seed.canaries)
        return result


def build_world() -> World:
    """Seed every tenant through the project's actions; see the module docstring."""
    User = get_user_model()
    password = make_password(PASSWORD)
    seeds: list[Seed] = []
    objects: dict[str, dict[str, Model]] = {key: {} for key in TENANTS}

    def seed(tenant, model, obj, canaries, *, also=(), exposure=PRIVATE):
        objects[tenant][model] = obj
        seeds.append(Seed(tenant, model, obj, tuple(canaries), {tenant, *also}, exposure))
        return obj

    # --- The tree ------------------------------------------------------------------------
    org_canaries = {key: canary(key, "organization") for key in TENANTS}

    def org(key, name, level, parent=None, **data):
        return OrganizationFactory(
            name=name, level=level, parent=parent, address=org_canaries[key], **data
        )

    national = org("national", "中华全国总工会", Level.NATIONAL, short_name="全总")
    province = org("province", "浙江省总工会", Level.PROVINCIAL, national, region_code="330000")
    city = org("city", "杭州市总工会", Level.CITY, province, region_code="330100")
    county = org("county", "西湖区总工会", Level.COUNTY, city, region_code="330106")
    union_a = org(
        "a",
        "杭州甲科技有限公司工会",
        Level.GRASSROOTS,
        county,
        uscc=make_uscc("330106"),
        employees=OWN_EMPLOYEES,
    )
    union_b = org(
        "b",
        "杭州乙物流有限公司工会",
        Level.GRASSROOTS,
        county,
        uscc=make_uscc("330106"),
        employees=NUMERIC_EMPLOYEES["b"],
    )
    other_province = org(
        "other_province", "广东省总工会", Level.PROVINCIAL, national, region_code="440000"
    )
    other_city = org("other_city", "深圳市总工会", Level.CITY, other_province, region_code="440300")
    union_c = org(
        "c",
        "深圳丙电子有限公司工会",
        Level.GRASSROOTS,
        other_city,
        region_code="440305",
        employees=NUMERIC_EMPLOYEES["c"],
    )
    other_county = org("other_county", "上城区总工会", Level.COUNTY, city, region_code="330102")
    industry = org("industry", "中国海员建设工会", Level.INDUSTRY, national, short_name="海员建设")
    Organization.objects.filter(pk=union_b.pk).update(industry=industry)
    created = [
        national,
        province,
        city,
        county,
        union_a,
        union_b,
        other_province,
        other_city,
        union_c,
        other_county,
        industry,
    ]
    # Later inserts shifted the MPTT positions: read every organization afresh.
    fresh = Organization.objects.in_bulk([o.pk for o in created])
    orgs = {key: fresh[o.pk] for key, o in zip(TENANTS, created, strict=True)}
    for key in TENANTS:
        seed(key, "organization", orgs[key], [org_canaries[key]], exposure=PUBLIC)

    # --- Officers: one user per role and tenant ----------------------------------------
    users: dict[str, dict[str, object]] = {key: {} for key in TENANTS}
    user_seeds: dict[tuple[str, str], Seed] = {}
    for key in TENANTS:
        for role in ROLES:
            name = canary(key, f"user_{role}")
            user = User.objects.create(username=name, password=password)
            grant = org_actions.grant_role(user=user, organization=orgs[key], role=role)
            users[key][role] = user
            user_seeds[key, role] = Seed(key, f"user_{role}", user, (name,), {key})
            if role == Role.ADMIN:
                objects[key]["orgrole"] = grant
        seeds.extend(user_seeds[key, role] for role in ROLES)

    def acted(tenant, role, *elsewhere):
        """An officer's name is shown wherever they acted, e.g. on the other union's side."""
        user_seeds[tenant, role].visible_in.update(elsewhere)
        return users[tenant][role]

    for key in TENANTS:
        entry = org_actions.record_audit(
            actor=users[key][Role.ADMIN],
            action="security.canary",
            obj=orgs[key],
            organization=orgs[key],
            changes={"note": (text := canary(key, "auditentry"))},
        )
        seed(key, "auditentry", entry, [text])
        # A union spreadsheet upload into each tenant (its file name is the canary).
        name = canary(key, "unionimport")
        job = union_import_jobs.start_union_import(
            organization=orgs[key],
            uploaded_file=SimpleUploadedFile(f"{name}.csv", "名称,级别\n".encode()),
            acting_user=users[key][Role.ADMIN],
        )
        seed(key, "unionimport", job, [name])

    # --- Members, applications, transfers, dues, spreadsheets ----------------------------
    members: dict[str, Member] = {}
    join_keys: dict[str, str] = {}
    movers: dict[str, Member] = {}
    for key in GRASSROOTS:
        names = [canary(key, "member"), canary(key, "member_employer")]
        member = member_actions.create_member(
            organization=orgs[key],
            data=clean_person(person_data(name=names[0], employer=names[1])),
            acting_user=users[key][Role.ADMIN],
        )
        member.user = User.objects.create(username=member.membership_number, password=password)
        member.save(update_fields=["user"])
        member = card_actions.issue_card(member=member)
        members[key] = seed(key, "member", member, names)

        names = [canary(key, "mover"), canary(key, "mover_employer")]
        movers[key] = member_actions.create_member(
            organization=orgs[key],
            data=clean_person(person_data(name=names[0], employer=names[1])),
            acting_user=users[key][Role.ADMIN],
        )
        seed(key, "mover", movers[key], names, also=[TRANSFER_TO[key]])

        names = [canary(key, "joinapplication"), canary(key, "joinapplication_employer")]
        application, join_keys[key] = joining_actions.submit_join_application(
            organization=orgs[key],
            data=person_data(name=names[0], employer=names[1]),
            password=PASSWORD,
            privacy_consent=True,
            sensitive_consent=True,
        )
        seed(key, "joinapplication", application, names)

    for key in GRASSROOTS:
        texts = [canary(key, "transfer"), canary(key, "transfer_employer")]
        transfer = transfer_actions.request_transfer(
            member=movers[key],
            to_organization=orgs[TRANSFER_TO[key]],
            side=TransferSide.SENDING,
            acting_user=acted(key, Role.ADMIN, TRANSFER_TO[key]),
            reason=texts[0],
            new_employer=texts[1],
        )
        seed(key, "transfer", transfer, texts, also=[TRANSFER_TO[key]])

        admin = users[key][Role.ADMIN]
        wage_base = NUMERIC_WAGE_BASE if key in NUMERIC_CANARIES else "6000"
        dues_actions.set_wage_base(member=members[key], wage_base=wage_base, acting_user=admin)
        period = timezone.localdate().replace(day=1)
        dues_actions.generate_monthly_dues(organization=orgs[key], period=period, acting_user=admin)
        record = DuesRecord.objects.get(member=members[key], period=period)
        # The numeric canary: what the member paid this month (others pay a plain amount).
        record = dues_actions.record_payment(
            record=record,
            amount=str(NUMERIC_CANARIES.get(key, OWN_PAYMENT)),
            method="cash",
            acting_user=admin,
        )
        # No free text on a dues record: the member's name shows where it is listed.
        seed(key, "duesrecord", record, [])

        name = canary(key, "importjob")
        job = spreadsheet_actions.start_member_import(
            organization=orgs[key],
            uploaded_file=SimpleUploadedFile(f"{name}.csv", "姓名,身份证号\n".encode()),
            acting_user=admin,
        )
        seed(key, "importjob", job, [name])
        name = canary(key, "payrolljob")
        job = payroll_actions.create_payroll_job(
            organization=orgs[key],
            period=period,
            file=SimpleUploadedFile(f"{name}.csv", "会员证号,工资基数\n".encode()),
            acting_user=admin,
        )
        assert job.kind == ImportKind.PAYROLL
        seed(key, "payrolljob", job, [name])

    # --- Services: menu, requests, wishes, activities, aid, concerns, stations ------------
    for key in TENANTS:
        if key in READERS_ONLY:
            continue
        source = MEMBER_SOURCE[key]
        member = members[source]
        elsewhere = {source} - {key}
        staff = acted(key, Role.STAFF)
        admin = users[key][Role.ADMIN]

        texts = [canary(key, "service"), canary(key, "service_description")]
        service = menu_actions.create_service(
            organization=orgs[key],
            data={"title": texts[0], "category": "legal", "description": texts[1]},
            acting_user=admin,
        )
        service = menu_actions.publish_service(service=service, acting_user=admin)
        # Its title is shown with the order, to the ordering member's union too.
        seed(key, "service", service, texts, also=elsewhere, exposure=CHAIN)

        note = canary(key, "servicerequest")
        request = request_actions.order_service(
            service=service, member=member, note=note, acting_user=member.user
        )
        seed(key, "servicerequest", request, [note], also=elsewhere)
        text = canary(key, "confidentialnote")
        confidential = request_actions.add_confidential_note(
            request=request, text=text, acting_user=staff
        )
        seed(key, "confidentialnote", confidential, [text])

        texts = [canary(key, "servicewish"), canary(key, "servicewish_description")]
        wish = wish_actions.propose_wish(
            member=member,
            organization=orgs[key],
            title=texts[0],
            description=texts[1],
            acting_user=member.user,
        )
        seed(key, "servicewish", wish, texts, also=elsewhere, exposure=CHAIN)

        texts = [canary(key, "activity"), canary(key, "activity_description")]
        activity = activity_actions.create_activity(
            organization=orgs[key],
            data={"title": texts[0], "description": texts[1], "venue": "职工书屋"},
            acting_user=staff,
        )
        start = timezone.now() + datetime.timedelta(days=2)
        session = activity_actions.add_session(
            activity=activity,
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=2),
            capacity=10,
            acting_user=staff,
        )
        activity = activity_actions.publish_activity(activity=activity, acting_user=staff)
        seed(key, "activity", activity, texts, also=elsewhere, exposure=CHAIN)
        seed(key, "activitysession", session, [], also=elsewhere, exposure=CHAIN)
        registration = activity_actions.register(
            session=session, member=member, acting_user=member.user
        )
        seed(key, "registration", registration, [], also=elsewhere)

        texts = [canary(key, "concern"), canary(key, "concern_text")]
        concern = voice_actions.raise_concern(
            member=member,
            data={"category": "wages", "title": texts[0], "text": texts[1]},
            attachment=SimpleUploadedFile("evidence.pdf", PDF) if key == source else None,
        )
        if key != source:
            reason = canary(key, "concern_handover")
            texts.append(reason)
            concern = voice_actions.hand_over_concern(
                concern=concern,
                to_organization=orgs[key],
                reason=reason,
                acting_user=acted(source, Role.STAFF, key),
            )
        seed(key, "concern", concern, texts, also=elsewhere)

        texts = [canary(key, "station"), canary(key, "station_description")]
        station = station_actions.create_station(
            organization=orgs[key],
            data={"name": texts[0], "address": "文三路1号", "description": texts[1]},
            acting_user=admin,
        )
        seed(key, "station", station, texts, exposure=PUBLIC)
        comment = canary(key, "stationvisit")
        visit = station_actions.rate_visit(
            station=station, member=member, rating=4, comment=comment
        )
        seed(key, "stationvisit", visit, [comment], also=elsewhere, exposure=PUBLIC)

        settings_row = station_actions.save_settings(
            organization=orgs[key], data={}, acting_user=admin
        )
        seed(key, "servicesettings", settings_row, [])

        texts = [canary(key, "announcement"), canary(key, "announcement_body")]
        announcement = announcement_actions.create_announcement(
            organization=orgs[key], title=texts[0], body=texts[1], acting_user=staff
        )
        announcement = announcement_actions.publish_announcement(
            announcement=announcement, acting_user=staff
        )
        seed(key, "announcement", announcement, texts, exposure=CHAIN)

        text = canary(key, "notification")
        recipients = [users[key][role] for role in ROLES]
        if key in GRASSROOTS:
            recipients.append(members[key].user)
        notification_actions.notify(
            recipients, "role.granted", {"role": text, "organization": orgs[key].name}
        )
        inbox = Notification.objects.filter(recipient=users[key][Role.ADMIN], kind="role.granted")
        seed(key, "notification", inbox.get(context__role=text), [text])

        # The administrator's API token, named with a canary (its owner's alone to see).
        text = canary(key, "accesstoken")
        make_token(users[key][Role.ADMIN])
        token = AccessToken.objects.filter(user=users[key][Role.ADMIN]).latest("pk")
        token.name = text
        token.save(update_fields=["name"])
        seed(key, "accesstoken", token, [text])

    for key in GRASSROOTS:
        text = canary(key, "aidcase")
        case = aid_actions.open_aid_case(
            member=members[key],
            data={**AID_DATA, "situation": text},
            acting_user=users[key][Role.AID],
        )
        seed(key, "aidcase", case, [text])

    # --- Reports (above grassroots level, where statistics are seen) ---------------------
    today = timezone.localdate()
    period = selectors.Period(start=today.replace(day=1), end=today)
    for key in TENANTS:
        if key in GRASSROOTS:
            continue
        job = report_actions.request_report(
            user=users[key][Role.VIEWER], organization=orgs[key], period=period
        )
        # A failed job shows its error: the canary goes there (the job never ran).
        text = canary(key, "reportjob")
        ReportJob.objects.filter(pk=job.pk).update(status=ReportStatus.FAILED, error=text)
        job.refresh_from_db()
        seed(key, "reportjob", job, [text])

    for tenant_users in users.values():
        for user in tenant_users.values():
            scope.forget(user)
    return World(
        orgs=orgs,
        objects=objects,
        users=users,
        members=members,
        join_keys=join_keys,
        seeds=seeds,
        numeric_canaries={
            key: numeric_forms(v) + count_forms(NUMERIC_EMPLOYEES[key])
            for key, v in NUMERIC_CANARIES.items()
        },
    )
