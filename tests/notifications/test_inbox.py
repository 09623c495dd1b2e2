"""The in-app inbox: delivery, the header badge, marking read, and who may do what."""

import re

import pytest
from django.urls import reverse

from notifications.actions import notify, unread_count
from notifications.models import Notification
from tests.factories import UserFactory

INBOX = reverse("inbox")


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


def badge(html: str) -> int | None:
    """The unread count shown in the header, or None when there is no badge."""
    header = html[html.index("<header") : html.index("</header>")]
    match = re.search(r'<span class="badge"[^>]*>(\d+)</span>', header)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- #
# Delivery
# --------------------------------------------------------------------------- #


def test_notify_puts_one_entry_in_each_recipients_inbox(alice, bob):
    created = notify([alice, bob.pk, alice], "welcome")

    assert created == 2
    assert Notification.objects.filter(recipient=alice).count() == 1
    assert Notification.objects.filter(recipient=bob).count() == 1


def test_the_same_dedupe_key_twice_creates_nothing_new(alice, bob):
    assert notify([alice], "welcome", dedupe_key="welcome:2024") == 1
    assert notify([alice], "welcome", dedupe_key="welcome:2024") == 0
    # A new recipient of the same event still gets it, once.
    assert notify([alice, bob], "welcome", dedupe_key="welcome:2024") == 1

    assert Notification.objects.count() == 2


def test_without_a_dedupe_key_every_call_delivers(alice):
    notify([alice], "welcome")
    notify([alice], "welcome")

    assert unread_count(alice) == 2


# --------------------------------------------------------------------------- #
# The header badge
# --------------------------------------------------------------------------- #


def test_unread_count_appears_in_the_header_of_the_directory(client, alice):
    notify([alice], "welcome")
    notify([alice], "welcome")
    client.force_login(alice)

    html = client.get(reverse("directory")).content.decode()

    assert badge(html) == 2
    assert f'href="{INBOX}"' in html


def test_no_badge_when_everything_is_read(client, alice, bob):
    notify([bob], "welcome")  # someone else's
    client.force_login(alice)

    assert badge(client.get(reverse("directory")).content.decode()) is None


def test_anonymous_visitors_see_no_inbox_link(client, db):
    html = client.get(reverse("directory")).content.decode()

    assert f'href="{INBOX}"' not in html
    assert badge(html) is None


# --------------------------------------------------------------------------- #
# The inbox page
# --------------------------------------------------------------------------- #


def test_inbox_requires_login(client, db):
    response = client.get(INBOX)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={INBOX}"


def test_inbox_lists_only_my_notifications_newest_first(client, alice, bob):
    notify([alice], "welcome")
    notify([alice], "ad hoc", {"title": "Second"})
    notify([bob], "ad hoc", {"title": "For Bob only"})
    client.force_login(alice)

    response = client.get(INBOX)

    titles = [n.title for n in response.context["page"]]
    assert len(titles) == 2
    assert titles[0] == "Second"
    html = response.content.decode()
    assert "For Bob only" not in html
    assert badge(html) == 2


def test_unknown_kind_renders_its_context_or_its_name(client, alice):
    notify([alice], "kind.nobody.registered", {"title": "Plain title", "body": "Plain body"})
    notify([alice], "another.unknown.kind")
    client.force_login(alice)

    response = client.get(INBOX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Plain title" in html
    assert "Plain body" in html
    assert "another.unknown.kind" in html


def test_known_kind_with_missing_values_still_renders(client, alice):
    notify([alice], "role.granted", {"role": "admin"})  # no "organization"
    client.force_login(alice)

    assert client.get(INBOX).status_code == 200


def test_empty_inbox_says_so(client, alice):
    client.force_login(alice)

    html = client.get(INBOX).content.decode()

    assert 'class="empty card"' in html


def test_inbox_is_paginated(client, alice):
    for i in range(25):
        notify([alice], "ad hoc", {"title": f"Message {i}"})
    client.force_login(alice)

    first = client.get(INBOX)
    second = client.get(INBOX, {"page": 2})

    assert len(first.context["page"]) == 20
    assert len(second.context["page"]) == 5
    assert 'href="?page=2"' in first.content.decode()


# --------------------------------------------------------------------------- #
# Marking read
# --------------------------------------------------------------------------- #


def test_marking_one_read(client, alice):
    notify([alice], "welcome")
    notify([alice], "welcome")
    first, second = Notification.objects.filter(recipient=alice)
    client.force_login(alice)

    response = client.post(reverse("inbox-read", args=[first.pk]))

    assert response.status_code == 302
    assert response["Location"] == INBOX
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_read
    assert not second.is_read
    assert badge(client.get(INBOX).content.decode()) == 1


def test_marking_read_follows_the_notifications_own_link(client, alice):
    notify([alice], "welcome", link="/unions/1/")
    note = Notification.objects.get(recipient=alice)
    client.force_login(alice)

    response = client.post(reverse("inbox-read", args=[note.pk]))

    assert response["Location"] == "/unions/1/"


def test_marking_read_never_redirects_to_another_site(client, alice):
    notify([alice], "welcome", link="https://evil.example/phish")
    note = Notification.objects.get(recipient=alice)
    client.force_login(alice)

    response = client.post(reverse("inbox-read", args=[note.pk]))

    assert response["Location"] == INBOX


def test_marking_all_read(client, alice, bob):
    notify([alice, bob], "welcome")
    notify([alice], "welcome")
    client.force_login(alice)

    response = client.post(reverse("inbox-read-all"))

    assert response.status_code == 302
    assert unread_count(alice) == 0
    assert unread_count(bob) == 1  # nobody else's
    html = client.get(INBOX).content.decode()
    assert badge(html) is None
    assert reverse("inbox-read-all") not in html  # nothing left to mark


def test_a_user_cannot_mark_another_users_notification(client, alice, bob):
    notify([bob], "ad hoc", {"title": "Bob's secret"})
    note = Notification.objects.get(recipient=bob)
    client.force_login(alice)

    response = client.post(reverse("inbox-read", args=[note.pk]), follow=True)
    missing = client.post(reverse("inbox-read", args=[note.pk + 1000]))

    note.refresh_from_db()
    assert not note.is_read
    # Exactly as for a notification that does not exist: nothing tells them it is there.
    assert response.redirect_chain == [(INBOX, 302)]
    assert missing.status_code == 302
    assert missing["Location"] == INBOX
    assert "Bob&#x27;s secret" not in response.content.decode()
    assert "Bob's secret" not in response.content.decode()


@pytest.mark.parametrize("name", ["inbox-read", "inbox-read-all"])
def test_get_on_post_only_endpoints_is_405(client, alice, name):
    notify([alice], "welcome")
    note = Notification.objects.get(recipient=alice)
    client.force_login(alice)
    url = reverse(name, args=[note.pk]) if name == "inbox-read" else reverse(name)

    response = client.get(url)

    assert response.status_code == 405
    note.refresh_from_db()
    assert not note.is_read


@pytest.mark.parametrize("name", ["inbox-read", "inbox-read-all"])
def test_anonymous_post_goes_to_login_and_changes_nothing(client, alice, name):
    notify([alice], "welcome")
    note = Notification.objects.get(recipient=alice)
    url = reverse(name, args=[note.pk]) if name == "inbox-read" else reverse(name)

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert unread_count(alice) == 1


def test_marking_read_needs_the_csrf_token(alice):
    from django.test import Client

    notify([alice], "welcome")
    note = Notification.objects.get(recipient=alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(reverse("inbox-read", args=[note.pk]))

    assert response.status_code == 403
    assert unread_count(alice) == 1
    assert '<meta charset="utf-8">' in response.content.decode()
