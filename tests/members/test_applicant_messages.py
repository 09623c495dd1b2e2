"""Applicants (no account yet) are told of each step by SMS, and get a lost status link back
by ID number + mobile number + a one-time code, without an oracle for who has applied."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from members.actions import joining, link_recovery
from members.models import JoinApplication, LinkRecovery
from notifications.actions import hand_out_due_deliveries, notify_contact
from notifications.channels import contact_ref
from notifications.models import Delivery, Notification
from tests.factories import make_id_number, person_data

pytestmark = pytest.mark.django_db

PASSWORD = "Harbor-lantern-47q"
RECOVER = "/join/find/"
CODE = "/join/find/code/"


@pytest.fixture(autouse=True)
def no_quiet_hours(settings):
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)  # SMS go out now, whatever the hour


def apply(org, raw=None):
    raw = raw or person_data()
    application, key = joining.submit_join_application(
        organization=org, data=raw, password=PASSWORD, privacy_consent=True, sensitive_consent=True
    )
    return application, key, raw


def texts_to(outbox, phone):
    return [m.body for m in outbox if m.to == phone]


def chinese(client):
    client.cookies["django_language"] = "zh-hans"
    return client


# --- Told of each step ----------------------------------------------------------------------


def test_each_step_of_an_application_reaches_the_applicants_phone_once(
    tree, officers, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application, _key, raw = apply(tree.union_a)
    received = texts_to(sms_outbox, raw["phone"])
    assert len(received) == 1
    assert tree.union_a.name in received[0] and f"{application.pk}" in received[0]
    assert "/join/find/" in received[0]  # how to get a lost link back
    assert "申请" in received[0]  # applied in the site's language

    with django_capture_on_commit_callbacks(execute=True):
        joining.request_correction(
            application=application, acting_user=officers.a_admin, note="请填写完整的单位名称"
        )
    with django_capture_on_commit_callbacks(execute=True):
        joining.resubmit_join_application(
            application=application, data={**raw, "employer": "杭州甲科技有限公司滨江分公司"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        joining.request_correction(
            application=application, acting_user=officers.a_admin, note="请填写岗位"
        )
    with django_capture_on_commit_callbacks(execute=True):
        joining.reject_join_application(
            application=application, acting_user=officers.a_admin, reason="不在本单位工作"
        )
    texts = texts_to(sms_outbox, raw["phone"])
    assert len(texts) == 4  # received, two corrections, rejection
    assert "请填写完整的单位名称" in texts[1] and "/join/find/" in texts[1]
    assert "请填写岗位" in texts[2]
    assert "不在本单位工作" in texts[3]
    assert all(m.language == "zh-hans" for m in sms_outbox)

    # The same event fired again (a retried on-commit callback) sends nothing more.
    ref = contact_ref(application)
    key = f"join.rejected:{application.pk}:rejected"
    assert notify_contact(ref, "join.rejected", {"union": "x", "reason": "y"}, dedupe_key=key) == 0
    assert len(texts_to(sms_outbox, raw["phone"])) == 4
    # No inbox: nobody's account holds these messages.
    assert not Notification.objects.filter(contact=ref, recipient__isnull=False).exists()


def test_approval_and_withdrawal_reach_the_applicant(
    tree, officers, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        approved, _key, raw = apply(tree.union_a)
        joining.approve_join_application(application=approved, acting_user=officers.a_admin)
    texts = texts_to(sms_outbox, raw["phone"])
    assert len(texts) == 2
    member = JoinApplication.objects.get(pk=approved.pk).member
    assert member.membership_number in texts[1]  # the login name, now an account's message

    with django_capture_on_commit_callbacks(execute=True):
        withdrawn, _key, raw2 = apply(tree.union_a)
        joining.withdraw_join_application(application=withdrawn)
    texts = texts_to(sms_outbox, raw2["phone"])
    assert len(texts) == 2 and "撤回" in texts[1]


def test_an_applicant_who_applied_in_english_is_written_to_in_english(
    tree, sms_outbox, django_capture_on_commit_callbacks
):
    client = Client()
    client.cookies["django_language"] = "en"
    raw = person_data()
    data = {
        **raw,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "privacy_consent": "on",
        "sensitive_consent": "on",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("join-apply", args=[tree.union_a.pk]), data).status_code == 302
    (message,) = sms_outbox
    assert message.language == "en"
    assert "was received" in message.body


def test_the_applicants_messages_wait_for_the_end_of_the_quiet_hours(
    settings, tree, sms_outbox, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 23)  # quiet nearly all day: now is inside
    if timezone.localtime().hour == 23:
        pytest.skip("the one loud hour")
    with django_capture_on_commit_callbacks(execute=True):
        application, _key, _raw = apply(tree.union_a)
    assert sms_outbox == []
    delivery = Delivery.objects.get(notification__contact=contact_ref(application))
    assert delivery.status == "pending" and delivery.not_before > timezone.now()


def test_contact_only_kinds_are_not_on_a_members_preferences_page(tree, officers):
    client = Client()
    client.force_login(officers.a_admin)
    page = client.get(reverse("inbox-settings")).content.decode()
    assert "join.rejected" not in page and "join.received" not in page
    assert "join.recovery_code" not in page


# --- Getting a lost link back ---------------------------------------------------------------


def code_in(outbox, phone) -> str:
    six = re.compile(r"(?<!\d)(\d{6})(?!\d)")
    (text,) = [m.body for m in outbox if m.to == phone and six.search(m.body)]
    return six.search(text).group(1)


def ask_for_code(client, id_number, phone, capture):
    with capture(execute=True):
        response = client.post(RECOVER, {"id_number": id_number, "phone": phone})
    return response


def test_an_applicant_gets_a_lost_link_back_with_the_code_sent_to_their_phone(
    tree, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application, old_key, raw = apply(tree.union_a)
    client = chinese(Client())
    assert "找回" in client.get(RECOVER).content.decode()
    response = ask_for_code(
        client, raw["id_number"], raw["phone"], django_capture_on_commit_callbacks
    )
    assert response.status_code == 302 and response["Location"] == CODE
    code = code_in(sms_outbox, raw["phone"])
    assert "验证码" in sms_outbox[-1].body

    wrong = "000000" if code != "000000" else "111111"
    page = client.post(CODE, {"code": wrong})
    assert page.status_code == 200 and "还可以再试 4 次" in page.content.decode()

    response = client.post(CODE, {"code": code})
    assert response.status_code == 302
    new_key = re.fullmatch(r"/join/status/([^/]+)/", response["Location"]).group(1)
    assert new_key != old_key
    status = client.get(response["Location"]).content.decode()
    assert application.masked_name in status and "新地址" in status
    assert client.get(reverse("join-status", args=[old_key])).status_code == 404
    assert AuditEntry.objects.filter(action="joinapplication.link_recovered").count() == 1
    # Used once: the code is gone from the message table and opens nothing again.
    assert not Notification.objects.filter(kind=link_recovery.KIND).exists()
    assert client.get(CODE).status_code == 302  # back to the first step


def _page_text(response) -> str:
    html = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


@pytest.mark.parametrize("who", ["never applied", "wrong phone"])
def test_the_answer_is_the_same_whether_or_not_an_application_matches(
    tree, sms_outbox, django_capture_on_commit_callbacks, who
):
    with django_capture_on_commit_callbacks(execute=True):
        _application, _key, raw = apply(tree.union_a)
    sms_outbox.clear()

    def walk(id_number, phone):
        client = chinese(Client())
        first = ask_for_code(client, id_number, phone, django_capture_on_commit_callbacks)
        code_page = client.get(CODE)
        wrong = client.post(CODE, {"code": "123456"})
        return first, code_page, wrong

    real = walk(raw["id_number"], raw["phone"])
    sent = len(sms_outbox)
    assert sent == 1
    other = (
        walk(make_id_number(born="19800101", serial=99123), raw["phone"])
        if who == "never applied"
        else walk(raw["id_number"], "13900009999")
    )
    assert len(sms_outbox) == sent  # nothing sent for the other
    for mine, theirs in zip(real, other, strict=True):
        assert mine.status_code == theirs.status_code
        assert mine.get("Location") == theirs.get("Location")
        if mine.status_code == 200:
            assert _page_text(mine) == _page_text(theirs)
    # Each left one row of hashes, none of them the numbers typed.
    assert LinkRecovery.objects.count() == 2
    for row in LinkRecovery.objects.all():
        assert raw["id_number"] not in row.id_hash and raw["phone"] not in row.phone_hash


def test_requests_for_one_id_number_are_limited_whether_or_not_it_applied(
    tree, django_capture_on_commit_callbacks
):
    number = make_id_number(born="19820202", serial=99124)  # never applied
    client = chinese(Client())
    for _ in range(link_recovery.PER_ID_NUMBER_AN_HOUR):
        response = ask_for_code(client, number, "13800001111", django_capture_on_commit_callbacks)
        assert response.status_code == 302
    response = ask_for_code(client, number, "13800002222", django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "请求过于频繁" in response.content.decode()
    assert LinkRecovery.objects.count() == link_recovery.PER_ID_NUMBER_AN_HOUR


def test_bad_input_gets_a_chinese_message_and_writes_nothing(client, tree):
    chinese(client)
    response = client.post(RECOVER, {"id_number": "123", "phone": "12345"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "身份证" in text and "11 位" in text
    assert not LinkRecovery.objects.exists()


def test_five_wrong_codes_end_the_request_even_before_the_right_one(
    tree, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _application, key, raw = apply(tree.union_a)
    client = chinese(Client())
    ask_for_code(client, raw["id_number"], raw["phone"], django_capture_on_commit_callbacks)
    code = code_in(sms_outbox, raw["phone"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(link_recovery.MAX_TRIES):
        client.post(CODE, {"code": wrong})
    recovery = LinkRecovery.objects.get()
    assert recovery.attempts == link_recovery.MAX_TRIES
    with pytest.raises(ValidationError) as refused:
        link_recovery.finish(recovery_id=recovery.pk, code=code)
    assert refused.value.code == "too_many_tries"
    assert client.get(reverse("join-status", args=[key])).status_code == 200  # link unchanged


def test_a_code_expires(tree, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _application, _key, raw = apply(tree.union_a)
        recovery = link_recovery.start(id_number=raw["id_number"], phone=raw["phone"])
    code = code_in(sms_outbox, raw["phone"])
    later = timezone.now() + datetime.timedelta(minutes=link_recovery.CODE_MINUTES, seconds=1)
    with pytest.raises(ValidationError) as refused:
        link_recovery.finish(recovery_id=recovery.pk, code=code, now=later)
    assert refused.value.code == "expired"


def test_a_redelivered_send_task_sends_no_second_code(
    tree, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _application, _key, raw = apply(tree.union_a)
        recovery = link_recovery.start(id_number=raw["id_number"], phone=raw["phone"])
    assert link_recovery.send_code(recovery.pk) is False
    code_in(sms_outbox, raw["phone"])  # exactly one code message


def test_a_code_is_sent_in_the_quiet_hours(
    settings, tree, sms_outbox, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 23)
    if timezone.localtime().hour == 23:
        pytest.skip("the one loud hour")
    with django_capture_on_commit_callbacks(execute=True):
        _application, _key, raw = apply(tree.union_a)  # its "received" message waits
        link_recovery.start(id_number=raw["id_number"], phone=raw["phone"])
    hand_out_due_deliveries()
    assert len(texts_to(sms_outbox, raw["phone"])) == 1
    code_in(sms_outbox, raw["phone"])


def test_old_requests_and_the_messages_of_purged_or_erased_applications_are_deleted(
    tree, officers, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application, _key, raw = apply(tree.union_a)
        link_recovery.start(id_number=raw["id_number"], phone=raw["phone"])
        joining.reject_join_application(
            application=application, acting_user=officers.a_admin, reason="不符合条件"
        )
    ref = contact_ref(application)
    assert Notification.objects.filter(contact=ref).count() == 3  # received, code, rejected
    later = timezone.now() + datetime.timedelta(days=2)
    assert link_recovery.purge(now=later) == 1
    assert not LinkRecovery.objects.exists()
    assert Notification.objects.filter(contact=ref).count() == 2  # the code went with it

    after_retention = timezone.now() + datetime.timedelta(
        days=joining.UNSUCCESSFUL_APPLICATION_RETENTION_DAYS + 1
    )
    assert joining.purge_unsuccessful_applications(now=after_retention) == 1
    assert not Notification.objects.filter(contact=ref).exists()
    assert not JoinApplication.objects.filter(pk=application.pk).exists()


def test_erasing_a_member_deletes_the_texts_to_their_applications_and_sends_no_more(
    tree, officers, sms_outbox, django_capture_on_commit_callbacks
):
    from members.actions import privacy as privacy_actions

    with django_capture_on_commit_callbacks(execute=True):
        application, _key, _raw = apply(tree.union_a)
        member = joining.approve_join_application(
            application=application, acting_user=officers.a_admin
        )
    ref = contact_ref(application)
    assert Notification.objects.filter(contact=ref).exists()
    sent = len(sms_outbox)
    with django_capture_on_commit_callbacks(execute=True):
        privacy_actions.erase_member(member=member, acting_user=officers.a_admin)
    assert not Notification.objects.filter(contact=ref).exists()
    assert len(sms_outbox) == sent
