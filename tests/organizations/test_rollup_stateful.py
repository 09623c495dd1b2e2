"""The subtree roll-ups stay exact under any sequence of real domain actions.

A hypothesis state machine drives the actions every surface calls, in random order:
members join (enrolled by their union or approved online), transfer between grassroots
unions (also across provinces, started by the member, the sending or the receiving union,
then released, accepted, refused or cancelled), are parked as retained memberships at a
township, withdraw or otherwise end their membership and rejoin online; they order
services from the menu, which are accepted, started, completed, rejected, cancelled and
rated; they raise concerns, which are answered, closed, rated, reopened and escalated.
Grassroots unions move in the tree (also into and out of a national industry union's own
tree) and join, change or leave their national industry union; the journal is folded now
and then, so that both the waiting-journal and the folded state are read.

After every step that wrote something, for every organization (read afresh: tree writes
shift lft/rght), `rollups.totals` must equal the figures counted from the rows themselves
(members, membership events, service requests, concerns, organizations) over the
organization's subtree as `scope.subtree_q` selects it: by region, by industry
(``industry.<id>.``) and, on a national industry union, for its affiliated unions
(``affiliated.``); and `rollups.verify()` must find no drift. Before each fold,
`many_totals` must agree with `totals` and `counters.verify()` must find no drift.

Budget: 25 examples of up to 25 steps each (EXAMPLES, STEPS): the machine runs in about
30 s on the 2-core development machine, the whole pytest run in about 35 s. The tree is
built once per test; each example runs in a savepoint rolled back at its teardown, so
examples are independent. A failure is shrunk to a short sequence of steps, which may take
Hypothesis up to its limit of five minutes.
"""

import datetime
from collections import Counter, defaultdict
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max
from django.db.models.functions import ExtractYear
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core import stats
from core.models import AuditEntry
from members.actions import joining, transfers
from members.actions import records as member_actions
from members.models import (
    CURRENT_STATUSES,
    EventKind,
    Member,
    MembershipEvent,
    MemberStatus,
    Transfer,
    TransferStatus,
)
from members.people import clean_person
from organizations import actions as org_actions
from organizations import counters, rollups, scope
from organizations.models import CounterDelta, Level, Organization, OrgStatus
from services.actions import menu, union_chain, voice
from services.actions import requests as request_actions
from services.models import (
    OPEN_REQUEST_STATUSES,
    Concern,
    ConcernStatus,
    RequestStatus,
    Service,
    ServiceRequest,
)
from tests.factories import OrganizationFactory, person_data

EXAMPLES = 25
STEPS = 25

PASSWORD = "Pass-word-123"
BORN = ("19660315", "19790808", "19881201", "20010620")
UNIONS = ("union_a", "union_b", "union_c", "sea_union")  # where members are kept
PARENTS = ("xihu", "township", "sz", "seafarers")  # where grassroots unions may move
INDUSTRIES = ("seafarers", "railway")  # national industry unions a union may belong to
OFFERING = ("national", "zj", "gd")  # each offers one service on its menu
TRANSFER_KINDS = (EventKind.TRANSFERRED, EventKind.RETAINED)
JOIN_KINDS = (EventKind.JOINED, EventKind.REJOINED)
# (union, birth date, male, online): who joins where, enrolled by the union or online.
PEOPLE = st.tuples(st.sampled_from(UNIONS), st.sampled_from(BORN), st.booleans(), st.booleans())


@pytest.fixture
def world(tree):
    """The shared tree plus a township, two national industry unions (the seafarers' with a
    union of its own tree, union B affiliated to it), employee numbers and three published
    services."""
    township = OrganizationFactory(name="西溪街道总工会", level=Level.TOWNSHIP, parent=tree.xihu)
    seafarers = OrganizationFactory(
        name="中国海员建设工会", level=Level.INDUSTRY, parent=tree.national
    )
    railway = OrganizationFactory(name="中国铁路工会", level=Level.INDUSTRY, parent=tree.national)
    sea_union = OrganizationFactory(
        name="中远海运集团工会", level=Level.GRASSROOTS, parent=seafarers
    )
    orgs = {
        **vars(tree),
        "township": township,
        "seafarers": seafarers,
        "railway": railway,
        "sea_union": sea_union,
    }
    for name, employees in (("union_a", 120), ("union_b", 80), ("union_c", 60), ("sea_union", 300)):
        org_actions.update_organization(organization=orgs[name], data={"employees": employees})
    org_actions.update_organization(organization=tree.union_b, data={"industry": seafarers})
    services = {}
    for name in OFFERING:
        service = menu.create_service(
            organization=orgs[name],
            data={
                "title": f"{orgs[name].name}体检",
                "category": "inclusive",
                "description": "年度体检",
            },
            acting_user=None,
        )
        services[name] = menu.publish_service(service=service, acting_user=None).pk
    rollups.fold()
    return SimpleNamespace(orgs={name: org.pk for name, org in orgs.items()}, services=services)


# --- Ground truth, from the rows --------------------------------------------------------------


# The keys counted here straight from the rows (a family ends with "."); any other key that
# the apps count is taken from their registered ground-truth source (`counters.SOURCES`).
COUNTED_HERE = (
    "members.status.",
    "members.gender.",
    "members.birth_year.",
    "members.employment.",
    "members.flow.",
    "services.menu.requests",
    "services.menu.completed",
    "services.menu.rejected",
    "services.menu.cancelled",
    "services.menu.rating_sum",
    "services.menu.rating_count",
    "services.voice.raised",
    "services.voice.open",
    "services.voice.overdue",
    "services.voice.escalations",
    "services.voice.answered",
    "services.voice.response_seconds",
    "services.voice.rating_sum",
    "services.voice.rating_count",
    "organizations.units.",
    "organizations.employees",
)


def counted_here(key: str) -> bool:
    return any(key.startswith(k) if k.endswith(".") else key == k for k in COUNTED_HERE)


def own_figures() -> dict[int, Counter]:
    """Each organization's own figures by counter key, counted from the rows."""
    own: dict[int, Counter] = defaultdict(Counter)
    for source in counters.SOURCES.values():
        for (org, key), value in source().items():
            if not counted_here(key):
                own[org][key] += value
    live = Member.objects.filter(deleted_at__isnull=True).annotate(year=ExtractYear("birth_date"))
    rows = live.values_list("organization_id", "status", "gender", "employment_type", "year")
    for org, status, gender, employment, year, n in rows.annotate(n=Count("pk")):
        own[org][f"members.status.{status}"] += n
        if status == MemberStatus.ACTIVE:
            own[org][f"members.gender.{gender}"] += n
            own[org][f"members.birth_year.{year}"] += n
            own[org][f"members.employment.{employment}"] += n
    events = MembershipEvent.objects.values_list("kind", "to_organization_id", "to_status")
    for kind, to_org, to_status, n in events.annotate(n=Count("pk")):
        if kind in JOIN_KINDS:
            own[to_org]["members.flow.joined"] += n
        elif kind in TRANSFER_KINDS:
            own[to_org]["members.flow.transfer_in"] += n
        else:
            own[to_org][f"members.flow.status.{to_status}"] += n
    moved_out = MembershipEvent.objects.filter(kind__in=TRANSFER_KINDS)
    for from_org, n in moved_out.values_list("from_organization_id").annotate(n=Count("pk")):
        own[from_org]["members.flow.transfer_out"] += n
    for union, status, rating in ServiceRequest.objects.values_list(
        "member_union_id", "status", "rating"
    ):
        own[union]["services.menu.requests"] += 1
        if status in (RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.CANCELLED):
            own[union][f"services.menu.{status}"] += 1
        if rating is not None:
            own[union]["services.menu.rating_sum"] += rating
            own[union]["services.menu.rating_count"] += 1
    for c in Concern.objects.values(
        "origin_id", "status", "escalations", "answered_at", "created_at", "rating"
    ):
        figures = own[c["origin_id"]]
        figures["services.voice.raised"] += 1
        figures["services.voice.escalations"] += c["escalations"]
        if c["status"] == ConcernStatus.OPEN:
            figures["services.voice.open"] += 1
            figures["services.voice.overdue"] += 1 if c["escalations"] else 0
        if c["answered_at"] is not None:
            figures["services.voice.answered"] += 1
            seconds = int((c["answered_at"] - c["created_at"]).total_seconds())
            figures["services.voice.response_seconds"] += max(seconds, 0)
        if c["rating"] is not None:
            figures["services.voice.rating_sum"] += c["rating"]
            figures["services.voice.rating_count"] += 1
    active = Organization.objects.filter(status=OrgStatus.ACTIVE)
    for pk, level, employees in active.values_list("pk", "level", "employees"):
        own[pk][f"organizations.units.{level}"] += 1
        if level == Level.GRASSROOTS and employees:
            own[pk]["organizations.employees"] += employees
    return own


def expected_totals(orgs: list[Organization]) -> dict[int, dict[str, int]]:
    """What `rollups.totals` must say for each organization: its subtree's rows summed, by
    region, by industry, and for an industry union's affiliated unions."""
    own = own_figures()
    by_pk = {org.pk: org for org in orgs}
    subtree = {
        org.pk: set(Organization.objects.filter(scope.subtree_q(org)).values_list("pk", flat=True))
        for org in orgs
    }
    industries = [
        o.pk
        for o in orgs
        if o.level == Level.INDUSTRY and by_pk[o.parent_id].level == Level.NATIONAL
    ]

    def affiliated_to(org: Organization) -> int | None:
        if org.industry_id:
            return org.industry_id
        if org.level == Level.GROUP:
            return by_pk[org.parent_id].industry_id
        return None

    def industry_of(org: Organization) -> int | None:
        """Dual affiliation first, else the industry union whose own tree holds it."""
        return affiliated_to(org) or next((i for i in industries if org.pk in subtree[i]), None)

    industry = {org.pk: industry_of(org) for org in orgs}
    affiliated = {org.pk: affiliated_to(org) for org in orgs}
    result = {}
    for org in orgs:
        total: Counter = Counter()
        for pk in subtree[org.pk]:
            total.update(own[pk])
            if industry[pk]:
                for key in stats.by_industry_keys():
                    total[f"industry.{industry[pk]}.{key}"] += own[pk][key]
        for pk, industry_id in affiliated.items():
            if industry_id == org.pk:
                for key, value in own[pk].items():
                    total[f"affiliated.{key}"] += value
        result[org.pk] = {key: value for key, value in total.items() if value}
    return result


def difference(got: dict, expected: dict) -> dict:
    return {
        key: (got.get(key, 0), expected.get(key, 0))
        for key in sorted(set(got) | set(expected))
        if got.get(key, 0) != expected.get(key, 0)
    }


# --- The machine ------------------------------------------------------------------------------


class RollupMachine(RuleBasedStateMachine):
    """Random domain actions; rows are drawn by their index in order of creation, so a
    failing sequence prints readably (`member 0`, `request 1` …)."""

    def __init__(self, world):
        super().__init__()
        self.world = world
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.members: list[int] = []
        self.people: dict[int, dict] = {}  # member pk → the raw data typed when joining
        self.requests: list[int] = []
        self.concerns: list[int] = []
        self.transfers: list[int] = []
        self.later = timezone.now()  # the escalation job's clock, ahead of the real one
        self.checked = None  # `written()` when the figures were last checked

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # Helpers

    def org(self, name: str) -> Organization:
        return Organization.objects.get(pk=self.world.orgs[name])

    def draw(self, data, label: str, pks: list[int], queryset):
        """One row of `queryset` among `pks`, drawn by its index in `pks`; None if none."""
        allowed = set(queryset.filter(pk__in=pks).values_list("pk", flat=True))
        choices = [i for i, pk in enumerate(pks) if pk in allowed]
        if not choices:
            return None
        return queryset.get(pk=pks[data.draw(st.sampled_from(choices), label=label)])

    def draw_member(self, data, **filters) -> Member | None:
        current = Member.objects.filter(**filters).exclude(transfers__status=TransferStatus.OPEN)
        return self.draw(data, "member", self.members, current.select_related("organization"))

    def remember(self, member: Member, raw: dict) -> None:
        if member.pk not in self.people:
            self.members.append(member.pk)
        self.people[member.pk] = raw

    # Memberships

    def enrol(self, union: str, born: str, male: bool, online: bool) -> None:
        org = self.org(union)
        raw = person_data(born=born, male=male)
        if online:
            application, _key = joining.submit_join_application(
                organization=org,
                data=raw,
                password=PASSWORD,
                privacy_consent=True,
                sensitive_consent=True,
            )
            member = joining.approve_join_application(application=application, acting_user=None)
        else:
            member = member_actions.create_member(organization=org, data=clean_person(raw))
            member.user = get_user_model().objects.create(
                username=member.membership_number, password="!"
            )
            member.save(update_fields=["user"])
        self.remember(member, raw)

    @initialize(people=st.lists(PEOPLE, min_size=2, max_size=4))
    def first_members(self, people):
        for person in people:
            self.enrol(*person)

    @rule(person=PEOPLE)
    def join(self, person):
        self.enrol(*person)

    @precondition(lambda self: self.members)
    @rule(data=st.data())
    def end_membership(self, data):
        member = self.draw_member(data, status__in=CURRENT_STATUSES)
        if member is None:
            return
        status = data.draw(
            st.sampled_from(sorted(member_actions.STATUS_TRANSITIONS[member.status])),
            label="status",
        )
        member_actions.change_status(member=member, status=status, reason="本人申请")

    @precondition(lambda self: self.members)
    @rule(data=st.data())
    def retain(self, data):
        member = self.draw_member(data, status=MemberStatus.ACTIVE)
        if member is None:
            return
        transfers.retain_membership(
            member=member,
            at_organization=self.org("township"),
            acting_user=None,
            reason="原单位破产",
        )

    @precondition(lambda self: self.members)
    @rule(data=st.data(), union=st.sampled_from(UNIONS))
    def rejoin_online(self, data, union):
        ended = [MemberStatus.WITHDRAWN, MemberStatus.EXPELLED]
        member = self.draw_member(data, status__in=ended)
        if member is None:
            return
        application, _key = joining.submit_join_application(
            organization=self.org(union),
            data=self.people[member.pk],
            password=PASSWORD,
            privacy_consent=True,
            sensitive_consent=True,
        )
        self.remember(
            joining.approve_join_application(application=application, acting_user=None),
            self.people[member.pk],
        )

    # Transfers

    @precondition(lambda self: self.members)
    @rule(data=st.data(), side=st.sampled_from(["member", "sending", "receiving"]))
    def start_transfer(self, data, side):
        member = self.draw_member(data, status__in=CURRENT_STATUSES)
        if member is None:
            return
        elsewhere = [u for u in UNIONS if self.world.orgs[u] != member.organization_id]
        to = data.draw(st.sampled_from(elsewhere), label="to")
        transfer = transfers.request_transfer(
            member=member,
            to_organization=self.org(to),
            side=side,
            acting_user=member.user if side == "member" else None,
            reason="工作调动",
        )
        self.transfers.append(transfer.pk)

    def draw_open_transfer(self, data) -> Transfer | None:
        open_ = Transfer.objects.filter(status=TransferStatus.OPEN).select_related("member")
        return self.draw(data, "transfer", self.transfers, open_)

    @precondition(lambda self: self.transfers)
    @rule(data=st.data())
    def advance_transfer(self, data):
        transfer = self.draw_open_transfer(data)
        if transfer is None:
            return
        steps = []
        if transfer.released_at is None:
            steps.append("release")
        if transfer.accepted_at is None:
            steps.append("accept")
        # Both done at the start (a retained membership, received): the member confirms.
        step = data.draw(st.sampled_from(steps or ["release"]), label="step")
        if step == "release":
            transfers.release_transfer(transfer=transfer, acting_user=None)
        else:
            transfers.accept_transfer(transfer=transfer, acting_user=None)

    @precondition(lambda self: self.transfers)
    @rule(data=st.data(), how=st.sampled_from(["refuse_sending", "refuse_receiving", "cancel"]))
    def close_transfer(self, data, how):
        transfer = self.draw_open_transfer(data)
        if transfer is None:
            return
        if how == "cancel":
            by_member = transfer.initiated_by_side == "member"
            transfers.cancel_transfer(
                transfer=transfer, acting_user=transfer.member.user if by_member else None
            )
        else:
            side = how.removeprefix("refuse_")
            transfers.refuse_transfer(
                transfer=transfer, side=side, acting_user=None, reason="材料不全"
            )

    # The service menu

    @precondition(lambda self: self.members)
    @rule(data=st.data())
    def order_service(self, data):
        member = self.draw_member(data, status__in=CURRENT_STATUSES)
        if member is None:
            return
        chain = {o.pk for o in union_chain(member.organization)}
        open_orders = set(
            ServiceRequest.objects.filter(
                member=member, status__in=OPEN_REQUEST_STATUSES
            ).values_list("service_id", flat=True)
        )
        offered = [
            name
            for name in OFFERING
            if self.world.orgs[name] in chain and self.world.services[name] not in open_orders
        ]
        if not offered:
            return
        name = data.draw(st.sampled_from(offered), label="service of")
        service = Service.objects.get(pk=self.world.services[name])
        request = request_actions.order_service(
            service=service, member=member, acting_user=member.user
        )
        self.requests.append(request.pk)

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def handle_request(self, data):
        handled = ServiceRequest.objects.select_related("member")
        req = self.draw(data, "request", self.requests, handled)
        if req is None:
            return
        steps = {
            RequestStatus.SUBMITTED: ["accept", "start", "reject", "cancel", "withdraw"],
            RequestStatus.ACCEPTED: ["start", "complete", "reject", "cancel", "withdraw"],
            RequestStatus.IN_PROGRESS: ["complete", "reject", "cancel"],
            RequestStatus.COMPLETED: [] if req.rating is not None else ["rate"],
        }.get(req.status, [])
        if not steps:
            return
        step = data.draw(st.sampled_from(steps), label="step")
        if step == "accept":
            request_actions.accept_request(request=req, acting_user=None)
        elif step == "start":
            request_actions.start_request(request=req, acting_user=None)
        elif step == "complete":
            request_actions.complete_request(request=req, result="已安排体检", acting_user=None)
        elif step == "reject":
            request_actions.reject_request(request=req, reason="名额已满", acting_user=None)
        elif step == "cancel":
            request_actions.cancel_request(request=req, acting_user=None, reason="活动取消")
        elif step == "withdraw":
            request_actions.cancel_request(request=req, acting_user=req.member.user)
        else:
            rating = data.draw(st.integers(1, 5), label="rating")
            request_actions.rate_request(request=req, rating=rating, acting_user=req.member.user)

    # Worker voice

    @precondition(lambda self: self.members)
    @rule(data=st.data())
    def raise_concern(self, data):
        member = self.draw_member(data, status__in=CURRENT_STATUSES)
        if member is None:
            return
        concern = voice.raise_concern(
            member=member,
            data={"category": "wages", "title": "加班费未发", "text": "三月加班费至今未发放。"},
        )
        self.concerns.append(concern.pk)

    @precondition(lambda self: self.concerns)
    @rule(data=st.data())
    def handle_concern(self, data):
        concern = self.draw(
            data, "concern", self.concerns, Concern.objects.select_related("member")
        )
        if concern is None:
            return
        steps = {
            ConcernStatus.OPEN: ["reply", "close"],
            ConcernStatus.ANSWERED: ["reply", "close", "rate", "reopen"],
            ConcernStatus.CLOSED: [] if concern.rating is not None else ["reopen"],
        }[concern.status]
        if not steps:
            return
        step = data.draw(st.sampled_from(steps), label="step")
        if step == "reply":
            voice.reply_to_concern(concern=concern, text="已督促企业补发。", acting_user=None)
        elif step == "close":
            voice.close_concern(concern=concern, acting_user=None)
        elif step == "rate":
            rating = data.draw(st.integers(1, 5), label="rating")
            voice.rate_concern(concern=concern, member=concern.member, rating=rating)
        else:
            voice.reopen_concern(concern=concern, member=concern.member, reason="仍未发放")

    @precondition(lambda self: self.concerns)
    @rule()
    def escalate_overdue_concerns(self):
        self.later += datetime.timedelta(days=20)
        voice.escalate_overdue_concerns(now=self.later)

    # The tree

    @rule(union=st.sampled_from(UNIONS), parent=st.sampled_from(PARENTS))
    def move_union(self, union, parent):
        org = self.org(union)
        if org.parent_id != self.world.orgs[parent]:
            org_actions.move_organization(organization=org, new_parent=self.org(parent))

    @rule(union=st.sampled_from(UNIONS), industry=st.sampled_from((None, *INDUSTRIES)))
    def change_affiliation(self, union, industry):
        industry = self.org(industry) if industry else None
        org_actions.update_organization(organization=self.org(union), data={"industry": industry})

    @rule()
    def fold(self):
        # Before folding, with the journal waiting: the reading of many organizations at
        # once agrees with reading each, and every counter equals its rows.
        orgs = list(Organization.objects.order_by("pk"))
        assert rollups.many_totals(orgs) == {org.pk: rollups.totals(org) for org in orgs}
        drift = counters.verify()
        assert drift.ok, f"counters drifted: {drift.wrong}"
        rollups.fold()
        assert not CounterDelta.objects.exists()

    # After every step

    def written(self) -> tuple:
        """What a step that may change a figure changes: each action records an audit
        entry and journals its counter changes, and a fold empties the journal."""
        journal = CounterDelta.objects.aggregate(last=Max("pk"), n=Count("pk"))
        return journal["last"], journal["n"], AuditEntry.objects.aggregate(m=Max("pk"))["m"]

    @invariant()
    def rollups_equal_the_rows_of_every_subtree(self):
        written = self.written()
        if written == self.checked:
            return  # the step found nothing to do: the figures checked last still hold
        orgs = list(Organization.objects.order_by("pk"))  # fresh positions
        expected = expected_totals(orgs)
        got = {org.pk: rollups.totals(org) for org in orgs}
        wrong = {
            org.name: difference(got[org.pk], expected[org.pk])
            for org in orgs
            if got[org.pk] != expected[org.pk]
        }
        assert not wrong, f"roll-up (got, true) by organization: {wrong}"
        drift = rollups.verify()
        assert drift.ok, f"roll-ups drifted: {drift.wrong}"
        self.checked = written


def test_rollups_equal_the_rows_after_any_sequence_of_domain_actions(world):
    run_state_machine_as_test(
        lambda: RollupMachine(world),
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=[
                HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
            ],
        ),
    )
