"""Fixtures of the services tests: members with portal logins in the shared tree.

`members.a` and `members.a2` belong to union A, `members.b` to its sibling union B and
`members.c` to union C in another province. Each logs in with username = membership number
and password Pass-word-123.
"""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from members.actions import cards as card_actions
from tests.factories import make_member

PASSWORD = "Pass-word-123"


def member_with_login(org, **overrides):
    member = make_member(org, **overrides)
    member.user = get_user_model().objects.create_user(
        username=member.membership_number, password=PASSWORD
    )
    member.save(update_fields=["user"])
    return card_actions.issue_card(member=member)


@pytest.fixture
def members(tree):
    return SimpleNamespace(
        a=member_with_login(tree.union_a),
        a2=member_with_login(tree.union_a),
        b=member_with_login(tree.union_b),
        c=member_with_login(tree.union_c),
    )


@pytest.fixture
def login(client):
    """Log `client` in as a member or an officer; returns the client."""

    def do(who):
        user = getattr(who, "user", None) if hasattr(who, "membership_number") else who
        client.force_login(user)
        return client

    return do


class Clock:
    """A frozen clock for the actions (django.utils.timezone.now), moved by hand."""

    def __init__(self, monkeypatch):
        self.now = timezone.now().replace(microsecond=0)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, delta):
        self.now += delta
        return self.now


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture(autouse=True)
def in_english(client, settings):
    """Messages are asserted in English, whatever the Chinese translations say."""
    from django.utils import translation

    # The default language too, for API clients and worker threads without the cookie.
    settings.LANGUAGE_CODE = "en"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield
