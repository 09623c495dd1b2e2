"""The monthly dues reminder: active members with a login hear how many past months they
have not paid in full and what they owe in all, once a month."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from members.actions import dues_reminders
from members.amounts import compute_dues
from members.models import DuesRecord, Member, MemberStatus
from members.schedules import MONTHLY_DUES_REMINDER
from members.selectors.dues import current_period
from members.tasks.dues import remind_unpaid_dues_task
from notifications.models import Notification
from tests.factories import UserFactory, make_member

pytestmark = pytest.mark.django_db

WAGE = Decimal("4321.00")  # 21.61 yuan due a month


def months_ago(n: int) -> datetime.date:
    period = current_period()
    for _ in range(n):
        period = (period - datetime.timedelta(days=1)).replace(day=1)
    return period


def member_with_login(org, **overrides) -> Member:
    member = make_member(org, **overrides)
    member.user = UserFactory(username=member.membership_number)
    member.save(update_fields=["user"])
    return member


def owes(member, period, paid="0") -> DuesRecord:
    return DuesRecord.objects.create(
        member=member,
        organization=member.organization,
        period=period,
        wage_base=WAGE,
        amount_due=compute_dues(WAGE),
        amount_paid=Decimal(paid),
    )


def reminders():
    return Notification.objects.filter(kind="dues.reminder")


@pytest.fixture
def people(tree):
    """Who owes what: two in arrears in two provinces; the others are not to be reminded."""
    behind = member_with_login(tree.union_a)
    owes(behind, months_ago(2))
    owes(behind, months_ago(1), paid="10.00")
    owes(behind, months_ago(0))  # this month is not over: not yet owed
    elsewhere = member_with_login(tree.union_c)
    owes(elsewhere, months_ago(3))
    paid_up = member_with_login(tree.union_a)
    owes(paid_up, months_ago(1), paid="21.61")
    owes(paid_up, months_ago(0))
    no_login = make_member(tree.union_a)
    owes(no_login, months_ago(1))
    withdrawn = member_with_login(tree.union_b)
    owes(withdrawn, months_ago(1))
    Member.objects.filter(pk=withdrawn.pk).update(status=MemberStatus.WITHDRAWN)
    deleted = member_with_login(tree.union_b)
    owes(deleted, months_ago(1))
    Member.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    return type("People", (), {"behind": behind, "elsewhere": elsewhere, "paid_up": paid_up})


def test_members_in_arrears_hear_the_months_and_the_total_once_a_month(tree, people):
    assert remind_unpaid_dues_task.delay().get() == 2

    by_user = {n.recipient_id: n for n in reminders()}
    assert set(by_user) == {people.behind.user_id, people.elsewhere.user_id}
    behind = by_user[people.behind.user_id]
    assert behind.context == {"months": 2, "amount": "33.22", "union": tree.union_a.name}
    assert behind.link == reverse("my-dues")
    month = timezone.localdate().strftime("%Y-%m")
    assert behind.dedupe_key == f"dues-reminder:{people.behind.pk}:{month}:{people.behind.user_id}"
    assert by_user[people.elsewhere.user_id].context == {
        "months": 1,
        "amount": "21.61",
        "union": tree.union_c.name,
    }

    assert remind_unpaid_dues_task.delay().get() == 0
    assert reminders().count() == 2


def test_next_month_reminds_again_with_the_month_just_ended(people):
    this_month = current_period()
    assert dues_reminders.remind_unpaid_dues(today=this_month + datetime.timedelta(days=9)) == 2
    next_month = (this_month + datetime.timedelta(days=40)).replace(day=10)
    assert dues_reminders.remind_unpaid_dues(today=next_month) == 3  # paid_up owes this month now
    latest = reminders().filter(recipient=people.behind.user).order_by("-pk").first()
    assert latest.context["months"] == 3 and latest.context["amount"] == "54.83"


def test_nothing_owed_nothing_sent(tree):
    member = member_with_login(tree.union_a)
    owes(member, months_ago(1), paid="21.61")
    assert dues_reminders.remind_unpaid_dues() == 0
    assert not reminders().exists()


def test_the_reminder_is_scheduled_on_the_10th_at_nine_beijing_time():
    from django_celery_beat.models import PeriodicTask

    job = PeriodicTask.objects.get(name=MONTHLY_DUES_REMINDER)
    assert job.task == "members.tasks.dues.remind_unpaid_dues_task" and job.enabled
    crontab = job.crontab
    assert (crontab.day_of_month, crontab.hour, crontab.minute) == ("10", "9", "0")
    assert (crontab.month_of_year, crontab.day_of_week) == ("*", "*")
    assert crontab.timezone.key == "Asia/Shanghai"
