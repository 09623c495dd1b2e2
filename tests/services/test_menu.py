"""The service menu, orders, wishes and confidential notes: the actions, on PostgreSQL."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import AuditEntry
from notifications.models import Notification
from organizations import counters
from organizations.models import Level
from services.actions import menu as actions
from services.actions import requests as request_actions
from services.actions import wishes as wish_actions
from services.models import (
    ConfidentialNote,
    Delivery,
    Handling,
    PublishStatus,
    RequestStatus,
    RequestStep,
    Service,
    ServiceCategory,
    ServiceRequest,
    ServiceWish,
    Station,
    WishStatus,
    WishVote,
)
from services.selectors.menu import (
    can_see_confidential,
    confidential_notes,
    menu_for,
    ranked_wishes,
)
from tests.factories import OrganizationFactory
from tests.services.conftest import member_with_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A context in which notifications sent on commit are delivered at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def assert_counters_exact():
    drift = counters.verify(["services.menu."])
    assert drift.ok, drift.wrong


def value(org, key):
    return counters.values(org).get(f"services.menu.{key}", 0)


def offer(org, by, title="体检", publish=True, audience_unions=(), **data):
    data = {"title": title, "category": "inclusive", "description": "年度体检", **data}
    service = actions.create_service(
        organization=org, data=data, audience_unions=audience_unions, acting_user=by
    )
    if publish:
        service = actions.publish_service(service=service, acting_user=by)
    return service


def order(service, member, note=""):
    return request_actions.order_service(
        service=service, member=member, note=note, acting_user=member.user
    )


def kinds_for(user):
    return list(
        Notification.objects.filter(recipient=user).order_by("pk").values_list("kind", flat=True)
    )


# --- The menu ------------------------------------------------------------------------------


def test_menu_of_a_member_four_levels_down_has_every_ancestors_service_and_no_siblings(
    tree, officers, members
):
    national = offer(tree.national, officers.national_admin, "全国普惠")
    province = offer(tree.zj, officers.zj_admin, "浙江法律援助", category="legal")
    city = offer(tree.hz, officers.hz_admin, "杭州培训", category="training")
    own = offer(tree.union_a, officers.a_admin, "甲公司体检")
    offer(tree.union_b, officers.b_admin, "乙公司体检")  # sibling union
    offer(tree.gd, officers.gd_admin, "广东普惠")  # sibling province
    offer(tree.zj, officers.zj_admin, "草稿", publish=False)
    closed = offer(tree.zj, officers.zj_admin, "已关闭")
    actions.close_service(service=closed, acting_user=officers.zj_admin)
    offer(
        tree.zj,
        officers.zj_admin,
        "已过期",
        starts_on=timezone.localdate() - datetime.timedelta(days=30),
        ends_on=timezone.localdate() - datetime.timedelta(days=1),
        publish=False,
    )
    offer(
        tree.zj,
        officers.zj_admin,
        "未开始",
        starts_on=timezone.localdate() + datetime.timedelta(days=3),
    )

    menu = menu_for(members.a)

    assert {s.pk for s in menu} == {national.pk, province.pk, city.pk, own.pk}
    assert {s.title for s in menu_for(members.b)} == {
        "全国普惠",
        "浙江法律援助",
        "杭州培训",
        "乙公司体检",
    }
    assert {s.title for s in menu_for(members.c)} == {"全国普惠", "广东普惠"}


def test_menu_takes_the_same_few_queries_whatever_the_depth(tree, officers, members):
    for org, by in [
        (tree.national, officers.national_admin),
        (tree.zj, officers.zj_admin),
        (tree.hz, officers.hz_admin),
        (tree.union_a, officers.a_admin),
    ]:
        offer(org, by, f"服务{org.pk}", audience_unions=[org])
    # national → zj → hz → xihu → township → grassroots: one level deeper than union A.
    township = OrganizationFactory(name="西溪街道总工会", level=Level.TOWNSHIP, parent=tree.xihu)
    deep_union = OrganizationFactory(name="街道丁公司工会", level=Level.GRASSROOTS, parent=township)
    deep = member_with_login(deep_union)
    counts = []
    for member in (members.c, members.a, deep):
        member = type(member).objects.get(pk=member.pk)
        with CaptureQueriesContext(connection) as ctx:
            menu = menu_for(member)
        counts.append(len(ctx.captured_queries))
        assert menu
    assert len(menu_for(type(deep).objects.get(pk=deep.pk))) == 3  # not union A's own
    assert max(counts) <= 5
    assert counts[1] == counts[2]


def test_menu_with_django_assert_max_num_queries(
    tree, officers, members, django_assert_max_num_queries
):
    offer(tree.zj, officers.zj_admin, "浙江", audience_unions=[tree.xihu])
    member = type(members.a).objects.get(pk=members.a.pk)
    with django_assert_max_num_queries(5):
        assert [s.title for s in menu_for(member)] == ["浙江"]


def test_audience_rules_limit_who_sees_a_service(tree, officers, members):
    offer(tree.zj, officers.zj_admin, "只给乙", audience_unions=[tree.union_b])
    offer(tree.zj, officers.zj_admin, "骑手", audience_employment_types=["delivery_rider"])
    offer(tree.zj, officers.zj_admin, "小组", audience_levels=[Level.GROUP])
    offer(tree.zj, officers.zj_admin, "基层", audience_levels=[Level.GRASSROOTS])
    assert [s.title for s in menu_for(members.a)] == ["基层"]
    assert [s.title for s in menu_for(members.b)] == ["只给乙", "基层"]
    rider = member_with_login(tree.union_a, employment_type="delivery_rider")
    assert sorted(s.title for s in menu_for(rider)) == ["基层", "骑手"]


def test_service_rules_give_clear_errors_and_write_nothing(tree, officers):
    gd_station = Station.objects.create(organization=tree.gd, name="广东驿站", address="深圳")
    bad = {
        "title": " ",
        "category": "nonsense",
        "description": "x",
        "capacity": 0,
        "starts_on": datetime.date(2026, 5, 1),
        "ends_on": datetime.date(2026, 4, 1),
        "delivery": Delivery.STATION,
        "station": gd_station,
    }
    with pytest.raises(ValidationError) as error:
        actions.create_service(
            organization=tree.zj,
            data=bad,
            audience_unions=[tree.union_c],
            acting_user=officers.zj_admin,
        )
    fields = error.value.message_dict
    assert {"title", "category", "capacity", "ends_on", "station", "audience_unions"} <= set(fields)
    assert Service.objects.count() == 0
    # Out of scope: refused before anything is looked at.
    with pytest.raises(PermissionDenied):
        offer(tree.union_b, officers.a_admin)
    with pytest.raises(PermissionDenied):
        offer(tree.union_a, officers.a_staff)  # staff handle, admins define the menu
    assert Service.objects.count() == 0


def test_service_at_a_station_of_a_union_above_is_accepted(tree, officers):
    station = Station.objects.create(organization=tree.hz, name="职工之家", address="杭州")
    service = offer(tree.union_a, officers.a_admin, delivery=Delivery.STATION, station=station)
    assert service.station == station
    online = offer(tree.union_a, officers.a_admin, "线上", station=station)
    assert online.station is None  # online services are not tied to a venue


def test_capacity_cannot_drop_below_places_taken(tree, officers, members):
    service = offer(tree.union_a, officers.a_admin, capacity=5)
    order(service, members.a)
    order(service, members.a2)
    with pytest.raises(ValidationError) as error:
        actions.update_service(service=service, data={"capacity": 1}, acting_user=officers.a_admin)
    assert "capacity" in error.value.message_dict
    service = actions.update_service(
        service=service, data={"capacity": 2}, acting_user=officers.a_admin
    )
    assert service.places_left == 0


# --- Ordering and the request lifecycle ---------------------------------------------------


def test_request_lifecycle_with_rating_counters_history_and_notifications(
    tree, officers, members, committed
):
    service = offer(tree.zj, officers.zj_admin, "浙江体检", capacity=10, due_days=5)
    before = timezone.now()
    with committed():
        req = order(service, members.a, note="周末方便")
    assert req.organization == tree.zj and req.member_union == tree.union_a
    assert req.due_at >= before + datetime.timedelta(days=5)
    assert Service.objects.get(pk=service.pk).taken == 1
    assert "services.menu.request_new" in kinds_for(officers.zj_admin)

    # The member's own union sees it but does not handle it.
    with pytest.raises(PermissionDenied):
        request_actions.accept_request(request=req, acting_user=officers.a_admin)
    with committed():
        req = request_actions.accept_request(request=req, acting_user=officers.zj_admin)
        assert req.handler == officers.zj_admin
        req = request_actions.start_request(request=req, acting_user=officers.zj_admin)
    with pytest.raises(ValidationError) as error:
        request_actions.complete_request(request=req, result="  ", acting_user=officers.zj_admin)
    assert "result" in error.value.message_dict
    with committed():
        req = request_actions.complete_request(
            request=req, result="已体检", acting_user=officers.zj_admin
        )
    assert req.status == RequestStatus.COMPLETED and req.closed_at is not None

    with pytest.raises(PermissionDenied):
        request_actions.rate_request(request=req, rating=5, acting_user=members.a2.user)
    with pytest.raises(ValidationError):
        request_actions.rate_request(request=req, rating=6, acting_user=members.a.user)
    with committed():
        req = request_actions.rate_request(
            request=req, rating=4, comment="好", acting_user=members.a.user
        )
    with pytest.raises(ValidationError, match="already rated"):
        request_actions.rate_request(request=req, rating=5, acting_user=members.a.user)

    assert list(req.steps.values_list("status", flat=True)) == [
        "submitted",
        "accepted",
        "in_progress",
        "completed",
        "completed",
    ]
    assert kinds_for(members.a.user) == [
        "services.menu.request_accepted",
        "services.menu.request_started",
        "services.menu.request_completed",
    ]
    assert "services.menu.request_rated" in kinds_for(officers.zj_admin)
    assert value(tree.union_a, "requests") == 1
    assert value(tree.union_a, "completed") == 1
    assert value(tree.union_a, "rating_sum") == 4
    assert value(tree.union_a, "rating_count") == 1
    assert value(tree.zj, "requests") == 0  # counted at the member's own union
    assert AuditEntry.objects.filter(action__startswith="services.menu.request_").count() == 5
    assert_counters_exact()


def test_rating_before_completion_is_refused(tree, officers, members):
    req = order(offer(tree.union_a, officers.a_admin), members.a)
    with pytest.raises(ValidationError, match="once it is completed"):
        request_actions.rate_request(request=req, rating=3, acting_user=members.a.user)
    assert ServiceRequest.objects.get().rating is None


def test_reject_needs_a_reason_and_gives_the_place_back(tree, officers, members, committed):
    service = offer(tree.union_a, officers.a_admin, capacity=1)
    req = order(service, members.a)
    with pytest.raises(ValidationError, match="all places"):
        order(service, members.a2)
    with pytest.raises(ValidationError) as error:
        request_actions.reject_request(request=req, reason="", acting_user=officers.a_staff)
    assert "reason" in error.value.message_dict
    assert ServiceRequest.objects.get().status == RequestStatus.SUBMITTED
    with committed():
        request_actions.reject_request(request=req, reason="名额已满", acting_user=officers.a_staff)
    assert Service.objects.get().taken == 0
    order(service, members.a2)  # the freed place can be taken
    assert value(tree.union_a, "rejected") == 1
    assert "services.menu.request_rejected" in kinds_for(members.a.user)
    assert_counters_exact()


def test_member_cancels_before_work_starts_but_not_after(tree, officers, members, committed):
    service = offer(tree.union_a, officers.a_admin, capacity=3)
    req = order(service, members.a)
    with pytest.raises(PermissionDenied):
        request_actions.cancel_request(request=req, acting_user=members.a2.user)
    with committed():
        request_actions.cancel_request(request=req, acting_user=members.a.user)
    assert Service.objects.get().taken == 0
    assert "services.menu.request_cancelled" in kinds_for(officers.a_admin)

    again = order(service, members.a)  # a cancelled order does not block a new one
    request_actions.start_request(request=again, acting_user=officers.a_staff)
    with pytest.raises(ValidationError, match="has started"):
        request_actions.cancel_request(request=again, acting_user=members.a.user)
    request_actions.cancel_request(request=again, acting_user=officers.a_staff, reason="联系不上")
    assert value(tree.union_a, "cancelled") == 2
    assert value(tree.union_a, "requests") == 2
    assert_counters_exact()


def test_one_open_order_per_member_and_service(tree, officers, members):
    service = offer(tree.union_a, officers.a_admin, capacity=5)
    order(service, members.a)
    with pytest.raises(ValidationError, match="already have an open order"):
        order(service, members.a)
    assert ServiceRequest.objects.count() == 1
    assert Service.objects.get().taken == 1  # the refused order took no place
    assert_counters_exact()


@pytest.mark.parametrize(
    "case",
    ["sibling", "draft", "closed", "not_started", "ended", "audience", "someone_else", "former"],
)
def test_orders_outside_the_menu_are_refused_and_write_nothing(tree, officers, members, case):
    today = timezone.localdate()
    service = {
        "sibling": lambda: offer(tree.union_b, officers.b_admin),
        "draft": lambda: offer(tree.union_a, officers.a_admin, publish=False),
        "closed": lambda: actions.close_service(
            service=offer(tree.union_a, officers.a_admin), acting_user=officers.a_admin
        ),
        "not_started": lambda: offer(
            tree.union_a, officers.a_admin, starts_on=today + datetime.timedelta(days=1)
        ),
        "ended": lambda: actions.update_service(
            service=offer(tree.union_a, officers.a_admin),
            data={"ends_on": today - datetime.timedelta(days=1)},
            acting_user=officers.a_admin,
        ),
        "audience": lambda: offer(tree.zj, officers.zj_admin, audience_unions=[tree.union_b]),
        "someone_else": lambda: offer(tree.union_a, officers.a_admin),
        "former": lambda: offer(tree.union_a, officers.a_admin),
    }[case]()
    if case == "former":
        from members.models import MemberStatus

        type(members.a).objects.filter(pk=members.a.pk).update(status=MemberStatus.WITHDRAWN)
        members.a.refresh_from_db()
    acting = members.a2.user if case == "someone_else" else members.a.user
    with pytest.raises((ValidationError, PermissionDenied)):
        request_actions.order_service(
            service=service, member=members.a, note="", acting_user=acting
        )
    assert ServiceRequest.objects.count() == 0
    assert Service.objects.get(pk=service.pk).taken == 0
    assert value(tree.union_a, "requests") == 0


def test_delegated_service_is_handled_by_the_members_own_union(tree, officers, members, committed):
    service = offer(tree.hz, officers.hz_admin, handling=Handling.MEMBERS_UNION)
    with committed():
        req = order(service, members.b)
    assert req.organization == tree.union_b
    with pytest.raises(PermissionDenied):
        request_actions.accept_request(request=req, acting_user=officers.a_admin)
    assert (
        request_actions.accept_request(request=req, acting_user=officers.b_admin).status
        == "accepted"
    )
    assert "services.menu.request_new" in kinds_for(officers.b_admin)
    assert "services.menu.request_new" not in kinds_for(officers.hz_admin)


def test_steps_in_the_wrong_order_are_refused(tree, officers, members):
    req = order(offer(tree.union_a, officers.a_admin), members.a)
    with pytest.raises(ValidationError, match="submitted"):
        request_actions.complete_request(request=req, result="done", acting_user=officers.a_admin)
    request_actions.reject_request(request=req, reason="不符合条件", acting_user=officers.a_admin)
    with pytest.raises(ValidationError, match="rejected"):
        request_actions.accept_request(request=req, acting_user=officers.a_admin)
    assert RequestStep.objects.count() == 2


# --- Confidential notes -----------------------------------------------------------------


def test_confidential_notes_only_for_the_handling_staff(tree, officers, members, make_officer):
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")
    xihu_admin = make_officer("xihu_admin", tree.xihu)
    service = offer(tree.xihu, xihu_admin, "法律援助", category=ServiceCategory.LEGAL)
    req = order(service, members.a)
    # Above the handling union and the member's own union: no access at all.
    for outsider in (
        officers.a_admin,
        officers.hz_admin,
        officers.zj_admin,
        officers.national_admin,
    ):
        assert not can_see_confidential(outsider, req)
        with pytest.raises(PermissionDenied):
            request_actions.add_confidential_note(request=req, text="x", acting_user=outsider)
        with pytest.raises(PermissionDenied):
            request_actions.accept_request(request=req, acting_user=outsider)
    with pytest.raises(PermissionDenied):
        request_actions.add_confidential_note(request=req, text="x", acting_user=members.a.user)

    req = request_actions.accept_request(request=req, acting_user=xihu_staff)
    note = request_actions.add_confidential_note(
        request=req, text="劳动仲裁材料", acting_user=xihu_staff
    )
    assert can_see_confidential(xihu_admin, req)
    assert list(confidential_notes(request=req, user=xihu_admin)) == [note]
    assert list(confidential_notes(request=req, user=officers.hz_admin)) == []
    assert list(confidential_notes(request=req, user=officers.a_admin)) == []
    # The audit entry tells that a note exists, never what it says.
    entry = AuditEntry.objects.get(action="services.menu.confidential_note_added")
    assert "劳动仲裁" not in str(entry.changes)

    # The handler keeps access after leaving the handling union's staff.
    from organizations.models import OrgRole

    OrgRole.objects.filter(user=xihu_staff).delete()
    xihu_staff = type(xihu_staff).objects.get(pk=xihu_staff.pk)
    assert can_see_confidential(xihu_staff, req)


def test_confidential_notes_only_on_legal_aid_and_counselling(tree, officers, members):
    req = order(offer(tree.union_a, officers.a_admin), members.a)
    with pytest.raises(ValidationError, match="legal aid and counselling"):
        request_actions.add_confidential_note(request=req, text="x", acting_user=officers.a_admin)
    assert ConfidentialNote.objects.count() == 0


# --- Wishes ----------------------------------------------------------------------------------


def propose(member, org, title="夏季送清凉"):
    return wish_actions.propose_wish(
        member=member, organization=org, title=title, acting_user=member.user
    )


def test_wish_voting_once_withdrawing_and_ranking(tree, officers, members):
    popular = propose(members.a, tree.xihu, "心理咨询")
    quiet = propose(members.b, tree.xihu, "篮球场")
    own = propose(members.a2, tree.union_a, "食堂")
    assert popular.votes == 1 and WishVote.objects.filter(wish=popular).count() == 1

    wish_actions.vote_wish(wish=popular, member=members.a2, acting_user=members.a2.user)
    wish_actions.vote_wish(wish=popular, member=members.b, acting_user=members.b.user)
    with pytest.raises(ValidationError, match="already voted"):
        wish_actions.vote_wish(wish=popular, member=members.b, acting_user=members.b.user)
    with pytest.raises(ValidationError, match="already voted"):
        wish_actions.vote_wish(wish=popular, member=members.a, acting_user=members.a.user)
    assert ServiceWish.objects.get(pk=popular.pk).votes == 3

    # A wish addressed to a sibling union is not in member B's chain.
    with pytest.raises(ValidationError, match="another union"):
        wish_actions.vote_wish(wish=own, member=members.b, acting_user=members.b.user)
    with pytest.raises(PermissionDenied):
        wish_actions.vote_wish(wish=quiet, member=members.a, acting_user=members.b.user)

    wish_actions.withdraw_vote(wish=popular, member=members.b, acting_user=members.b.user)
    with pytest.raises(ValidationError, match="not voted"):
        wish_actions.withdraw_vote(wish=popular, member=members.b, acting_user=members.b.user)
    assert ServiceWish.objects.get(pk=popular.pk).votes == 2

    assert [w.title for w in ranked_wishes(officers.hz_admin)] == ["心理咨询", "食堂", "篮球场"]
    assert [w.title for w in ranked_wishes(officers.a_admin)] == ["食堂"]
    assert list(ranked_wishes(officers.c_admin)) == []
    assert value(tree.xihu, "wishes_open") == 2
    assert value(tree.xihu, "wish_votes") == 3
    assert_counters_exact()


def test_wish_must_address_the_members_chain(tree, officers, members):
    with pytest.raises(ValidationError) as error:
        propose(members.a, tree.union_b)
    assert "organization" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        wish_actions.propose_wish(
            member=members.a, organization=tree.zj, title="", acting_user=members.a.user
        )
    assert "title" in error.value.message_dict
    assert ServiceWish.objects.count() == 0


def test_answering_a_wish_with_a_service_notifies_every_voter(tree, officers, members, committed):
    wish = propose(members.a, tree.xihu, "法律咨询")
    wish_actions.vote_wish(wish=wish, member=members.b, acting_user=members.b.user)
    xihu_admin_data = {"title": "法律咨询日", "category": "legal", "description": "每月一次"}
    with pytest.raises(PermissionDenied):  # staff decline; creating a service needs an admin
        wish_actions.answer_wish_with_service(
            wish=wish, data=xihu_admin_data, acting_user=officers.a_staff
        )
    with pytest.raises(PermissionDenied):  # below the addressed union
        wish_actions.answer_wish_with_service(
            wish=wish, data=xihu_admin_data, acting_user=officers.a_admin
        )
    with committed():
        service = wish_actions.answer_wish_with_service(
            wish=wish, data=xihu_admin_data, publish=True, acting_user=officers.hz_admin
        )
    assert service.organization == tree.xihu
    assert service.from_wish_id == wish.pk and service.status == PublishStatus.PUBLISHED
    wish.refresh_from_db()
    assert wish.status == WishStatus.ANSWERED and wish.answered_by == officers.hz_admin
    for member in (members.a, members.b):
        assert kinds_for(member.user) == ["services.menu.wish_answered"]
    assert kinds_for(members.c.user) == []
    assert service in menu_for(members.b)
    with pytest.raises(ValidationError, match="already"):
        wish_actions.decline_wish(wish=wish, answer="no", acting_user=officers.hz_admin)
    with pytest.raises(ValidationError, match="closed"):
        wish_actions.vote_wish(wish=wish, member=members.a2, acting_user=members.a2.user)
    assert value(tree.xihu, "wishes_open") == 0
    assert_counters_exact()


def test_bad_service_data_leaves_the_wish_open(tree, officers, members):
    wish = propose(members.a, tree.union_a)
    with pytest.raises(ValidationError):
        wish_actions.answer_wish_with_service(
            wish=wish, data={"title": "", "category": "legal"}, acting_user=officers.a_admin
        )
    assert ServiceWish.objects.get().status == WishStatus.OPEN
    assert Service.objects.count() == 0


def test_declining_a_wish_needs_an_answer_and_scope(tree, officers, members, committed):
    wish = propose(members.a, tree.union_a)
    with pytest.raises(PermissionDenied):
        wish_actions.decline_wish(wish=wish, answer="不行", acting_user=officers.b_admin)
    with pytest.raises(ValidationError) as error:
        wish_actions.decline_wish(wish=wish, answer="", acting_user=officers.a_staff)
    assert "answer" in error.value.message_dict
    with committed():
        wish_actions.decline_wish(wish=wish, answer="预算不足", acting_user=officers.a_staff)
    assert ServiceWish.objects.get().status == WishStatus.DECLINED
    assert kinds_for(members.a.user) == ["services.menu.wish_declined"]
    assert_counters_exact()
