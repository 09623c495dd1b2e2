"""The member's own page with the card QR, and public verification of a scanned card."""

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.urls import reverse

from members import cards
from members.actions import records as actions
from tests.factories import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_with_login(tree):
    member = make_member(tree.union_a)
    user = get_user_model().objects.create_user(
        username=member.membership_number, password="Pass-word-123"
    )
    member.user = user
    member.save(update_fields=["user"])
    return member


def test_member_logs_in_with_mobile_phone_and_sees_the_card(client, member_with_login):
    member = member_with_login
    assert client.login(request=HttpRequest(), username=member.phone, password="Pass-word-123")
    page = client.get(reverse("my-membership"))
    assert page.status_code == 200
    html = page.content.decode()
    assert member.membership_number in html and "<svg" in html
    # The QR code carries the verification link, nothing personal.
    token = cards.card_token(member)
    assert reverse("card-verify", args=[token]) in page.context["card_url"]
    assert member.id_number not in html


def test_wrong_password_with_a_phone_does_not_log_in(client, member_with_login):
    assert not client.login(
        request=HttpRequest(), username=member_with_login.phone, password="wrong-Pass-1"
    )


def test_anyone_can_verify_a_card_and_sees_only_the_masked_name(client, member_with_login):
    member = member_with_login
    response = client.get(reverse("card-verify", args=[cards.card_token(member)]))
    assert response.status_code == 200 and response.context["valid"] is True
    html = response.content.decode()
    assert member.masked_name in html and member.organization.name in html
    assert member.name not in html or len(member.name) == 1
    assert member.membership_number not in html


def test_card_of_an_ended_membership_or_a_forged_token_does_not_verify(client, member_with_login):
    member = member_with_login
    token = cards.card_token(member)
    actions.change_status(member=member, status="withdrawn", reason="离职")
    response = client.get(reverse("card-verify", args=[token]))
    assert response.context["valid"] is False
    assert client.get(reverse("card-verify", args=["8123:forged"])).status_code == 404


def test_user_without_membership_gets_a_friendly_page(client, officers):
    client.force_login(officers.a_admin)
    response = client.get(reverse("my-membership"))
    assert response.status_code == 200
    assert response.templates[0].name == "portal/no_member.html"
