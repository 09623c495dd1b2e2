"""The membership number on a service order (issue 22, item 5): it is also the member's
login name, so it is shown in full only to officers who reach the member's personal data
(the member's own union) and masked for everyone else, such as the county staff handling
a county service, who also cannot find an order by it."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from members.validators import mask_membership_number
from services.actions import menu as menu_actions
from services.actions import requests as request_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def county(tree, make_officer):
    admin = make_officer("xihu_admin", tree.xihu)
    staff = make_officer("xihu_staff", tree.xihu, "staff")
    service = menu_actions.create_service(
        organization=tree.xihu,
        data={"title": "区职工法律咨询", "category": "inclusive", "description": "每周二"},
        acting_user=admin,
    )
    service = menu_actions.publish_service(service=service, acting_user=admin)
    return staff, service


@pytest.fixture
def order(members, county):
    _staff, service = county
    member = members.a
    return request_actions.order_service(service=service, member=member, acting_user=member.user)


def api_rows(user) -> list[dict]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/v1/service-requests/")
    assert response.status_code == 200
    return response.json()["results"]


def test_mask_keeps_the_year_and_the_last_four():
    assert mask_membership_number("2024123456789012") == "2024********9012"
    assert mask_membership_number("D1234567") == "****"


def test_county_staff_see_the_number_masked_and_the_members_union_in_full(
    members, officers, county, order
):
    county_staff, _service = county
    number = members.a.membership_number

    [seen_by_county] = api_rows(county_staff)
    assert seen_by_county["id"] == order.pk
    assert seen_by_county["membership_number"] == mask_membership_number(number) != number
    assert seen_by_county["member_name"] == members.a.masked_name

    [seen_by_union] = api_rows(officers.a_staff)
    assert seen_by_union["membership_number"] == number


def test_county_staff_see_the_number_masked_in_the_admin_and_cannot_search_by_it(
    client, members, officers, county, order
):
    county_staff, _service = county
    number = members.a.membership_number
    changelist = reverse("admin:services_servicerequest_changelist")
    change = reverse("admin:services_servicerequest_change", args=[order.pk])

    client.force_login(county_staff)
    for page in (client.get(changelist).text, client.get(change).text):
        assert mask_membership_number(number) in page
        assert number not in page
    found = client.get(changelist, {"q": number})
    assert found.status_code == 200 and found.context["cl"].result_count == 0
    by_title = client.get(changelist, {"q": "法律咨询"})
    assert by_title.context["cl"].result_count == 1

    client.force_login(officers.a_staff)
    for page in (client.get(changelist).text, client.get(change).text):
        assert number in page
    assert client.get(changelist, {"q": number}).context["cl"].result_count == 1


def test_the_audit_log_masks_a_members_login_above_their_union(
    client, tree, members, officers, make_officer
):
    from core.models import AuditEntry
    from organizations import actions as org_actions
    from services.actions import voice

    xihu_admin = make_officer("xihu_admin_audit", tree.xihu)
    voice.raise_concern(
        member=members.a, data={"category": "wages", "title": "工资", "text": "未发。"}
    )
    entry = AuditEntry.objects.get(action="concern.raised")
    assert entry.actor == members.a.user
    number = members.a.membership_number  # the member's login name
    changelist = reverse("admin:core_auditentry_changelist")
    change = reverse("admin:core_auditentry_change", args=[entry.pk])

    client.force_login(xihu_admin)
    for page in (client.get(changelist).text, client.get(change).text):
        assert mask_membership_number(number) in page and number not in page
    # Officers are named as they are: the county sees who in union A acted.
    org_actions.update_organization(
        organization=tree.union_a, data={"address": "文三路1号"}, acting_user=officers.a_admin
    )
    assert officers.a_admin.username in client.get(changelist).text

    client.force_login(officers.a_admin)
    for page in (client.get(changelist).text, client.get(change).text):
        assert number in page
