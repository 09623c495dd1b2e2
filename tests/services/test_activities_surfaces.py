"""Activities through the portal, the admin and the API: a member registers, cancels and
checks in by the session's code; staff scan cards on the session page; siblings get 404."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from members import cards
from organizations import counters
from services.actions import activities as actions
from services.models import Activity, ActivityStatus, Registration, RegistrationStatus

pytestmark = pytest.mark.django_db


def make_activity(org, by, *, capacity=2, starts_in=datetime.timedelta(days=2), title="读书会"):
    activity = actions.create_activity(
        organization=org,
        data={"title": title, "description": "每月一次", "venue": "职工书屋"},
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


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def assert_counters_exact():
    drift = counters.verify(["services.activities."])
    assert drift.ok, drift.wrong


# --- Portal --------------------------------------------------------------------------------


def test_member_sees_chain_activities_but_not_a_sibling_branchs(tree, officers, members, login):
    own = make_activity(tree.union_a, officers.a_staff, title="甲公司读书会")
    county = make_activity(tree.xihu, officers.hz_admin, title="西湖区运动会")
    sibling = make_activity(tree.union_b, officers.b_admin, title="乙公司联谊会")
    client = login(members.a)
    page = client.get(reverse("activities-list")).content.decode()
    assert own.title in page and county.title in page
    assert sibling.title not in page
    assert client.get(reverse("activities-detail", args=[sibling.pk])).status_code == 404
    assert client.get(reverse("activities-detail", args=[own.pk])).status_code == 200
    # Nor can a forged POST register for the sibling's session.
    session = sibling.sessions.get()
    response = client.post(reverse("activities-register", args=[session.pk]))
    assert response.status_code == 404
    assert not Registration.objects.exists()


def test_draft_activities_are_not_shown_to_members(tree, officers, members, login):
    draft = actions.create_activity(
        organization=tree.union_a,
        data={"title": "草稿活动", "description": "x", "venue": "y"},
        acting_user=officers.a_staff,
    )
    client = login(members.a)
    assert draft.title not in client.get(reverse("activities-list")).content.decode()
    assert client.get(reverse("activities-detail", args=[draft.pk])).status_code == 404


def test_member_registers_then_waits_then_cancels_in_the_portal(tree, officers, members, login):
    activity = make_activity(tree.union_a, officers.a_staff, capacity=1)
    session = activity.sessions.get()
    first = login(members.a)
    first.post(reverse("activities-register", args=[session.pk]))
    client = login(members.a2)
    response = client.post(reverse("activities-register", args=[session.pk]), follow=True)
    assert "waiting list" in response.content.decode()
    mine = client.get(reverse("activities-mine")).content.decode()
    assert "You are number 1 in line." in mine

    # a's own registration is not reachable by a2: 404, nothing changes.
    a_reg = Registration.objects.get(member=members.a)
    assert client.post(reverse("activities-cancel", args=[a_reg.pk])).status_code == 404

    client = login(members.a)
    client.post(reverse("activities-cancel", args=[a_reg.pk]))
    a_reg.refresh_from_db()
    assert a_reg.status == RegistrationStatus.CANCELLED
    assert Registration.objects.get(member=members.a2).status == RegistrationStatus.REGISTERED
    assert_counters_exact()


def test_member_scans_the_session_code_and_confirms_the_check_in(tree, officers, members, login):
    activity = make_activity(
        tree.union_a, officers.a_staff, starts_in=datetime.timedelta(minutes=20)
    )
    session = activity.sessions.get()
    actions.register(session=session, member=members.a, acting_user=members.a.user)
    client = login(members.a)
    url = reverse("activities-checkin", args=[session.checkin_code])
    page = client.get(url).content.decode()
    assert "Confirm my check-in" in page
    assert Registration.objects.get().checked_in_at is None  # a scan alone checks nobody in
    response = client.post(url, follow=True)
    assert "You are checked in" in response.content.decode()
    reg = Registration.objects.get()
    assert reg.checked_in_at is not None and reg.checkin_method == "code"
    response = client.post(url, follow=True)
    assert "Already checked in at" in response.content.decode()
    assert counters.values(tree.union_a).get("services.activities.attendance") == 1


def test_portal_pages_need_a_login_and_an_unknown_code_is_404(tree, officers, members, client):
    assert client.get(reverse("activities-list")).status_code == 302
    client.force_login(members.a.user)
    assert client.get(reverse("activities-checkin", args=["nope"])).status_code == 404


def test_officer_without_membership_gets_a_friendly_page(tree, officers, client):
    client.force_login(officers.a_staff)
    response = client.get(reverse("activities-list"))
    assert response.status_code == 200
    assert "Activities are for union members" in response.content.decode()


# --- Admin ---------------------------------------------------------------------------------


def session_page(session):
    return reverse("admin:services_activity_session", args=[session.pk])


def test_staff_scan_a_card_url_on_the_session_page(tree, officers, members, client):
    activity = make_activity(
        tree.union_a, officers.a_staff, starts_in=datetime.timedelta(minutes=20)
    )
    session = activity.sessions.get()
    actions.register(session=session, member=members.a, acting_user=members.a.user)
    client.force_login(officers.a_staff)
    page = client.get(session_page(session)).content.decode()
    assert "<svg" in page and session.checkin_code in page
    assert members.a.name in page  # own union's staff see the full name

    url = "http://testserver" + reverse("card-verify", args=[cards.card_token(members.a)])
    response = client.post(session_page(session), {"scan": url}, follow=True)
    assert f"Checked in: {members.a.name}." in response.content.decode()
    assert Registration.objects.get().checkin_method == "card"

    response = client.post(session_page(session), {"scan": url}, follow=True)
    assert "Already checked in at" in response.content.decode()


def test_officers_above_the_members_union_see_masked_names(tree, officers, members, client):
    activity = make_activity(tree.xihu, officers.hz_admin)
    session = activity.sessions.get()
    actions.register(session=session, member=members.a, acting_user=members.a.user)
    client.force_login(officers.hz_admin)
    page = client.get(session_page(session)).content.decode()
    assert members.a.masked_name in page
    assert members.a.name not in page


def test_sibling_union_staff_get_404_for_another_unions_activity(tree, officers, members, client):
    activity = make_activity(tree.union_a, officers.a_staff)
    session = activity.sessions.get()
    actions.register(session=session, member=members.a, acting_user=members.a.user)
    client.force_login(officers.b_admin)
    assert client.get(session_page(session)).status_code == 404
    token = cards.card_token(members.a)
    assert client.post(session_page(session), {"scan": token}).status_code == 404
    change = reverse("admin:services_activity_change", args=[activity.pk])
    assert client.get(change).status_code == 404
    listing = client.get(reverse("admin:services_activity_changelist")).content.decode()
    assert activity.title not in listing
    regs = client.get(reverse("admin:services_registration_changelist")).content.decode()
    assert members.a.masked_name not in regs
    assert Registration.objects.get().checked_in_at is None


def test_admin_creates_an_activity_with_a_session_and_publishes_it(tree, officers, client):
    client.force_login(officers.a_staff)
    start = timezone.localtime() + datetime.timedelta(days=3)
    end = start + datetime.timedelta(hours=2)
    response = client.post(
        reverse("admin:services_activity_add"),
        {
            "organization": tree.union_a.pk,
            "title": "亲子活动",
            "description": "周末亲子游园",
            "delivery": "station",
            "venue": "西湖公园",
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
            "sessions-0-capacity": "30",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    activity = Activity.objects.get()
    assert activity.organization == tree.union_a and activity.created_by == officers.a_staff
    assert activity.sessions.get().capacity == 30
    client.post(
        reverse("admin:services_activity_changelist"),
        {"action": "publish_selected", "_selected_action": [activity.pk]},
    )
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PUBLISHED


def test_admin_form_refuses_a_sibling_organizer(tree, officers, client):
    client.force_login(officers.a_staff)
    response = client.post(
        reverse("admin:services_activity_add"),
        {
            "organization": tree.union_b.pk,
            "title": "x",
            "description": "y",
            "delivery": "station",
            "venue": "z",
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not Activity.objects.exists()


# --- API -----------------------------------------------------------------------------------


def test_api_creates_runs_and_checks_in(tree, officers, members):
    client = api(officers.a_staff)
    response = client.post(
        f"/api/v1/activities/?organization={tree.union_a.pk}",
        {"title": "健步走", "description": "环湖健步走", "venue": "断桥"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    start = timezone.now() + datetime.timedelta(minutes=30)
    response = client.post(
        f"/api/v1/activities/{pk}/sessions/",
        {
            "starts_at": start.isoformat(),
            "ends_at": (start + datetime.timedelta(hours=1)).isoformat(),
            "capacity": 5,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    session_id = response.json()["id"]
    assert client.post(f"/api/v1/activities/{pk}/publish/").json()["status"] == "published"
    session = Activity.objects.get(pk=pk).sessions.get()
    actions.register(session=session, member=members.a, acting_user=members.a.user)

    token = cards.card_token(members.a)
    response = client.post(
        f"/api/v1/activity-sessions/{session_id}/checkin/", {"card_token": token}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["checked_in_at"] is not None
    response = client.post(
        f"/api/v1/activity-sessions/{session_id}/checkin/", {"card_token": token}, format="json"
    )
    assert response.status_code == 400
    assert re.search(r"Already checked in at \d\d:\d\d", str(response.json()))
    regs = client.get("/api/v1/registrations/").json()["results"]
    assert [r["member_name"] for r in regs] == [members.a.name]


def test_api_sibling_staff_get_404_and_the_organizer_is_not_taken_from_the_body(
    tree, officers, members
):
    activity = make_activity(tree.union_a, officers.a_staff)
    session = activity.sessions.get()
    actions.register(session=session, member=members.a, acting_user=members.a.user)
    client = api(officers.b_admin)
    assert client.get(f"/api/v1/activities/{activity.pk}/").status_code == 404
    assert client.get("/api/v1/activities/").json()["results"] == []
    assert client.get("/api/v1/registrations/").json()["results"] == []
    response = client.post(
        f"/api/v1/activity-sessions/{session.pk}/checkin/",
        {"card_token": cards.card_token(members.a)},
        format="json",
    )
    assert response.status_code == 404
    assert client.post(f"/api/v1/activities/{activity.pk}/cancel/").status_code == 404
    response = client.post(
        f"/api/v1/activities/?organization={tree.union_a.pk}",
        {"title": "x", "description": "y", "venue": "z", "organization": tree.union_b.pk},
        format="json",
    )
    assert response.status_code == 404
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PUBLISHED
    assert Activity.objects.count() == 1


def test_api_viewer_sees_activities_but_not_registrations(tree, officers, members):
    activity = make_activity(tree.union_a, officers.a_staff)
    actions.register(session=activity.sessions.get(), member=members.a, acting_user=members.a.user)
    client = api(officers.zj_viewer)
    assert [a["id"] for a in client.get("/api/v1/activities/").json()["results"]] == [activity.pk]
    assert client.get("/api/v1/registrations/").json()["results"] == []


def test_registration_list_shows_full_names_only_to_the_members_own_union(
    tree, officers, members, client
):
    activity = make_activity(tree.xihu, officers.hz_admin)
    actions.register(session=activity.sessions.get(), member=members.a, acting_user=members.a.user)
    url = reverse("admin:services_registration_changelist")
    client.force_login(officers.a_staff)
    page = client.get(url).content.decode()
    assert members.a.name in page
    client.force_login(officers.hz_admin)
    page = client.get(url).content.decode()
    assert members.a.masked_name in page and members.a.name not in page
    change = reverse("admin:services_activity_change", args=[activity.pk])
    page = client.get(change).content.decode()
    assert "Attendees and check-in" in page
