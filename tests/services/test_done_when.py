"""Issue 4 "Done when", end to end, on PostgreSQL, through real URLs only.

A member of 甲公司工会 (four levels below the provincial federation) orders a service
inherited from 浙江省总工会, registers for an activity and is checked in at the venue,
raises a concern that nobody answers so that it climbs to 西湖区总工会 and is answered
there, and rates both — all in the portal, while staff work in the admin. Finally a
city union sees its subtree's wishes ranked by votes, and a sibling province does not.
"""

import datetime
import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from organizations import counters
from services.models import (
    Activity,
    Concern,
    ConcernStatus,
    ConcernStepKind,
    PublishStatus,
    RequestStatus,
    Service,
    ServiceRequest,
    ServiceWish,
)
from services.tasks.voice import escalate_overdue_concerns_task

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def each_request_commits(client, committed):
    """Each request's on-commit work (notifications, queued tasks) runs as it returns, as
    after the commit that ends a real request; the test's own transaction never commits."""
    send = client.request

    def request(**kwargs):
        with committed():
            return send(**kwargs)

    client.request = request


def as_user(client, user):
    client.force_login(user)
    return client


def ok(response, status=302):
    """The response has the expected status; otherwise show the form errors."""
    errors = None
    if response.status_code != status and response.context is not None:
        form = response.context.get("adminform") or response.context.get("form")
        errors = getattr(getattr(form, "form", form), "errors", None)
    assert response.status_code == status, errors
    return response


def test_a_member_is_served_in_the_portal_while_staff_work_in_the_admin(
    tree, officers, members, make_officer, client, clock, committed
):
    assert connection.vendor == "postgresql"
    member = members.a
    zj_staff = make_officer("zj_staff", tree.zj, "staff")
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")

    # --- 1. A service of the provincial federation, ordered four levels down ---------------
    as_user(client, officers.zj_admin)
    ok(
        client.post(
            reverse("admin:services_service_add"),
            {
                "organization": tree.zj.pk,
                "title": "浙江职工疗休养",
                "category": "inclusive",
                "description": "全省会员每年一次疗休养。",
                "capacity": "100",
                "delivery": "online",
                "handling": "offering",
                "due_days": "7",
            },
        )
    )
    service = Service.objects.get(title="浙江职工疗休养")
    assert service.organization == tree.zj and service.status == PublishStatus.DRAFT
    client.post(
        reverse("admin:services_service_changelist"),
        {"action": "publish_selected", "_selected_action": [service.pk]},
    )
    assert Service.objects.get(pk=service.pk).status == PublishStatus.PUBLISHED

    as_user(client, member.user)
    menu = ok(client.get(reverse("services-menu")), 200).text
    assert "浙江职工疗休养" in menu and tree.zj.name in menu
    ordered = client.post(reverse("services-menu-detail", args=[service.pk]), {"note": "十月"})
    assert ok(ordered).url == reverse("services-my-requests")
    req = ServiceRequest.objects.get(service=service, member=member)
    assert req.organization == tree.zj and req.status == RequestStatus.SUBMITTED

    as_user(client, zj_staff)
    change_page = reverse("admin:services_servicerequest_change", args=[req.pk])
    assert "浙江职工疗休养" in ok(client.get(change_page), 200).text
    ok(client.post(reverse("admin:services_servicerequest_step", args=[req.pk, "accept"])))
    ok(
        client.post(
            reverse("admin:services_servicerequest_step", args=[req.pk, "complete"]),
            {"result": "已安排十月疗休养。"},
        )
    )
    assert ServiceRequest.objects.get(pk=req.pk).status == RequestStatus.COMPLETED

    as_user(client, member.user)
    assert "已安排十月疗休养。" in client.get(reverse("services-my-requests")).text
    ok(
        client.post(
            reverse("services-request-rate", args=[req.pk]), {"rating": "5", "comment": "很满意"}
        )
    )
    mine = client.get(reverse("services-my-requests")).text
    assert "Your rating" in mine and "5 / 5 · 很满意" in mine
    as_user(client, zj_staff)
    assert "很满意" in client.get(change_page).text  # the handling staff see it too

    # --- 2. An activity at a venue: register in the portal, card scanned at the door -------
    as_user(client, officers.a_staff)
    start = timezone.localtime(clock.now + 30 * MINUTE)
    end = start + 2 * 60 * MINUTE
    ok(
        client.post(
            reverse("admin:services_activity_add"),
            {
                "organization": tree.union_a.pk,
                "title": "职工读书会",
                "description": "本月共读一本书。",
                "delivery": "station",
                "venue": "甲公司职工书屋",
                "online_url": "",
                "registration_closes_at_0": "",
                "registration_closes_at_1": "",
                "sessions-TOTAL_FORMS": "1",
                "sessions-INITIAL_FORMS": "0",
                "sessions-MIN_NUM_FORMS": "0",
                "sessions-MAX_NUM_FORMS": "1000",
                "sessions-0-starts_at_0": start.strftime("%Y-%m-%d"),
                "sessions-0-starts_at_1": start.strftime("%H:%M:%S"),
                "sessions-0-ends_at_0": end.strftime("%Y-%m-%d"),
                "sessions-0-ends_at_1": end.strftime("%H:%M:%S"),
                "sessions-0-capacity": "20",
            },
        )
    )
    activity = Activity.objects.get(title="职工读书会")
    session = activity.sessions.get()
    client.post(
        reverse("admin:services_activity_changelist"),
        {"action": "publish_selected", "_selected_action": [activity.pk]},
    )

    as_user(client, member.user)
    assert "职工读书会" in client.get(reverse("activities-list")).text
    registered = client.post(reverse("activities-register", args=[session.pk]), follow=True)
    assert "You are registered" in registered.text
    # The card the member shows at the door: the verification link on their portal page.
    card_page = ok(client.get(reverse("my-membership")), 200).text
    card_url = re.search(r'href="(http://testserver/verify/[^"]+/)"', card_page).group(1)

    as_user(client, officers.a_staff)
    session_page = reverse("admin:services_activity_session", args=[session.pk])
    scanned = client.post(session_page, {"scan": card_url}, follow=True)
    assert f"Checked in: {member.name}." in scanned.text
    assert scanned.context["checked_in"] == 1
    again = client.post(session_page, {"scan": card_url}, follow=True)
    assert "Already checked in at" in again.text
    assert again.context["checked_in"] == 1
    assert counters.values(tree.union_a).get("services.activities.attendance") == 1

    # --- 3. A concern nobody answers climbs one level and is answered there ----------------
    as_user(client, member.user)
    raised = client.post(
        reverse("voice-new"),
        {"category": "wages", "title": "加班费未发", "text": "三月加班费至今未发放。"},
    )
    concern = Concern.objects.get(member=member)
    assert ok(raised).url == reverse("voice-detail", args=[concern.pk])
    assert concern.organization == tree.union_a

    clock.advance(3 * DAY - MINUTE)  # not yet due: stays with the grassroots union
    with committed():
        assert escalate_overdue_concerns_task.delay().get() == 0
    clock.advance(2 * MINUTE)
    with committed():
        assert escalate_overdue_concerns_task.delay().get() == 1
    concern.refresh_from_db()
    assert concern.organization == tree.xihu and concern.escalations == 1

    as_user(client, xihu_staff)
    ok(
        client.post(
            reverse("admin:services_concern_reply", args=[concern.pk]),
            {"text": "区总工会已约谈企业，本周内补发。"},
        )
    )
    assert Concern.objects.get(pk=concern.pk).status == ConcernStatus.ANSWERED

    as_user(client, member.user)
    detail_url = reverse("voice-detail", args=[concern.pk])
    detail = client.get(detail_url).text
    assert "区总工会已约谈企业，本周内补发。" in detail
    assert f"Answer from {tree.xihu.name}:" in detail
    ok(client.post(reverse("voice-rate", args=[concern.pk]), {"rating": "4", "comment": "及时"}))
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.CLOSED and concern.rating == 4
    assert list(concern.steps.order_by("at", "pk").values_list("kind", flat=True)) == [
        ConcernStepKind.RAISED,
        ConcernStepKind.ESCALATED,
        ConcernStepKind.REPLIED,
        ConcernStepKind.RATED,
    ]
    detail = client.get(detail_url).text
    shown = [
        detail.index(f"<strong>{label}</strong>")
        for label in (
            "Raised",
            "Escalated (not answered in time)",
            "Replied",
            "Rated by the member",
        )
    ]
    assert shown == sorted(shown)
    assert f"{tree.union_a.name} → {tree.xihu.name}" in detail
    # Told in the inbox as each step committed: the escalation, then the answer.
    told = Notification.objects.filter(recipient=member.user, kind__startswith="services.voice.")
    assert list(told.order_by("pk").values_list("kind", flat=True)) == [
        "services.voice.escalated_member",
        "services.voice.replied",
    ]

    # --- 4. Wishes of two sibling unions, ranked for the city union above them -------------
    def propose(who, org, title):
        as_user(client, who.user)
        ok(
            client.post(
                reverse("services-wishes"),
                {"organization": org.pk, "title": title, "category": "other"},
            )
        )
        return ServiceWish.objects.get(title=title)

    def vote(who, wish):
        as_user(client, who.user)
        ok(client.post(reverse("services-wish-vote", args=[wish.pk])))

    canteen = propose(members.a, tree.union_a, "甲公司食堂夜宵")
    court = propose(members.b, tree.xihu, "西湖区职工篮球场")
    shuttle = propose(members.b, tree.union_b, "乙公司通勤班车")
    vote(members.a, court)
    vote(members.a2, court)
    vote(members.a2, canteen)
    assert [ServiceWish.objects.get(pk=w.pk).votes for w in (court, canteen, shuttle)] == [
        3,
        2,
        1,
    ]

    as_user(client, officers.hz_admin)
    ranked = ok(client.get(reverse("admin:services_servicewish_changelist")), 200)
    assert ranked.context["cl"].result_count == 3
    positions = [ranked.text.index(w.title) for w in (court, canteen, shuttle)]
    assert positions == sorted(positions)

    as_user(client, officers.gd_admin)
    elsewhere = ok(client.get(reverse("admin:services_servicewish_changelist")), 200)
    assert elsewhere.context["cl"].result_count == 0
    assert not any(w.title in elsewhere.text for w in (court, canteen, shuttle))

    # --- 5. Every dashboard counter matches its ground truth ------------------------------
    drift = counters.verify()
    assert drift.ok, drift.wrong
