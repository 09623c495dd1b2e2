"""Hardship aid surfaces: the admin step forms, the figures with suppressed small counts
(selector, admin page, API), the portal application and the schedule."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from organizations.models import Role
from organizations.scope import ROLE_PERMISSIONS
from services.actions import aid
from services.models import AidCase, AidStatus
from services.selectors.aid import aid_counts
from tests.factories import make_member

pytestmark = pytest.mark.django_db

DATA = {
    "tier": "relative",
    "reason": "unemployment",
    "household_size": 4,
    "household_monthly_income": Decimal("1800.00"),
    "situation": "本人下岗，家中老人需要照顾。",
    "amount_requested": Decimal("2000.00"),
}


@pytest.fixture
def a_aid(tree, make_officer):
    return make_officer("a_aid", tree.union_a, "aid")


@pytest.fixture
def county_aid(tree, make_officer):
    return make_officer("xihu_aid", tree.xihu, "aid")


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def open_cases(org, officer, n):
    return [
        aid.open_aid_case(member=make_member(org), data=DATA, acting_user=officer) for _ in range(n)
    ]


# --- Admin: the steps as forms ---------------------------------------------------------------


def test_aid_officer_works_a_case_through_the_admin_step_forms(
    tree, members, a_aid, county_aid, client
):
    client.force_login(a_aid)
    response = client.post(
        reverse("admin:services_aidcase_add"),
        {**DATA, "membership_number": members.a.membership_number},
    )
    assert response.status_code == 302
    case = AidCase.objects.get(member=members.a)
    assert not case.applied_by_member and case.created_by == a_aid

    def step(user, name, data=None):
        client.force_login(user)
        url = reverse("admin:services_aidcase_step", args=[case.pk, name])
        return client.post(url, data or {})

    page = client.get(reverse("admin:services_aidcase_change", args=[case.pk])).content.decode()
    assert 'id="aid-step-review"' in page and 'id="aid-step-approve"' not in page
    assert step(a_aid, "review", {"decision": "accept"}).status_code == 302
    today = timezone.localdate().isoformat()
    assert (
        step(
            a_aid, "visit", {"visited_on": today, "visitors": "王五", "text": "家中确有困难。"}
        ).status_code
        == 302
    )
    # The grassroots officer cannot approve: the form says so and nothing changes.
    response = step(a_aid, "approve", {"decision": "approve", "amount": "1500", "tier": "deep"})
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == AidStatus.VISITED
    approve = {"decision": "approve", "amount": "1500", "tier": "deep"}
    assert step(county_aid, "approve", approve).status_code == 302
    assert step(a_aid, "notice").status_code == 302
    case.refresh_from_db()
    assert case.status == AidStatus.NOTICE and case.amount_approved == Decimal("1500.00")

    AidCase.objects.filter(pk=case.pk).update(
        notice_ends_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert step(a_aid, "disburse", {"method": "cash", "reference": "R-9"}).status_code == 302
    assert (
        step(a_aid, "yearly_review", {"decision": "close", "text": "已就业。"}).status_code == 302
    )
    case.refresh_from_db()
    assert case.status == AidStatus.CLOSED
    page = client.get(reverse("admin:services_aidcase_change", args=[case.pk])).content.decode()
    assert "家中确有困难。" in page  # the visit record is in the history


def test_step_in_the_wrong_order_shows_the_error_on_the_form(tree, members, a_aid, client):
    case = aid.apply_for_aid(member=members.a, data=DATA)
    client.force_login(a_aid)
    response = client.post(
        reverse("admin:services_aidcase_step", args=[case.pk, "notice"]),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    case.refresh_from_db()
    assert case.status == AidStatus.APPLIED


def test_step_urls_of_a_case_outside_the_aid_area_are_not_found(
    tree, members, a_aid, make_officer, officers, client
):
    case = aid.apply_for_aid(member=members.a, data=DATA)
    for user in (make_officer("b_aid", tree.union_b, "aid"), officers.a_admin):
        client.force_login(user)
        url = reverse("admin:services_aidcase_step", args=[case.pk, "review"])
        assert client.post(url, {"decision": "accept"}).status_code == 404
    case.refresh_from_db()
    assert case.status == AidStatus.APPLIED


def test_aid_permissions_belong_to_the_aid_role_only():
    for role in (Role.ADMIN, Role.STAFF, Role.VIEWER):
        assert not {p for p in ROLE_PERMISSIONS[role] if "aid" in p.split(".")[1]}, role
    assert "services.view_aidcase" in ROLE_PERMISSIONS[Role.AID]


# --- Figures ---------------------------------------------------------------------------------


def test_counts_under_five_are_suppressed_for_a_viewer_but_not_for_aid_officers(
    tree, officers, a_aid, county_aid
):
    open_cases(tree.union_a, a_aid, 3)
    viewer = aid_counts(officers.zj_viewer, tree.zj)
    assert viewer["cases"] is None and not viewer["full"]
    assert {k: v for k, _, v in viewer["by_status"]}["applied"] is None
    assert {k: v for k, _, v in viewer["by_status"]}["approved"] == 0  # zero is safe
    assert viewer["disbursed_yuan"] == 0
    officer = aid_counts(county_aid, tree.xihu)
    assert officer["cases"] == 3 and officer["full"]
    assert {k: v for k, _, v in officer["by_tier"]}["relative"] == 3

    open_cases(tree.union_a, a_aid, 2)
    viewer = aid_counts(officers.zj_viewer, tree.zj)
    assert viewer["cases"] == 5
    assert {k: v for k, _, v in viewer["by_status"]}["applied"] == 5
    # The national federation's figure sums the provinces' trees below it.
    assert aid_counts(officers.national_admin, tree.national)["cases"] == 5


def test_figures_api_suppresses_small_counts_and_hides_other_subtrees(
    tree, officers, a_aid, county_aid
):
    open_cases(tree.union_a, a_aid, 2)
    body = api(officers.zj_viewer).get(f"/api/v1/aid-cases/figures/?organization={tree.zj.pk}")
    assert body.status_code == 200
    assert body.json()["cases"] is None and body.json()["full"] is False
    full = api(county_aid).get(f"/api/v1/aid-cases/figures/?organization={tree.xihu.pk}").json()
    assert full["cases"] == 2
    assert {r["key"]: r["value"] for r in full["by_status"]}["applied"] == 2
    outside = api(officers.gd_admin).get(
        f"/api/v1/aid-cases/figures/?organization={tree.union_a.pk}"
    )
    assert outside.status_code == 404
    assert api(officers.zj_viewer).get("/api/v1/aid-cases/figures/").status_code == 400


def test_figures_admin_page_is_open_to_viewers_with_small_counts_hidden(
    tree, officers, a_aid, client
):
    open_cases(tree.union_a, a_aid, 1)
    client.force_login(officers.zj_viewer)
    url = reverse("admin:services_aidcase_figures")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert page.context["figures"]["organization"] == tree.zj
    assert page.context["figures"]["cases"] is None
    assert client.get(f"{url}?organization={tree.gd.pk}").status_code == 404


# --- Portal and schedule ---------------------------------------------------------------------


def test_portal_application_with_bad_input_shows_errors_and_writes_nothing(tree, members, login):
    client = login(members.a)
    page = client.get(reverse("aid-mine"))
    assert page.status_code == 200 and 'name="situation"' in page.content.decode()
    response = client.post(reverse("aid-mine"), {**DATA, "household_size": "0"})
    assert response.status_code == 200
    assert response.context["form"].errors["household_size"]
    assert not AidCase.objects.exists()


def test_officer_without_membership_sees_the_notice_of_their_union(
    tree, members, officers, a_aid, county_aid, login
):
    case = aid.apply_for_aid(member=members.a, data=DATA)
    aid.review_case(case=case, accept=True, acting_user=a_aid)
    aid.record_home_visit(
        case=case, text="属实", visited_on=timezone.localdate(), visitors="王五", acting_user=a_aid
    )
    aid.approve_case(case=case, amount="1200", tier="relative", acting_user=county_aid)
    aid.start_notice(case=case, acting_user=a_aid)
    html = login(officers.a_staff).get(reverse("aid-notices")).content.decode()
    assert members.a.masked_name in html and "1200.00" in html
    html = login(officers.hz_admin).get(reverse("aid-notices")).content.decode()
    assert members.a.masked_name not in html


def test_daily_notice_check_is_scheduled(db):
    from django_celery_beat.models import PeriodicTask

    from services.schedules import ensure_schedules

    ensure_schedules()
    task = PeriodicTask.objects.get(name="daily hardship aid notice check")
    assert task.task == "services.tasks.aid.remind_notices_ended_task"
