"""Reminders: members holding a place hear of their session within the 24 hours before it,
once per start time; a hardship aid member hears when their case goes on public notice."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from services.actions import activities, aid
from services.models import AidStatus, Delivery, RegistrationStatus
from services.tasks.activities import remind_upcoming_sessions_task
from tests.factories import make_member
from tests.services.conftest import member_with_login
from tests.services.test_activities import make_activity
from tests.services.test_aid import DATA

pytestmark = pytest.mark.django_db

REMINDER = "services.activities.reminder"
HOUR = datetime.timedelta(hours=1)


def register(activity, member, by=None):
    return activities.register(
        session=activity.sessions.get(), member=member, acting_user=by or member.user
    )


def reminded(activity=None):
    """{user id: context} of the reminders sent (for one activity's title, if given); an
    online activity's have a kind of their own, which speaks of its link."""
    rows = Notification.objects.filter(kind__in=[REMINDER, f"{REMINDER}_online"])
    return {
        n.recipient_id: n.context
        for n in rows
        if activity is None or n.context["activity"] == activity.title
    }


# --- Activity reminders --------------------------------------------------------------------


def test_only_members_holding_a_place_within_24_hours_are_reminded_once(
    tree, officers, members, clock
):
    soon = make_activity(tree.union_a, officers.a_staff, starts_in=20 * HOUR, capacity=3)
    waiting, left = member_with_login(tree.union_a), member_with_login(tree.union_a)
    no_login = make_member(tree.union_a)
    register(soon, members.a)
    register(soon, members.a2)
    register(soon, no_login, by=officers.a_admin)  # the third and last place
    assert register(soon, waiting).status == RegistrationStatus.WAITLISTED
    activities.cancel_registration(registration=register(soon, left), acting_user=left.user)
    later = make_activity(tree.union_a, officers.a_staff, starts_in=30 * HOUR, title="读书会")
    register(later, members.a)
    called_off = make_activity(tree.union_a, officers.a_staff, starts_in=5 * HOUR, title="讲座")
    register(called_off, members.a2)
    activities.cancel_activity(activity=called_off, acting_user=officers.a_staff)

    assert remind_upcoming_sessions_task.delay().get() == 2

    start = timezone.localtime(soon.sessions.get().starts_at)
    assert set(reminded()) == {members.a.user_id, members.a2.user_id}
    context = reminded()[members.a.user_id]
    assert context["activity"] == "周末羽毛球赛" and context["where"] == "体育馆"
    assert context["when"].startswith(f"{start:%Y-%m-%d %H:%M}–")
    note = Notification.objects.filter(kind=REMINDER).first()
    assert note.link == reverse("activities-mine")

    assert remind_upcoming_sessions_task.delay().get() == 0
    assert Notification.objects.filter(kind=REMINDER).count() == 2


def test_a_session_30_hours_away_is_reminded_once_it_is_within_24_hours(
    tree, officers, members, clock
):
    activity = make_activity(tree.union_a, officers.a_staff, starts_in=30 * HOUR)
    register(activity, members.a)
    assert activities.remind_upcoming_sessions() == 0
    clock.advance(6 * HOUR)
    assert activities.remind_upcoming_sessions() == 1
    clock.advance(HOUR)
    assert activities.remind_upcoming_sessions() == 0
    assert list(reminded()) == [members.a.user_id]


def test_a_place_taken_shortly_before_a_run_is_reminded_by_it(tree, officers, members, clock):
    activity = make_activity(tree.union_a, officers.a_staff, starts_in=3 * HOUR)
    register(activity, members.a)
    assert activities.remind_upcoming_sessions() == 1
    clock.advance(HOUR / 2)
    register(activity, members.a2)
    clock.advance(HOUR / 2)
    assert activities.remind_upcoming_sessions() == 1
    assert set(reminded()) == {members.a.user_id, members.a2.user_id}


def test_a_session_that_started_gets_no_reminder(tree, officers, members, clock):
    activity = make_activity(tree.union_a, officers.a_staff, starts_in=HOUR)
    register(activity, members.a)
    clock.advance(2 * HOUR)
    assert activities.remind_upcoming_sessions() == 0


def test_a_rescheduled_session_reminds_again_with_the_new_time(tree, officers, members, clock):
    activity = make_activity(tree.union_a, officers.a_staff, starts_in=10 * HOUR)
    register(activity, members.a)
    assert activities.remind_upcoming_sessions() == 1
    session = activity.sessions.get()
    moved = session.starts_at + 4 * HOUR
    activities.change_session(
        session=session,
        starts_at=moved,
        ends_at=moved + 2 * HOUR,
        capacity=session.capacity,
        acting_user=officers.a_staff,
    )
    assert activities.remind_upcoming_sessions() == 1
    assert activities.remind_upcoming_sessions() == 0
    whens = sorted(
        Notification.objects.filter(kind=REMINDER).values_list("context__when", flat=True)
    )
    assert len(whens) == 2
    assert whens[1].startswith(f"{timezone.localtime(moved):%Y-%m-%d %H:%M}")


def test_an_online_activity_reminder_gives_its_link(tree, officers, members, clock):
    url = "https://meeting.example.com/labour-law"
    activity = make_activity(
        tree.union_a,
        officers.a_staff,
        starts_in=2 * HOUR,
        delivery=Delivery.ONLINE,
        online_url=url,
        venue="",
    )
    register(activity, members.a)
    activities.remind_upcoming_sessions()
    assert reminded(activity)[members.a.user_id]["where"] == url
    notice = Notification.objects.get(recipient=members.a.user, kind=f"{REMINDER}_online")
    assert url in notice.body


def test_reminders_go_out_in_batches_of_one_session(tree, officers, members, clock, monkeypatch):
    activity = make_activity(tree.union_a, officers.a_staff, starts_in=2 * HOUR)
    other = make_activity(tree.union_a, officers.a_staff, starts_in=3 * HOUR, title="读书会")
    for member in (members.a, members.a2):
        register(activity, member)
    register(other, members.a)
    calls = []
    real_notify = activities.notify

    def spy(recipients, kind, context, link, **kwargs):
        calls.append((context["activity"], sorted(recipients)))
        return real_notify(recipients, kind, context, link, **kwargs)

    monkeypatch.setattr(activities, "REMINDER_BATCH", 1)
    monkeypatch.setattr(activities, "notify", spy)
    assert activities.remind_upcoming_sessions() == 3
    assert sorted(calls) == sorted(
        [
            ("周末羽毛球赛", [members.a.user_id]),
            ("周末羽毛球赛", [members.a2.user_id]),
            ("读书会", [members.a.user_id]),
        ]
    )


def test_the_reminder_job_runs_every_hour():
    from django_celery_beat.models import PeriodicTask

    from services.schedules import ensure_schedules

    ensure_schedules()
    job = PeriodicTask.objects.get(task="services.tasks.activities.remind_upcoming_sessions_task")
    assert job.enabled
    assert (job.interval.every, job.interval.period) == (60, "minutes")


# --- Hardship aid: public notice (公示) -----------------------------------------------------


@pytest.fixture
def approved_case(tree, members, make_officer):
    """Member A's case, approved by the county and ready for its public notice."""
    a_aid = make_officer("a_aid", tree.union_a, "aid")
    county_aid = make_officer("xihu_aid", tree.xihu, "aid")
    case = aid.open_aid_case(member=members.a, data=DATA, acting_user=a_aid)
    aid.review_case(case=case, accept=True, acting_user=a_aid)
    aid.record_home_visit(
        case=case,
        text="入户走访：情况属实。",
        visited_on=timezone.localdate(),
        visitors="张三、李四",
        acting_user=a_aid,
    )
    aid.approve_case(case=case, amount="2000", tier="deep", acting_user=county_aid)
    case.officer = a_aid
    return case


def notices_started():
    return Notification.objects.filter(kind="services.aid.notice_started")


def test_the_member_hears_once_the_public_notice_has_started(
    approved_case, members, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = aid.start_notice(case=approved_case, acting_user=approved_case.officer)
        assert not notices_started().exists()  # only after the commit
    note = notices_started().get()
    assert note.recipient_id == members.a.user_id
    assert note.context == {"until": case.notice_ends_on.isoformat()}
    assert note.link == reverse("aid-mine")


def test_a_restarted_notice_tells_the_member_the_new_end(
    approved_case, members, clock, django_capture_on_commit_callbacks
):
    officer = approved_case.officer
    with django_capture_on_commit_callbacks(execute=True):
        first = aid.start_notice(case=approved_case, acting_user=officer)
    clock.advance(datetime.timedelta(days=1))
    objection = aid.object_to_case(case=first, text="收入未如实申报。", acting_user=members.a2.user)
    with django_capture_on_commit_callbacks(execute=True):
        again = aid.resolve_objection(
            objection=objection, upheld=False, resolution="经核实，情况属实。", acting_user=officer
        )
    assert again.status == AidStatus.NOTICE and again.notice_ends_on > first.notice_ends_on
    assert sorted(notices_started().values_list("context__until", flat=True)) == [
        first.notice_ends_on.isoformat(),
        again.notice_ends_on.isoformat(),
    ]
    assert set(notices_started().values_list("recipient_id", flat=True)) == {members.a.user_id}
