"""The service menu through the portal, the admin and the API: scope, steps and 404s."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from organizations import counters
from services.actions import menu as actions
from services.actions import requests as request_actions
from services.actions import wishes as wish_actions
from services.models import (
    ConfidentialNote,
    PublishStatus,
    RequestStatus,
    Service,
    ServiceRequest,
    ServiceWish,
    WishStatus,
)

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def offer(org, by, title="体检", **data):
    data = {"title": title, "category": "inclusive", "description": "年度体检", **data}
    service = actions.create_service(organization=org, data=data, acting_user=by)
    return actions.publish_service(service=service, acting_user=by)


def order(service, member):
    return request_actions.order_service(service=service, member=member, acting_user=member.user)


# --- Portal ----------------------------------------------------------------------------------


def test_member_orders_a_provincial_service_from_the_portal_menu(tree, officers, members, login):
    service = offer(tree.zj, officers.zj_admin, "浙江疗休养", capacity=2)
    offer(tree.union_b, officers.b_admin, "乙公司专享")
    client = login(members.a)

    page = client.get(reverse("services-menu"))
    assert page.status_code == 200
    assert "浙江疗休养" in page.text and "乙公司专享" not in page.text
    assert tree.zj.name in page.text

    response = client.post(reverse("services-menu-detail", args=[service.pk]), {"note": "周末"})
    assert response.status_code == 302 and response.url == reverse("services-my-requests")
    req = ServiceRequest.objects.get()
    assert req.member == members.a and req.note == "周末"
    mine = client.get(reverse("services-my-requests"))
    assert "浙江疗休养" in mine.text and "Cancel my order" in mine.text

    # Ordering again gives a clear error, not a second order.
    again = client.post(reverse("services-menu-detail", args=[service.pk]), {"note": ""})
    assert again.status_code == 200
    assert ServiceRequest.objects.count() == 1


def test_portal_cancel_and_rate_only_own_requests(tree, officers, members, login):
    service = offer(tree.union_a, officers.a_admin)
    req = order(service, members.a)
    other = login(members.a2)
    assert other.post(reverse("services-request-cancel", args=[req.pk])).status_code == 404
    assert (
        other.post(reverse("services-request-rate", args=[req.pk]), {"rating": 5}).status_code
        == 404
    )
    assert ServiceRequest.objects.get().status == RequestStatus.SUBMITTED

    request_actions.accept_request(request=req, acting_user=officers.a_staff)
    request_actions.complete_request(request=req, result="已完成", acting_user=officers.a_staff)
    client = login(members.a)
    client.post(reverse("services-request-rate", args=[req.pk]), {"rating": 5, "comment": "好"})
    req.refresh_from_db()
    assert req.rating == 5 and req.rating_comment == "好"
    assert counters.verify(["services.menu."]).ok


def test_portal_member_cancels_own_order(tree, officers, members, login):
    req = order(offer(tree.union_a, officers.a_admin, capacity=1), members.a)
    login(members.a).post(reverse("services-request-cancel", args=[req.pk]), {"reason": "改期"})
    req.refresh_from_db()
    assert req.status == RequestStatus.CANCELLED
    assert Service.objects.get().taken == 0


def test_portal_sibling_service_and_draft_are_not_found(tree, officers, members, login):
    sibling = offer(tree.union_b, officers.b_admin)
    draft = actions.create_service(
        organization=tree.union_a,
        data={"title": "草稿", "category": "other", "description": "x"},
        acting_user=officers.a_admin,
    )
    client = login(members.a)
    for service in (sibling, draft):
        assert client.get(reverse("services-menu-detail", args=[service.pk])).status_code == 404
        assert client.post(reverse("services-menu-detail", args=[service.pk])).status_code == 404
    assert ServiceRequest.objects.count() == 0


def test_portal_wishes_propose_vote_unvote_and_sibling_404(tree, officers, members, login):
    client = login(members.a2)
    response = client.post(
        reverse("services-wishes"),
        {"organization": tree.xihu.pk, "title": "篮球场", "category": "other"},
    )
    assert response.status_code == 302
    wish = ServiceWish.objects.get()
    assert wish.organization == tree.xihu and wish.votes == 1

    # A union outside the member's chain is not a choice.
    client.post(
        reverse("services-wishes"),
        {"organization": tree.union_b.pk, "title": "x", "category": "other"},
    )
    assert ServiceWish.objects.count() == 1

    voter = login(members.b)
    voter.post(reverse("services-wish-vote", args=[wish.pk]))
    voter.post(reverse("services-wish-vote", args=[wish.pk]))  # twice: refused
    assert ServiceWish.objects.get().votes == 2
    page = voter.get(reverse("services-wishes"))
    assert "篮球场" in page.text and "Take back my vote" in page.text
    voter.post(reverse("services-wish-unvote", args=[wish.pk]))
    assert ServiceWish.objects.get().votes == 1

    own = wish_actions.propose_wish(
        member=members.a, organization=tree.union_a, title="食堂", acting_user=members.a.user
    )
    assert voter.post(reverse("services-wish-vote", args=[own.pk])).status_code == 404
    assert "食堂" not in voter.get(reverse("services-wishes")).text
    assert ServiceWish.objects.get(pk=own.pk).votes == 1


def test_portal_without_membership_shows_a_friendly_page(tree, officers, login):
    client = login(officers.a_admin)
    for name in ("services-menu", "services-wishes", "services-my-requests"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "portal/no_member.html" in [t.name for t in response.templates]


# --- Admin -----------------------------------------------------------------------------------


def test_admin_creates_a_service_through_the_action_with_scoped_audience(
    tree, officers, members, login
):
    client = login(officers.hz_admin)
    url = reverse("admin:services_service_add")
    form = {
        "organization": tree.hz.pk,
        "title": "杭州培训",
        "category": "training",
        "description": "技能培训",
        "capacity": "20",
        "delivery": "online",
        "handling": "offering",
        "due_days": "7",
        "audience_unions": [tree.union_a.pk],
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    service = Service.objects.get()
    assert service.status == PublishStatus.DRAFT and service.created_by == officers.hz_admin
    assert list(service.audience_unions.all()) == [tree.union_a]

    # A union outside the offering union's subtree is refused on the form.
    bad = client.post(url, {**form, "title": "x", "audience_unions": [tree.union_c.pk]})
    assert bad.status_code == 200
    assert Service.objects.count() == 1

    changelist = reverse("admin:services_service_changelist")
    client.post(changelist, {"action": "publish_selected", "_selected_action": [service.pk]})
    assert Service.objects.get().status == PublishStatus.PUBLISHED


@pytest.mark.parametrize("who", ["b_admin", "c_admin", "gd_admin"])
def test_admin_sibling_gets_404_for_services_requests_and_wishes(
    tree, officers, members, login, who
):
    service = offer(tree.union_a, officers.a_admin)
    req = order(service, members.a)
    wish = wish_actions.propose_wish(
        member=members.a, organization=tree.union_a, title="食堂", acting_user=members.a.user
    )
    client = login(getattr(officers, who))
    for url in (
        reverse("admin:services_service_change", args=[service.pk]),
        reverse("admin:services_servicerequest_change", args=[req.pk]),
        reverse("admin:services_servicewish_change", args=[wish.pk]),
        reverse("admin:services_servicewish_decline", args=[wish.pk]),
        reverse("admin:services_servicewish_answer", args=[wish.pk]),
    ):
        assert client.get(url).status_code == 404, url
    step = reverse("admin:services_servicerequest_step", args=[req.pk, "accept"])
    assert client.post(step).status_code == 404
    decline = reverse("admin:services_servicewish_decline", args=[wish.pk])
    assert client.post(decline, {"answer": "no"}).status_code == 404
    for name in ("service", "servicerequest", "servicewish"):
        page = client.get(reverse(f"admin:services_{name}_changelist"))
        assert page.status_code == 200
        assert page.context["cl"].result_count == 0
    assert ServiceRequest.objects.get().status == RequestStatus.SUBMITTED
    assert ServiceWish.objects.get().status == WishStatus.OPEN


def test_admin_request_steps_by_the_handling_union_only(tree, officers, members, login):
    req = order(offer(tree.zj, officers.zj_admin, "浙江体检"), members.a)
    own_union = login(officers.a_admin)
    page = own_union.get(reverse("admin:services_servicerequest_change", args=[req.pk]))
    assert page.status_code == 200 and "浙江体检" in page.text
    assert page.context["request_steps"] == set()
    own_union.post(reverse("admin:services_servicerequest_step", args=[req.pk, "accept"]))
    assert ServiceRequest.objects.get().status == RequestStatus.SUBMITTED

    handling = login(officers.zj_admin)
    page = handling.get(reverse("admin:services_servicerequest_change", args=[req.pk]))
    assert {"accept", "reject"} <= page.context["request_steps"]
    handling.post(reverse("admin:services_servicerequest_step", args=[req.pk, "accept"]))
    handling.post(
        reverse("admin:services_servicerequest_step", args=[req.pk, "complete"]), {"result": ""}
    )
    assert ServiceRequest.objects.get().status == RequestStatus.ACCEPTED  # result required
    handling.post(
        reverse("admin:services_servicerequest_step", args=[req.pk, "complete"]),
        {"result": "已体检"},
    )
    assert ServiceRequest.objects.get().status == RequestStatus.COMPLETED


def test_admin_confidential_notes_show_only_to_the_handling_staff(
    tree, officers, members, login, make_officer
):
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")
    service = offer(tree.xihu, make_officer("xihu_admin", tree.xihu), "法律援助", category="legal")
    req = order(service, members.a)
    client = login(xihu_staff)
    step = reverse("admin:services_servicerequest_step", args=[req.pk, "note"])
    client.post(step, {"text": "仲裁材料已收"})
    assert ConfidentialNote.objects.count() == 1
    url = reverse("admin:services_servicerequest_change", args=[req.pk])
    assert "仲裁材料已收" in client.get(url).text

    for outsider in (officers.hz_admin, officers.a_admin, officers.zj_admin):
        page = login(outsider).get(url)
        assert page.status_code == 200  # they see the request exists…
        assert "仲裁材料已收" not in page.text  # …never its notes
        login(outsider).post(step, {"text": "偷看"})
    assert ConfidentialNote.objects.count() == 1


def test_admin_wishes_ranked_by_votes_and_answered_with_a_service(tree, officers, members, login):
    low = wish_actions.propose_wish(
        member=members.a, organization=tree.xihu, title="少", acting_user=members.a.user
    )
    high = wish_actions.propose_wish(
        member=members.b, organization=tree.xihu, title="多", acting_user=members.b.user
    )
    wish_actions.vote_wish(wish=high, member=members.a2, acting_user=members.a2.user)
    client = login(officers.hz_admin)
    page = client.get(reverse("admin:services_servicewish_changelist"))
    assert [w.pk for w in page.context["cl"].result_list] == [high.pk, low.pk]

    response = client.post(
        reverse("admin:services_servicewish_answer", args=[high.pk]),
        {
            "organization": tree.xihu.pk,
            "title": "多的服务",
            "category": "other",
            "description": "回应心愿",
            "delivery": "online",
            "handling": "offering",
            "due_days": "7",
            "publish": "on",
        },
    )
    assert response.status_code == 302
    service = Service.objects.get()
    assert service.from_wish == high and service.status == PublishStatus.PUBLISHED
    assert ServiceWish.objects.get(pk=high.pk).status == WishStatus.ANSWERED

    client.post(reverse("admin:services_servicewish_decline", args=[low.pk]), {"answer": "预算"})
    assert ServiceWish.objects.get(pk=low.pk).status == WishStatus.DECLINED
    assert counters.verify(["services.menu."]).ok


# --- API -------------------------------------------------------------------------------------


def test_api_services_create_in_the_union_named_by_the_url_and_publish(tree, officers):
    client = api(officers.a_admin)
    body = {"title": "体检", "category": "inclusive", "description": "x", "capacity": 3}
    response = client.post(f"/api/v1/services/?organization={tree.union_a.pk}", body, format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert client.post(f"/api/v1/services/{pk}/publish/").json()["status"] == "published"
    assert (
        client.post(
            f"/api/v1/services/?organization={tree.union_b.pk}", body, format="json"
        ).status_code
        == 404
    )
    bad = client.post(
        f"/api/v1/services/?organization={tree.union_a.pk}",
        {**body, "capacity": None, "starts_on": "2026-05-02", "ends_on": "2026-05-01"},
        format="json",
    )
    assert bad.status_code == 400 and "ends_on" in bad.json()
    assert Service.objects.count() == 1
    sibling = api(officers.b_admin)
    assert sibling.get(f"/api/v1/services/{pk}/").status_code == 404
    assert sibling.post(f"/api/v1/services/{pk}/close/").status_code == 404
    assert sibling.get("/api/v1/services/").json()["results"] == []


def test_api_request_steps_and_confidential_notes(tree, officers, members, make_officer):
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")
    service = offer(
        tree.xihu, make_officer("xihu_admin", tree.xihu), "心理咨询", category="counselling"
    )
    req = order(service, members.a)
    base = f"/api/v1/service-requests/{req.pk}"

    assert api(officers.b_admin).get(f"{base}/").status_code == 404
    assert api(officers.b_admin).post(f"{base}/accept/").status_code == 404
    assert api(officers.a_admin).get(f"{base}/").json()["member_name"] == members.a.masked_name
    assert api(officers.a_admin).post(f"{base}/accept/").status_code == 403

    staff = api(xihu_staff)
    assert staff.post(f"{base}/accept/").json()["status"] == "accepted"
    assert staff.post(f"{base}/notes/", {"text": "第一次面谈"}, format="json").status_code == 201
    assert [n["text"] for n in staff.get(f"{base}/notes/").json()] == ["第一次面谈"]
    assert api(officers.hz_admin).get(f"{base}/notes/").status_code == 404
    assert api(officers.a_admin).get(f"{base}/notes/").status_code == 404
    assert staff.post(f"{base}/reject/", {}, format="json").status_code == 400
    assert (
        staff.post(f"{base}/reject/", {"reason": "转介"}, format="json").json()["status"]
        == "rejected"
    )
    assert counters.verify(["services.menu."]).ok


def test_api_wishes_ranked_and_declined(tree, officers, members):
    quiet = wish_actions.propose_wish(
        member=members.a, organization=tree.union_a, title="少", acting_user=members.a.user
    )
    loud = wish_actions.propose_wish(
        member=members.a2, organization=tree.union_a, title="多", acting_user=members.a2.user
    )
    wish_actions.vote_wish(wish=loud, member=members.a, acting_user=members.a.user)
    rows = api(officers.zj_admin).get("/api/v1/service-wishes/").json()["results"]
    assert [r["id"] for r in rows] == [loud.pk, quiet.pk]
    assert api(officers.b_admin).get("/api/v1/service-wishes/").json()["results"] == []
    assert (
        api(officers.b_admin)
        .post(f"/api/v1/service-wishes/{quiet.pk}/decline/", {"answer": "x"})
        .status_code
        == 404
    )
    response = api(officers.a_staff).post(
        f"/api/v1/service-wishes/{quiet.pk}/decline/", {"answer": "暂不考虑"}, format="json"
    )
    assert response.json()["status"] == "declined"
    answered = api(officers.a_admin).post(
        f"/api/v1/service-wishes/{loud.pk}/answer/",
        {"title": "多", "category": "other", "description": "好", "publish": True},
        format="json",
    )
    assert answered.status_code == 201, answered.json()
    assert answered.json()["from_wish"] == loud.pk and answered.json()["status"] == "published"


def test_every_menu_page_renders_for_those_allowed(tree, officers, members, login):
    service = offer(tree.union_a, officers.a_admin, capacity=4)
    req = order(service, members.a)
    wish = wish_actions.propose_wish(
        member=members.a, organization=tree.union_a, title="食堂", acting_user=members.a.user
    )
    admin = login(officers.a_admin)
    for url in (
        reverse("admin:services_service_changelist"),
        reverse("admin:services_service_add"),
        reverse("admin:services_service_change", args=[service.pk]),
        reverse("admin:services_servicerequest_changelist"),
        reverse("admin:services_servicerequest_change", args=[req.pk]),
        reverse("admin:services_servicewish_changelist"),
        reverse("admin:services_servicewish_change", args=[wish.pk]),
        reverse("admin:services_servicewish_decline", args=[wish.pk]),
        reverse("admin:services_servicewish_answer", args=[wish.pk]),
    ):
        assert admin.get(url).status_code == 200, url
    page = admin.get(reverse("admin:services_servicerequest_change", args=[req.pk]))
    assert members.a.masked_name in page.text
    member = login(members.a)
    for url in (
        reverse("services-menu"),
        reverse("services-menu-detail", args=[service.pk]),
        reverse("services-my-requests"),
        reverse("services-wishes"),
    ):
        assert member.get(url).status_code == 200, url
