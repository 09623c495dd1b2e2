"""Activities (活动): registration with capacity and a waiting list, cancellation promoting
the next in line, and check-in by card or by the session's code."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.models import AuditEntry
from members import cards
from members.actions import cards as card_actions
from members.actions import records as member_actions
from notifications.models import Notification
from organizations import counters
from services.actions import activities as actions
from services.models import (
    ActivitySession,
    ActivityStatus,
    Delivery,
    Registration,
    RegistrationStatus,
)
from services.selectors.activities import offered_activities, waitlist_positions

pytestmark = pytest.mark.django_db

REGS = "services.activities.registrations"
ATTENDANCE = "services.activities.attendance"


def assert_counters_exact():
    drift = counters.verify(["services.activities."])
    assert drift.ok, drift.wrong


def value(org, key):
    return counters.values(org).get(key, 0)


def make_activity(org, by, *, capacity=2, starts_in=datetime.timedelta(days=2), **data):
    """A published activity of `org` with one session of `capacity` places."""
    activity = actions.create_activity(
        organization=org,
        data={
            "title": "周末羽毛球赛",
            "description": "职工羽毛球友谊赛",
            "venue": "体育馆",
            **data,
        },
        acting_user=by,
    )
    start = timezone.now() + starts_in
    actions.add_session(
        activity=activity,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        capacity=capacity,
        acting_user=by,
    )
    return actions.publish_activity(activity=activity, acting_user=by)


def session_of(activity) -> ActivitySession:
    return activity.sessions.get()


def register(session, member):
    return actions.register(session=session, member=member, acting_user=member.user)


def kinds_for(member):
    return list(
        Notification.objects.filter(recipient=member.user)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


# --- Creating and publishing ---------------------------------------------------------------


def test_activity_starts_as_draft_and_publishing_needs_an_upcoming_session(tree, officers):
    activity = actions.create_activity(
        organization=tree.union_a,
        data={"title": "读书会", "description": "每月一次", "venue": "职工书屋"},
        acting_user=officers.a_staff,
    )
    assert activity.status == ActivityStatus.DRAFT
    with pytest.raises(ValidationError, match="at least one upcoming session"):
        actions.publish_activity(activity=activity, acting_user=officers.a_staff)
    start = timezone.now() + datetime.timedelta(days=1)
    actions.add_session(
        activity=activity,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        capacity=10,
        acting_user=officers.a_staff,
    )
    activity = actions.publish_activity(activity=activity, acting_user=officers.a_staff)
    assert activity.status == ActivityStatus.PUBLISHED
    assert AuditEntry.objects.filter(action="activity.published").count() == 1


def test_online_activity_needs_a_link_and_a_venue_activity_an_address(tree, officers):
    with pytest.raises(ValidationError) as error:
        actions.create_activity(
            organization=tree.union_a,
            data={"title": "线上讲座", "description": "劳动法", "delivery": Delivery.ONLINE},
            acting_user=officers.a_staff,
        )
    assert "online_url" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        actions.create_activity(
            organization=tree.union_a,
            data={"title": "登山", "description": "秋季登山"},
            acting_user=officers.a_staff,
        )
    assert "venue" in error.value.message_dict


def test_sibling_union_staff_cannot_create_or_run_another_unions_activity(tree, officers):
    with pytest.raises(PermissionDenied):
        actions.create_activity(
            organization=tree.union_a,
            data={"title": "x", "description": "y", "venue": "z"},
            acting_user=officers.b_admin,
        )
    activity = make_activity(tree.union_a, officers.a_staff)
    with pytest.raises(PermissionDenied):
        actions.cancel_activity(activity=activity, acting_user=officers.b_admin)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PUBLISHED


def test_session_capacity_cannot_drop_below_the_registered(tree, officers, members):
    activity = make_activity(tree.union_a, officers.a_staff, capacity=2)
    session = session_of(activity)
    register(session, members.a)
    register(session, members.a2)
    with pytest.raises(ValidationError, match="already registered"):
        actions.change_session(
            session=session,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            capacity=1,
            acting_user=officers.a_staff,
        )


# --- Registration and the waiting list -----------------------------------------------------


def test_member_registers_and_the_place_is_counted_at_their_union(
    tree, officers, members, committed
):
    activity = make_activity(tree.xihu, officers.hz_admin)
    session = session_of(activity)
    with committed():
        reg = register(session, members.b)
    session.refresh_from_db()
    assert reg.status == RegistrationStatus.REGISTERED
    assert reg.member_union == tree.union_b
    assert session.registered == 1 and session.places_left == 1
    assert value(tree.union_b, REGS) == 1
    assert value(tree.xihu, REGS) == 0  # counted at the member's own union, not the organizer
    assert kinds_for(members.b) == ["services.activities.registered"]
    assert_counters_exact()


def test_an_online_activity_speaks_of_its_link_not_of_a_venue_or_a_card(
    tree, officers, members, client, committed
):
    """Registered for an online lecture, a member is not told to show their card at a
    venue: the message and the reminder point to the link (issue 21)."""
    from django.urls import reverse
    from django.utils import translation

    from notifications.models import Notification

    lecture = make_activity(
        tree.xihu,
        officers.hz_admin,
        capacity=300,
        title="线上劳动法讲座",
        delivery=Delivery.ONLINE,
        venue="",
        online_url="https://meeting.example.cn/j/123",
    )
    session = session_of(lecture)
    client.force_login(members.b.user)
    client.cookies["django_language"] = "zh-hans"  # these tests read English otherwise
    with committed():
        response = client.post(reverse("activities-register", args=[session.pk]), follow=True)
    page = response.content.decode()
    assert "报名成功。参加链接在本页上。" in page and "现场见" not in page
    assert "剩余 299 个名额（共 300 个）" in page
    assert kinds_for(members.b) == ["services.activities.registered_online"]
    with translation.override("zh-hans"):
        body = Notification.objects.get(recipient=members.b.user).body
    assert "线上" in body and "会员卡" not in body
    type(session).objects.filter(pk=session.pk).update(
        starts_at=timezone.now() + datetime.timedelta(hours=20),
        ends_at=timezone.now() + datetime.timedelta(hours=22),
    )
    with committed():
        actions.remind_upcoming_sessions()
    assert kinds_for(members.b)[-1] == "services.activities.reminder_online"


def test_full_session_puts_the_member_on_the_waiting_list(tree, officers, members, committed):
    session = session_of(make_activity(tree.union_a, officers.a_staff, capacity=1))
    with committed():
        register(session, members.a)
        reg = register(session, members.a2)
    session.refresh_from_db()
    assert reg.status == RegistrationStatus.WAITLISTED
    assert reg.waitlisted_at is not None
    assert session.registered == 1
    assert value(tree.union_a, REGS) == 1
    assert waitlist_positions([reg]) == {reg.pk: 1}
    assert kinds_for(members.a2) == ["services.activities.waitlisted"]
    assert_counters_exact()


def test_registering_twice_is_refused_with_a_clear_message(tree, officers, members):
    session = session_of(make_activity(tree.union_a, officers.a_staff, capacity=1))
    register(session, members.a)
    with pytest.raises(ValidationError, match="already registered"):
        register(session, members.a)
    register(session, members.a2)
    with pytest.raises(ValidationError, match="already on the waiting list"):
        register(session, members.a2)
    assert Registration.objects.count() == 2


def test_cancelling_a_place_promotes_the_first_in_line_and_tells_them(
    tree, officers, members, committed
):
    session = session_of(make_activity(tree.xihu, officers.hz_admin, capacity=1))
    first = register(session, members.a)
    second = register(session, members.a2)
    third = register(session, members.b)
    assert waitlist_positions([second, third]) == {second.pk: 1, third.pk: 2}

    with committed():
        actions.cancel_registration(registration=first, acting_user=members.a.user)

    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    session.refresh_from_db()
    assert first.status == RegistrationStatus.CANCELLED and first.cancelled_at is not None
    assert second.status == RegistrationStatus.REGISTERED
    assert third.status == RegistrationStatus.WAITLISTED
    assert waitlist_positions([third]) == {third.pk: 1}
    assert session.registered == 1
    assert "services.activities.promoted" in kinds_for(members.a2)
    assert "services.activities.promoted" not in kinds_for(members.b)
    assert value(tree.union_a, REGS) == 1  # a left, a2 took the place: both of union A
    assert_counters_exact()


def test_promotion_follows_waiting_order_not_registration_id(tree, officers, members):
    session = session_of(make_activity(tree.xihu, officers.hz_admin, capacity=1))
    first = register(session, members.a)
    later = register(session, members.a2)
    earlier = register(session, members.b)
    # b joined the line before a2 (e.g. a2 had re-registered later).
    Registration.objects.filter(pk=earlier.pk).update(
        waitlisted_at=later.waitlisted_at - datetime.timedelta(minutes=5)
    )
    actions.cancel_registration(registration=first, acting_user=members.a.user)
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert earlier.status == RegistrationStatus.REGISTERED
    assert later.status == RegistrationStatus.WAITLISTED


def test_leaving_the_waiting_list_frees_no_place(tree, officers, members):
    session = session_of(make_activity(tree.xihu, officers.hz_admin, capacity=1))
    register(session, members.a)
    waiting = register(session, members.a2)
    register(session, members.b)
    actions.cancel_registration(registration=waiting, acting_user=members.a2.user)
    session.refresh_from_db()
    assert session.registered == 1
    assert Registration.objects.get(member=members.b).status == RegistrationStatus.WAITLISTED
    # After cancelling, the member may register again: the line starts anew at the back.
    again = register(session, members.a2)
    assert again.status == RegistrationStatus.WAITLISTED
    assert waitlist_positions([again]) == {again.pk: 2}
    assert_counters_exact()


def test_member_cannot_cancel_someone_elses_registration(tree, officers, members):
    session = session_of(make_activity(tree.union_a, officers.a_staff))
    reg = register(session, members.a)
    with pytest.raises(PermissionDenied):
        actions.cancel_registration(registration=reg, acting_user=members.a2.user)
    reg.refresh_from_db()
    assert reg.status == RegistrationStatus.REGISTERED


def test_member_of_a_sibling_branch_is_not_offered_the_activity(tree, officers, members):
    activity = make_activity(tree.union_b, officers.b_admin)
    with pytest.raises(ValidationError, match="not offered"):
        register(session_of(activity), members.a)
    assert activity not in offered_activities(members.a)
    assert activity in offered_activities(members.b)
    assert not Registration.objects.exists()


def test_audience_rules_limit_who_may_register(tree, officers, members):
    activity = make_activity(
        tree.zj, officers.zj_admin, audience_employment_types=["delivery_rider"]
    )
    with pytest.raises(ValidationError, match="not offered"):
        register(session_of(activity), members.a)
    assert activity not in offered_activities(members.a)


def test_ancestor_activities_are_offered_down_the_tree(tree, officers, members):
    provincial = make_activity(tree.zj, officers.zj_admin)
    own = make_activity(tree.union_a, officers.a_staff)
    other_province = make_activity(tree.gd, officers.gd_admin)
    offered = offered_activities(members.a)
    assert provincial in offered and own in offered
    assert other_province not in offered


def test_registration_closes_at_the_deadline_and_when_the_session_starts(tree, officers, members):
    activity = make_activity(
        tree.union_a,
        officers.a_staff,
        registration_closes_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    with pytest.raises(ValidationError, match="has closed"):
        register(session_of(activity), members.a)
    other = make_activity(tree.union_a, officers.a_staff)
    session = session_of(other)
    ActivitySession.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(ValidationError, match="already started"):
        register(session, members.a)


def test_former_member_cannot_register(tree, officers, members):
    session = session_of(make_activity(tree.union_a, officers.a_staff))
    member_actions.change_status(
        member=members.a, status="withdrawn", reason="离职", acting_user=officers.a_admin
    )
    members.a.refresh_from_db()
    with pytest.raises(ValidationError, match="not current"):
        register(session, members.a)


def test_cancelling_the_activity_cancels_registrations_and_tells_the_members(
    tree, officers, members, committed
):
    activity = make_activity(tree.xihu, officers.hz_admin, capacity=1)
    session = session_of(activity)
    register(session, members.a)
    register(session, members.b)
    with committed():
        actions.cancel_activity(activity=activity, acting_user=officers.hz_admin, reason="台风")
    session.refresh_from_db()
    assert session.registered == 0
    assert set(Registration.objects.values_list("status", flat=True)) == {"cancelled"}
    assert "services.activities.cancelled" in kinds_for(members.a)
    assert "services.activities.cancelled" in kinds_for(members.b)
    assert value(tree.union_a, REGS) == 0
    with pytest.raises(ValidationError, match="not open for registration"):
        register(session, members.a2)
    assert_counters_exact()


# --- Check-in ----------------------------------------------------------------------------


@pytest.fixture
def soon(tree, officers):
    """A session of union A starting in 30 minutes: registration and check-in both open."""
    activity = make_activity(
        tree.union_a, officers.a_staff, capacity=1, starts_in=datetime.timedelta(minutes=30)
    )
    return session_of(activity)


def card_url(member):
    return f"https://unionhub.example/verify/{cards.card_token(member)}/"


def test_staff_check_a_member_in_by_scanning_the_card_url(tree, officers, members, soon):
    register(soon, members.a)
    reg = actions.check_in_by_card(
        session=soon, card_token=card_url(members.a), acting_user=officers.a_staff
    )
    assert reg.checked_in_at is not None
    assert reg.checkin_method == "card" and reg.checked_in_by == officers.a_staff
    assert value(tree.union_a, ATTENDANCE) == 1
    assert_counters_exact()


def test_checking_in_twice_is_refused_with_the_time_of_the_first(tree, officers, members, soon):
    register(soon, members.a)
    token = cards.card_token(members.a)
    reg = actions.check_in_by_card(session=soon, card_token=token, acting_user=officers.a_staff)
    at = timezone.localtime(reg.checked_in_at).strftime("%H:%M")
    with pytest.raises(ValidationError, match=f"Already checked in at {at}"):
        actions.check_in_by_card(session=soon, card_token=token, acting_user=officers.a_staff)
    with pytest.raises(ValidationError, match="Already checked in"):
        actions.check_in_by_code(code=soon.checkin_code, member=members.a)
    assert value(tree.union_a, ATTENDANCE) == 1
    assert_counters_exact()


def test_a_replaced_card_is_refused_at_check_in(tree, officers, members, soon):
    register(soon, members.a)
    old_token = cards.card_token(members.a)
    card_actions.issue_card(member=members.a, acting_user=officers.a_admin)  # card reissued
    with pytest.raises(ValidationError, match="no longer valid"):
        actions.check_in_by_card(session=soon, card_token=old_token, acting_user=officers.a_staff)
    assert Registration.objects.get().checked_in_at is None
    assert value(tree.union_a, ATTENDANCE) == 0


def test_a_revoked_card_of_a_former_member_is_refused_at_check_in(tree, officers, members, soon):
    register(soon, members.a)
    token = cards.card_token(members.a)
    member_actions.change_status(
        member=members.a, status="withdrawn", reason="退会", acting_user=officers.a_admin
    )
    with pytest.raises(ValidationError, match="no longer valid"):
        actions.check_in_by_card(session=soon, card_token=token, acting_user=officers.a_staff)
    with pytest.raises(ValidationError, match="not a valid membership card"):
        actions.check_in_by_card(
            session=soon, card_token="forged:token", acting_user=officers.a_staff
        )


def test_waitlisted_or_unregistered_members_cannot_check_in(tree, officers, members, soon):
    register(soon, members.a)
    register(soon, members.a2)  # capacity 1: waiting list
    with pytest.raises(ValidationError, match="waiting list"):
        actions.check_in_by_card(
            session=soon,
            card_token=cards.card_token(members.a2),
            acting_user=officers.a_staff,
        )
    with pytest.raises(ValidationError, match="not registered"):
        actions.check_in_by_card(
            session=soon,
            card_token=cards.card_token(members.b),
            acting_user=officers.a_staff,
        )


def test_check_in_opens_an_hour_before_and_closes_at_the_end(tree, officers, members):
    session = session_of(make_activity(tree.union_a, officers.a_staff))  # in two days
    register(session, members.a)
    with pytest.raises(ValidationError, match="Check-in opens at"):
        actions.check_in_by_code(code=session.checkin_code, member=members.a)
    past = timezone.now() - datetime.timedelta(hours=3)
    ActivitySession.objects.filter(pk=session.pk).update(
        starts_at=past, ends_at=past + datetime.timedelta(hours=2)
    )
    with pytest.raises(ValidationError, match="has ended"):
        actions.check_in_by_code(code=session.checkin_code, member=members.a)
    assert Registration.objects.get().checked_in_at is None


def test_staff_of_a_sibling_union_cannot_check_in_at_another_unions_session(
    tree, officers, members, soon
):
    register(soon, members.a)
    with pytest.raises(PermissionDenied):
        actions.check_in_by_card(
            session=soon,
            card_token=cards.card_token(members.a),
            acting_user=officers.b_admin,
        )


def test_member_checks_in_by_scanning_the_session_code(tree, officers, members, soon):
    register(soon, members.a)
    reg = actions.check_in_by_code(code=soon.checkin_code, member=members.a)
    assert reg.checkin_method == "code" and reg.checked_in_by == members.a.user
    with pytest.raises(ValidationError, match="not valid"):
        actions.check_in_by_code(code="no-such-code", member=members.a2)
    with pytest.raises(ValidationError, match="You are not registered"):
        actions.check_in_by_code(code=soon.checkin_code, member=members.b)
    # A checked-in place can no longer be given up.
    with pytest.raises(ValidationError, match="already checked in"):
        actions.cancel_registration(registration=reg, acting_user=members.a.user)
    assert_counters_exact()


def test_scan_text_gives_the_token_from_a_url_or_as_typed():
    assert actions.token_from_scan(" https://x.cn/verify/abc:def/ ") == "abc:def"
    assert actions.token_from_scan("/verify/abc:def/?x=1") == "abc:def"
    assert actions.token_from_scan("abc:def") == "abc:def"


def test_finishing_waits_for_the_last_session_to_end(tree, officers, members):
    activity = make_activity(tree.union_a, officers.a_staff)
    with pytest.raises(ValidationError, match="after its last session ends"):
        actions.finish_activity(activity=activity, acting_user=officers.a_staff)
    past = timezone.now() - datetime.timedelta(hours=3)
    activity.sessions.update(starts_at=past, ends_at=past + datetime.timedelta(hours=1))
    activity = actions.finish_activity(activity=activity, acting_user=officers.a_staff)
    assert activity.status == ActivityStatus.FINISHED


@pytest.mark.parametrize("year", [648, 1900, 2100])
def test_a_session_outside_sane_years_is_refused_with_the_field_named(tree, officers, year):
    activity = actions.create_activity(
        organization=tree.union_a,
        data={"title": "读书会", "description": "每月一次", "venue": "职工书屋"},
        acting_user=officers.a_staff,
    )
    start = timezone.make_aware(datetime.datetime(year, 5, 1, 9, 0))

    with pytest.raises(ValidationError) as refused:
        actions.add_session(
            activity=activity,
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=1),
            capacity=10,
            acting_user=officers.a_staff,
        )

    assert "starts_at" in refused.value.message_dict
    assert not activity.sessions.exists()
