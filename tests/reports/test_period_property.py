"""Period figures at every level equal the records (issue 22), as a property.

Hypothesis draws a history lived day by day through the real actions (joins, withdrawals,
transfers between unions of two provinces, service orders, concerns), the day from which
the nightly snapshot job ran, and periods. For every organization of the tree, from the
national federation to a union group, the dashboard's period flows and its trend (and the
statistics API's, for one organization per history) equal what the rows say happened by
the day they were recorded (Beijing time). A federation's flow over a period that starts
before its daily snapshots is unknown (None), never the running total; a grassroots
union's and a group's are always counted from their records.
"""

import contextlib
import datetime
from collections import Counter

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.actions import records as member_actions
from members.actions import transfers
from members.models import (
    EventKind,
    Member,
    MembershipEvent,
    MemberStatus,
    TransferSide,
    TransferStatus,
)
from organizations.models import Organization
from reports import actions, selectors
from services.actions import menu, voice
from services.actions.requests import order_service
from services.models import Concern, ServiceRequest
from tests.services.conftest import member_with_login

pytestmark = pytest.mark.django_db

DAYS = 12
TODAY = datetime.date(2026, 11, 20)
FIRST = TODAY - datetime.timedelta(days=DAYS)  # the history's first day
JOINS = (EventKind.JOINED, EventKind.REJOINED)
MOVES = (EventKind.TRANSFERRED, EventKind.RETAINED)
ACTIONS = ("join", "join", "withdraw", "transfer", "order", "concern")


class Rollback(Exception):
    pass


def at(day: datetime.date, hour: int = 10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def day_of(index: int) -> datetime.date:
    return FIRST + datetime.timedelta(days=index)


# --- The truth, from the rows ---------------------------------------------------------------


def subtrees() -> dict[int, set[int]]:
    parents = dict(Organization.objects.values_list("pk", "parent_id"))
    below: dict[int, set[int]] = {pk: {pk} for pk in parents}
    for pk in parents:
        up = parents[pk]
        while up is not None:
            below[up].add(pk)
            up = parents[up]
    return below


def local_day(moment) -> datetime.date:
    return timezone.localtime(moment).date()


def true_flows(ids: set[int], start, end) -> dict[str, int]:
    def within(moment):
        return start <= local_day(moment) <= end

    events = [e for e in MembershipEvent.objects.all() if within(e.at)]
    return {
        selectors.JOINED: sum(e.kind in JOINS and e.to_organization_id in ids for e in events),
        selectors.WITHDRAWN: sum(
            e.kind not in JOINS + MOVES
            and e.to_status == MemberStatus.WITHDRAWN
            and e.to_organization_id in ids
            for e in events
        ),
        selectors.TRANSFER_IN: sum(e.kind in MOVES and e.to_organization_id in ids for e in events),
        selectors.TRANSFER_OUT: sum(
            e.kind in MOVES and e.from_organization_id in ids for e in events
        ),
        "services.menu.requests": sum(
            r.member_union_id in ids and within(r.created_at) for r in ServiceRequest.objects.all()
        ),
        "services.voice.raised": sum(
            c.origin_id in ids and within(c.created_at) for c in Concern.objects.all()
        ),
        "services.activities.attendance": 0,  # no check-ins in these histories
    }


def true_members(ids: set[int], day: datetime.date) -> int:
    """Active members of the subtree at the end of `day`, replaying each one's history."""
    last: dict[int, MembershipEvent] = {}
    for event in MembershipEvent.objects.order_by("at", "pk"):
        if local_day(event.at) <= day:
            last[event.member_id] = event
    return sum(
        e.to_status == MemberStatus.ACTIVE and e.to_organization_id in ids for e in last.values()
    )


# --- The history ----------------------------------------------------------------------------


class World:
    def __init__(self, tree, make_officer):
        self.tree = tree
        # Members belong to grassroots unions; the group under union A is checked too.
        self.unions = [tree.union_a, tree.union_b, tree.union_c]
        self.admins = {
            tree.union_a.pk: make_officer("p_a_admin", tree.union_a),
            tree.union_b.pk: make_officer("p_b_admin", tree.union_b),
            tree.union_c.pk: make_officer("p_c_admin", tree.union_c),
        }
        self.reader = make_officer("p_national", tree.national)
        self.services = {}

    def setup(self):
        """Before the history: two members in each union, a service on each menu."""
        with time_machine.travel(at(FIRST - datetime.timedelta(days=5)), tick=False):
            for union in self.unions:
                for _ in range(2):
                    member_with_login(union)
            for union in self.unions:
                admin = self.admins[union.pk]
                service = menu.create_service(
                    organization=union,
                    data={"title": "体检", "category": "inclusive", "description": "年度体检"},
                    acting_user=admin,
                )
                self.services[union.pk] = menu.publish_service(service=service, acting_user=admin)

    def act(self, action: str, pick: int) -> None:
        active = list(
            Member.objects.filter(status=MemberStatus.ACTIVE)
            .select_related("organization")
            .order_by("pk")
        )
        if action == "join" or not active:
            member_with_login(self.unions[pick % len(self.unions)])
            return
        member = active[pick % len(active)]
        admin = self.admins[member.organization_id]
        if action == "withdraw":
            member_actions.change_status(
                member=member, status=MemberStatus.WITHDRAWN, reason="离职", acting_user=admin
            )
        elif action == "transfer":
            targets = [u for u in self.unions if u.pk != member.organization_id]
            target = targets[pick // 7 % len(targets)]
            transfer = transfers.request_transfer(
                member=member, to_organization=target, side=TransferSide.SENDING, acting_user=admin
            )
            if transfer.status == TransferStatus.OPEN:
                transfers.accept_transfer(transfer=transfer, acting_user=self.admins[target.pk])
        elif action == "order":
            service = self.services[member.organization_id]
            # Refused while an order of this service is still open: nothing is written.
            with contextlib.suppress(ValidationError):
                order_service(service=service, member=member, acting_user=member.user)
        else:
            voice.raise_concern(
                member=member,
                data={"category": "wages", "title": "加班费", "text": "加班费未按时发放。"},
            )


def live(world: World, steps, snapshots_from: int) -> None:
    """Each day's steps at their hours, and from `snapshots_from` on the nightly snapshot
    of each finished day, taken just after midnight as the beat does."""
    by_day: dict[int, list] = {}
    for index, (day, action, pick) in enumerate(steps):
        by_day.setdefault(day, []).append((index, action, pick))
    for day in range(DAYS):
        for index, action, pick in by_day.get(day, []):
            with time_machine.travel(at(day_of(day), 8 + index % 14), tick=False):
                world.act(action, pick)
        if day >= snapshots_from:
            after_midnight = at(day_of(day + 1), 0) + datetime.timedelta(minutes=1)
            with time_machine.travel(after_midnight, tick=False):
                actions.take_snapshot(day_of(day))


# --- The property ---------------------------------------------------------------------------


def check(world: World, periods, snapshots_from: int, api_org: int) -> None:
    below = subtrees()
    first_snapshot = day_of(snapshots_from) if snapshots_from < DAYS else None
    client = Client()
    client.force_login(world.reader)
    orgs = list(Organization.objects.order_by("pk"))
    for start_index, length in periods:
        start = day_of(start_index)
        end = min(start + datetime.timedelta(days=length), TODAY)
        period = selectors.Period(start, end)
        for org in orgs:
            ids = below[org.pk]
            data = selectors.dashboard(org, period)
            flows = data["flows"]["values"]
            truth = true_flows(ids, start, end)
            if selectors.counted_from_records(org):
                assert flows == truth, (org.name, period)
            else:
                base_kept = (
                    first_snapshot is not None
                    and start - datetime.timedelta(days=1) >= first_snapshot
                )
                end_kept = end >= TODAY or (first_snapshot is not None and end >= first_snapshot)
                if base_kept and end_kept:
                    assert flows == truth, (org.name, period)
                else:
                    assert set(flows.values()) == {None}, (org.name, period, flows)
                    assert data["flows"]["since"] == first_snapshot
            previous = None
            for point in data["trend"]["points"]:
                day = datetime.date.fromisoformat(point["date"])
                assert point["members"] == true_members(ids, day), (org.name, day)
                if "joined" in point:
                    since = previous + datetime.timedelta(days=1) if previous else day
                    expected = true_flows(ids, since, day)
                    assert point["joined"] == expected[selectors.JOINED], (org.name, day)
                    assert point["withdrawn"] == expected[selectors.WITHDRAWN], (org.name, day)
                previous = day
            if selectors.counted_from_records(org):
                # A point a day, every day of the period (at most DAYS + 3 days here).
                days = [p["date"] for p in data["trend"]["points"]]
                assert len(days) == (end - start).days + 1, (org.name, period, days)
            if org.pk == orgs[api_org % len(orgs)].pk:
                answer = client.get(
                    f"/api/v1/stats/organizations/{org.pk}/dashboard/",
                    {"from": start.isoformat(), "to": end.isoformat()},
                ).json()
                assert answer["flows"]["values"] == flows, (org.name, period)
                assert answer["trend"] == data["trend"], (org.name, period)


steps_strategy = st.lists(
    st.tuples(
        st.integers(0, DAYS - 1),
        st.sampled_from(ACTIONS),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=18,
)
periods_strategy = st.lists(
    st.tuples(st.integers(-2, DAYS), st.integers(0, DAYS + 2)), min_size=1, max_size=3
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=steps_strategy,
    snapshots_from=st.integers(0, DAYS),
    periods=periods_strategy,
    api_org=st.integers(0, 20),
)
def test_period_figures_at_every_level_equal_the_records(
    tree, make_officer, steps, snapshots_from, periods, api_org
):
    try:
        with transaction.atomic():
            world = World(tree, make_officer)
            world.setup()
            live(world, steps, snapshots_from)
            with time_machine.travel(at(TODAY, 15), tick=False):
                check(world, periods, snapshots_from, api_org)
            raise Rollback
    except Rollback:
        pass


def test_a_grassroots_union_and_its_federation_agree_on_a_period(tree, make_officer):
    """The issue's case: a union whose records go back further than the federation's daily
    figures no longer shows its running total as the period's joins."""
    world = World(tree, make_officer)
    world.setup()  # two members each, five days before the history
    live(world, [(DAYS - 3, "join", 0)], snapshots_from=0)
    with time_machine.travel(at(TODAY, 15), tick=False):
        period = selectors.Period(TODAY - datetime.timedelta(days=6), TODAY)
        union = Organization.objects.get(pk=tree.union_a.pk)
        parent = Organization.objects.get(pk=tree.xihu.pk)
        mine = selectors.dashboard(union, period)["flows"]["values"][selectors.JOINED]
        theirs = selectors.dashboard(parent, period)["flows"]["values"][selectors.JOINED]
        assert mine == theirs == 1
        counts = Counter(
            p["members"] for p in selectors.dashboard(union, period)["trend"]["points"]
        )
        assert sum(counts.values()) == 7  # a point a day


def _running_totals_as_flows(org, period, now, recorded=None):
    """The fault the property guards against (issue 22): with no snapshot before the period,
    zero as its base, so that a period's flow is the running total."""
    end = now if period.end >= TODAY else selectors.snapshot_values(org, period.end) or {}
    base = selectors.snapshot_values(org, period.start - datetime.timedelta(days=1)) or {}
    return {
        "values": {
            key: end.get(key, 0) - base.get(key, 0) for key, _label in selectors.PERIOD_FLOWS
        },
        "since": None,
    }


@pytest.mark.parametrize("fault", ["running totals", "grassroots from snapshots"])
def test_the_property_fails_on_the_old_faults(tree, make_officer, monkeypatch, fault):
    world = World(tree, make_officer)
    world.setup()
    live(world, [(2, "join", 0), (5, "order", 1), (8, "transfer", 3)], snapshots_from=4)
    if fault == "running totals":
        monkeypatch.setattr(selectors, "period_flows", _running_totals_as_flows)
    else:
        monkeypatch.setattr(selectors, "counted_from_records", lambda org: False)
    with time_machine.travel(at(TODAY, 15), tick=False), pytest.raises(AssertionError):
        check(world, [(1, 5)], snapshots_from=4, api_org=0)
