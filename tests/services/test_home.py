"""The members' services home: one page that leads to every service of the slice."""

import pytest
from django.urls import reverse

from services.actions import requests as request_actions
from services.models import Service

pytestmark = pytest.mark.django_db


def test_member_sees_every_service_link_and_their_open_requests(tree, officers, members, login):
    service = Service.objects.create(
        organization=tree.zj,
        title="职工疗休养",
        category="inclusive",
        description="年度疗休养",
        status="published",
    )
    request_actions.order_service(service=service, member=members.a, acting_user=members.a.user)
    page = login(members.a).get(reverse("services-home"))
    assert page.status_code == 200
    html = page.content.decode()
    for name in (
        "services-menu",
        "services-my-requests",
        "services-wishes",
        "activities-list",
        "activities-mine",
        "stations-list",
        "voice-new",
        "voice-list",
        "aid-mine",
        "aid-notices",
    ):
        assert f'href="{reverse(name)}"' in html
    assert page.context["open_requests"] == 1
    assert "1 open" in html


def test_an_officer_without_membership_is_told_how_to_join(client, officers):
    client.force_login(officers.a_admin)
    page = client.get(reverse("services-home"))
    assert page.status_code == 200
    assert page.context["member"] is None
    assert "These services are for union members." in page.content.decode()


def test_header_links_to_services_for_logged_in_users_only(client, members, login):
    anonymous = client.get(reverse("directory")).content.decode()
    assert reverse("services-home") not in anonymous
    assert reverse("services-home") in login(members.a).get(reverse("directory")).content.decode()


@pytest.mark.parametrize(
    "model", ["service", "servicerequest", "activity", "concern", "station", "servicesettings"]
)
def test_an_officer_without_rights_on_a_model_finds_no_admin_list(
    client, tree, make_officer, model
):
    # An aid officer holds no permission on the other services models: not found, not 403.
    client.force_login(make_officer("a_aid", tree.union_a, role="aid"))
    assert client.get(reverse(f"admin:services_{model}_changelist")).status_code == 404
