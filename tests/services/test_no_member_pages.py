"""One "not a member" page for every member page of the portal: a logged-in user without a
membership (an officer) or with an ended one learns what the page is for and where to go."""

import pytest
from django.urls import reverse

from members.actions import records as member_actions

pytestmark = pytest.mark.django_db

TEMPLATE = "portal/no_member.html"
NOT_A_MEMBER_YET = "You are not a union member yet"

# Page -> (title, heading) for a user who has never been a member.
WITHOUT_MEMBERSHIP = {
    "my-membership": ("My membership", NOT_A_MEMBER_YET),
    "my-dues": ("My dues", NOT_A_MEMBER_YET),
    "transfer-list": ("Membership transfer", NOT_A_MEMBER_YET),
    "services-menu": ("Union services", NOT_A_MEMBER_YET),
    "services-wishes": ("Union services", NOT_A_MEMBER_YET),
    "services-my-requests": ("Union services", NOT_A_MEMBER_YET),
    "voice-list": ("Worker voice", NOT_A_MEMBER_YET),
    "voice-new": ("Worker voice", NOT_A_MEMBER_YET),
    "aid-mine": ("Hardship aid", "Hardship aid is for union members"),
    "activities-list": ("Activities", "Activities are for union members"),
    "activities-mine": ("Activities", "Activities are for union members"),
}


def _title(response) -> str:
    text = response.content.decode()
    return text[text.index("<title>") + len("<title>") : text.index("</title>")]


@pytest.mark.parametrize(("name", "expected"), WITHOUT_MEMBERSHIP.items())
def test_a_user_without_membership_gets_the_one_page_with_the_way_to_join(
    tree, officers, login, name, expected
):
    title, heading = expected
    response = login(officers.a_staff).get(reverse(name))

    assert response.status_code == 200
    assert response.templates[0].name == TEMPLATE
    assert title in _title(response)
    assert f"<h1>{heading}</h1>" in response.content.decode()
    assert f'href="{reverse("directory")}"' in response.content.decode()


@pytest.mark.parametrize(
    ("path", "heading", "link"),
    [
        (reverse("voice-new"), "Your membership has ended", "voice-list"),
        (reverse("services-menu"), "Your membership is not current", "directory"),
        (reverse("activities-list"), "Activities are for union members", None),
    ],
)
def test_a_member_whose_membership_ended_is_told_so(members, login, path, heading, link):
    member_actions.change_status(member=members.a, status="withdrawn", reason="离职")

    response = login(members.a).get(path)

    body = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == TEMPLATE
    assert f"<h1>{heading}</h1>" in body
    if link is None:
        assert 'class="button"' not in body
    else:
        assert f'class="button" href="{reverse(link)}"' in body


def test_the_page_speaks_the_users_language(tree, officers, client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    client.force_login(officers.a_admin)

    body = client.get(reverse("my-membership")).content.decode()

    assert "您还不是工会会员" in body
    assert "找工会" in body
