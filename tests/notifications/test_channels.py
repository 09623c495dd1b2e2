"""Email and SMS beside the inbox: preferences, quiet hours, language, dedupe, retries."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.urls import reverse
from django.utils import timezone

from notifications import actions, channels, kinds
from notifications.backends import DELIVERY_HEADER, SmsError
from notifications.models import Delivery, Notification, Preference
from tests.factories import UserFactory, make_member

BEIJING = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture(autouse=True)
def kinds_for_tests():
    kinds.register("test.news", "News for %(who)s", "Body for %(who)s")
    kinds.register("test.urgent", "Urgent: %(what)s", sms=True)
    yield
    kinds.KINDS.pop("test.news")
    kinds.KINDS.pop("test.urgent")


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.cn")


@pytest.fixture
def member_user(tree):
    """A member with a mobile number and a login (and an email address)."""
    member = make_member(tree.union_a, phone="13912345678")
    member.user = UserFactory(username="worker", email="worker@example.cn")
    member.save(update_fields=["user"])
    return member.user


@pytest.fixture
def at(monkeypatch):
    """Freeze timezone.now at a Beijing wall-clock time: at(23, 30)."""

    def freeze(hour, minute=0, day=datetime.date(2026, 12, 2)):
        moment = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=BEIJING)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return freeze


def send(django_capture_on_commit_callbacks, *args, **kwargs):
    """notify() and run what it queues on commit (the send tasks, eagerly)."""
    with django_capture_on_commit_callbacks(execute=True):
        return actions.notify(*args, **kwargs)


# --- Channels and preferences --------------------------------------------------------------


def test_an_email_follows_the_inbox_entry(alice, django_capture_on_commit_callbacks, sms_outbox):
    send(django_capture_on_commit_callbacks, [alice], "test.news", {"who": "Alice"}, "/inbox/")

    note = Notification.objects.get(recipient=alice)
    delivery = Delivery.objects.get(notification=note)
    assert (delivery.channel, delivery.status, delivery.attempts) == ("email", "sent", 1)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["alice@example.cn"]
    assert email.extra_headers[DELIVERY_HEADER] == str(delivery.pk)
    assert "News for Alice" in email.subject
    assert "http://127.0.0.1:8000/inbox/" in email.body
    assert sms_outbox == []  # test.news does not text by default, and alice has no phone


def test_a_user_without_an_address_gets_the_inbox_entry_only(
    db, django_capture_on_commit_callbacks
):
    bob = UserFactory(username="bob")  # no email, not a member
    send(django_capture_on_commit_callbacks, [bob], "test.urgent", {"what": "x"})

    assert Notification.objects.filter(recipient=bob).count() == 1
    assert not Delivery.objects.exists()
    assert mail.outbox == []


def test_urgent_kinds_text_the_members_phone(
    member_user, django_capture_on_commit_callbacks, sms_outbox, at
):
    at(10)
    send(django_capture_on_commit_callbacks, [member_user], "test.urgent", {"what": "会议改期"})

    assert [m.to for m in sms_outbox] == ["13912345678"]
    assert "会议改期" in sms_outbox[0].body
    assert Delivery.objects.filter(channel="sms", status="sent").count() == 1
    assert len(mail.outbox) == 1


def test_preferences_turn_channels_off_and_on(
    member_user, django_capture_on_commit_callbacks, sms_outbox, at
):
    at(10)
    actions.set_preferences(
        user=member_user,
        choices={
            ("test.urgent", "sms"): False,
            ("test.news", "sms"): True,
            ("test.news", "email"): False,
        },
    )
    send(django_capture_on_commit_callbacks, [member_user], "test.urgent", {"what": "a"})
    send(django_capture_on_commit_callbacks, [member_user], "test.news", {"who": "b"})

    # urgent: email only; news: SMS only. Both in the inbox.
    assert Notification.objects.filter(recipient=member_user).count() == 2
    assert [e.subject for e in mail.outbox] == ["Urgent: a"]
    assert len(sms_outbox) == 1 and "News for b" in sms_outbox[0].body


def test_a_choice_equal_to_the_default_stores_nothing(alice):
    stored = actions.set_preferences(
        user=alice, choices={("test.news", "email"): True, ("test.news", "sms"): False}
    )
    assert stored == 0 and not Preference.objects.exists()


def test_an_unknown_kind_in_preferences_is_refused_and_nothing_changes(alice):
    actions.set_preferences(user=alice, choices={("test.news", "email"): False})
    with pytest.raises(Exception, match=r"no\.such"):
        actions.set_preferences(
            user=alice, choices={("no.such", "email"): True, ("test.news", "email"): True}
        )
    assert Preference.objects.get(user=alice).enabled is False


# --- Quiet hours ---------------------------------------------------------------------------


def test_no_sms_in_quiet_hours_it_waits_until_eight(
    member_user, django_capture_on_commit_callbacks, sms_outbox, at
):
    at(23, 30)
    send(django_capture_on_commit_callbacks, [member_user], "test.urgent", {"what": "夜间"})

    sms = Delivery.objects.get(channel="sms")
    assert sms.status == "pending" and sms_outbox == []
    assert sms.not_before == datetime.datetime(2026, 12, 3, 8, 0, tzinfo=BEIJING)
    assert len(mail.outbox) == 1  # email is not held back

    at(7, 59, day=datetime.date(2026, 12, 3))
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.hand_out_due_deliveries() == 0
    at(8, 1, day=datetime.date(2026, 12, 3))
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.hand_out_due_deliveries() == 1
    assert len(sms_outbox) == 1
    assert Delivery.objects.get(channel="sms").status == "sent"


def test_own_quiet_hours_replace_the_default(
    member_user, django_capture_on_commit_callbacks, sms_outbox, at
):
    actions.save_recipient_settings(
        user=member_user, quiet_start=datetime.time(12), quiet_end=datetime.time(14)
    )
    at(23, 30)  # quiet by default, not for this user
    send(django_capture_on_commit_callbacks, [member_user], "test.urgent", {"what": "a"})
    at(13)
    send(django_capture_on_commit_callbacks, [member_user], "test.urgent", {"what": "b"})

    assert len(sms_outbox) == 1 and sms_outbox[0].body.endswith("Urgent: a")
    waiting = Delivery.objects.get(channel="sms", status="pending")
    assert waiting.not_before == datetime.datetime(2026, 12, 2, 14, 0, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(21, 59, None), (22, 0, (3, 8)), (2, 0, (2, 8)), (7, 59, (2, 8)), (8, 0, None)],
)
def test_quiet_hours_span_midnight(hour, minute, expected):
    now = datetime.datetime(2026, 12, 2, hour, minute, tzinfo=BEIJING)
    until = actions.quiet_until(now, datetime.time(22), datetime.time(8))
    if expected is None:
        assert until is None
    else:
        assert until == datetime.datetime(2026, 12, expected[0], expected[1], tzinfo=BEIJING)


# --- Language ------------------------------------------------------------------------------


def test_the_template_language_follows_the_recipient(db, django_capture_on_commit_callbacks):
    zh = UserFactory(username="zh", email="zh@example.cn")
    en = UserFactory(username="en", email="en@example.cn")
    actions.save_recipient_settings(user=en, language="en")

    send(django_capture_on_commit_callbacks, [zh, en], "welcome")

    by_address = {e.to[0]: e for e in mail.outbox}
    assert by_address["zh@example.cn"].subject == "欢迎来到网上工会"
    assert by_address["en@example.cn"].subject == "Welcome to UnionHub"
    assert by_address["zh@example.cn"].extra_headers["Content-Language"] == "zh-hans"
    assert by_address["en@example.cn"].extra_headers["Content-Language"] == "en"


def test_switching_the_language_remembers_it_for_emails(client, alice):
    client.force_login(alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert actions.recipient_settings(alice).language == "en"
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert actions.recipient_settings(alice).language == "en"


# --- Dedupe and retries --------------------------------------------------------------------


def test_the_same_event_fired_twice_is_one_notification_one_email(
    alice, django_capture_on_commit_callbacks
):
    for _ in range(2):
        send(
            django_capture_on_commit_callbacks,
            [alice],
            "test.news",
            {"who": "A"},
            dedupe_key="event:42",
        )
    assert Notification.objects.filter(recipient=alice).count() == 1
    assert Delivery.objects.count() == 1
    assert len(mail.outbox) == 1


def test_sending_a_delivery_again_sends_nothing(alice, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, [alice], "test.news", {"who": "A"})
    delivery = Delivery.objects.get()
    assert actions.send_deliveries([delivery.pk]) == {}
    assert len(mail.outbox) == 1


class FailingEmailBackend(LocmemEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("gone")


def test_a_failed_email_is_retried_later_with_backoff(
    alice, settings, django_capture_on_commit_callbacks, at
):
    now = at(10)
    settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
    send(django_capture_on_commit_callbacks, [alice], "test.news", {"who": "A"})

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == "SMTPServerDisconnected"
    # Jitter: between half and all of the first step (one minute).
    assert now + datetime.timedelta(seconds=30) <= delivery.not_before
    assert delivery.not_before <= now + datetime.timedelta(seconds=60)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    at(10, 2)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.hand_out_due_deliveries() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_an_email_that_keeps_failing_is_marked_failed(alice, settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
    actions.notify([alice], "test.news", {"who": "A"})
    delivery = Delivery.objects.get()
    for _ in range(actions.MAX_ATTEMPTS):
        Delivery.objects.filter(pk=delivery.pk).update(not_before=None)
        actions.send_deliveries([delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", actions.MAX_ATTEMPTS)


class RefusingSmsBackend:
    def send(self, message):
        raise SmsError("isv.MOBILE_NUMBER_ILLEGAL", permanent=True)


def test_a_number_the_provider_refuses_fails_at_once(
    member_user, settings, django_capture_on_commit_callbacks, at
):
    at(10)
    settings.SMS_BACKEND = f"{__name__}.RefusingSmsBackend"
    send(django_capture_on_commit_callbacks, [member_user], "test.urgent", {"what": "a"})
    sms = Delivery.objects.get(channel="sms")
    assert (sms.status, sms.last_error) == ("failed", "isv.MOBILE_NUMBER_ILLEGAL")
    assert Delivery.objects.get(channel="email").status == "sent"


def test_the_sweeper_sends_deliveries_whose_task_was_lost(
    alice, django_capture_on_commit_callbacks, at
):
    start = at(10)
    actions.notify([alice], "test.news", {"who": "A"})  # on-commit enqueue never runs
    assert Delivery.objects.get().status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        assert actions.hand_out_due_deliveries() == 0  # too young: its task may be queued
    at(10, 11)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.hand_out_due_deliveries() == 1
    assert Delivery.objects.get().status == "sent"
    assert start < Delivery.objects.get().sent_at


def test_a_leased_delivery_is_not_handed_out_twice(alice, at):
    at(10)
    actions.notify([alice], "test.news", {"who": "A"})
    at(10, 11)
    assert actions.hand_out_due_deliveries() == 1
    at(10, 12)
    assert actions.hand_out_due_deliveries() == 0  # its worker has it for ten minutes
    at(10, 22)
    assert actions.hand_out_due_deliveries() == 1  # that worker died: hand it out again


# --- The settings page ---------------------------------------------------------------------


def test_settings_page_saves_language_quiet_hours_and_choices(client, member_user):
    client.force_login(member_user)
    actions.notify([member_user], "test.news", {"who": "A"})
    page = client.get(reverse("inbox-settings"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="email:test.news"' in html and 'name="sms:test.urgent"' in html

    response = client.post(
        reverse("inbox-settings"),
        {
            "language": "en",
            "quiet_start": "21:00",
            "quiet_end": "07:30",
            "sms:test.news": "on",  # email:test.news absent: turned off
            "email:test.urgent": "on",
        },
    )
    assert response.status_code == 302
    saved = actions.recipient_settings(member_user)
    assert (saved.language, saved.quiet_start, saved.quiet_end) == (
        "en",
        datetime.time(21),
        datetime.time(7, 30),
    )
    chosen = actions.enabled_channels_for_user(member_user)
    assert chosen["test.news"] == {"email": False, "sms": True}
    assert chosen["test.urgent"] == {"email": True, "sms": False}


def test_settings_page_keeps_input_and_explains_a_bad_time(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("inbox-settings"),
        {"language": "en", "quiet_start": "25:99", "quiet_end": "07:00"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["quiet_start"]
    assert 'value="07:00"' in response.content.decode()
    assert actions.recipient_settings(alice).pk is None  # nothing saved


def test_masking_for_logs_and_captures():
    assert channels.mask("sms", "13912345678") == "139****5678"
    assert channels.mask("email", "alice@example.cn") == "a***@example.cn"


# --- People without an account (contacts) ---------------------------------------------------


@pytest.fixture
def contact_book():
    """A contact model "tests.person" whose records live in this dict."""
    book = {}
    channels.register_contact(
        "tests.person", lambda pks: {pk: book[pk] for pk in pks if pk in book}
    )
    yield book
    channels._CONTACTS.pop("tests.person")


def test_a_contact_is_texted_once_in_its_language_and_has_no_inbox(
    db, contact_book, sms_outbox, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)
    contact_book[7] = channels.Contact({channels.SMS: "13700000007"}, "en")
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.notify_contact(
            "tests.person:7", "test.urgent", {"what": "x"}, dedupe_key="e"
        )
        assert (
            actions.notify_contact("tests.person:7", "test.urgent", {"what": "x"}, dedupe_key="e")
            == 0
        )
    (message,) = sms_outbox
    assert message.to == "13700000007" and message.language == "en"
    note = Notification.objects.get()
    assert note.recipient_id is None and note.addressee == "tests.person:7"
    assert list(note.deliveries.values_list("channel", flat=True)) == [channels.SMS]


def test_a_contact_that_is_gone_or_unknown_gets_nothing(
    db, contact_book, sms_outbox, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        actions.notify_contact("nowhere.model:1", "test.urgent", {"what": "x"})
        actions.notify_contact("tests.person:8", "test.urgent", {"what": "x"})
    assert not Delivery.objects.exists() and sms_outbox == []
    # Reachable when the message was written, gone when it is sent: skipped, not failed.
    contact_book[9] = channels.Contact({channels.SMS: "13700000009"})
    actions.notify_contact("tests.person:9", "test.urgent", {"what": "x"})
    del contact_book[9]
    outcome = actions.send_deliveries(list(Delivery.objects.values_list("pk", flat=True)))
    assert outcome == {"skipped": 1} and sms_outbox == []


def test_a_message_is_for_a_user_or_a_contact_never_both_or_neither(db, alice):
    from django.db import IntegrityError, transaction

    for fields in ({"recipient": alice, "contact": "tests.person:1"}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Notification.objects.create(kind="test.news", dedupe_key=str(fields), **fields)
