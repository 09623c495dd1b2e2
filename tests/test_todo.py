"""待办 (issue 21): what waits on an officer, gathered from every app, scoped to the unions
where the officer holds a grant that can act, most urgent first, in the admin's header, on
its index and on a page of its own, with a bounded number of queries."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import todo
from members.actions import joining, transfers
from members.models import TransferSide
from services.actions import voice
from tests.factories import make_member, person_data

pytestmark = pytest.mark.django_db
PASSWORD = "Harbor-lantern-47q"


def apply(org):
    application, _key = joining.submit_join_application(
        organization=org,
        data=person_data(),
        password=PASSWORD,
        privacy_consent=True,
        sensitive_consent=True,
    )
    return application


def concern(member, **fields):
    return voice.raise_concern(
        member=member,
        data={"category": "wages", "title": "加班费未发", "text": "三月加班费未发。", **fields},
    )


def waiting(user):
    return [(item.source, item.url) for item in todo.items(user)]


def test_each_officer_sees_the_work_of_the_unions_they_serve_and_nothing_else(tree, officers):
    mine = apply(tree.union_a)
    theirs = apply(tree.union_b)
    url = reverse("admin:members_joinapplication_change", args=[mine.pk])
    for user in (officers.a_admin, officers.a_staff):
        assert waiting(user) == [("join", url)]
        assert todo.counts(user)["join"] == 1
    assert waiting(officers.b_admin) == [
        ("join", reverse("admin:members_joinapplication_change", args=[theirs.pk]))
    ]
    # Above the union, and in another province, nothing of theirs waits on them: the
    # unions below have officers of their own (and officers above read no personal data).
    for user in (officers.hz_admin, officers.zj_admin, officers.zj_viewer, officers.c_admin):
        assert sum(todo.counts(user).values()) == 0
        assert todo.items(user) == []


def test_most_urgent_first_and_escalated_concerns_wait_on_the_union_above(tree, officers):
    member = make_member(tree.union_a)
    application = apply(tree.union_a)
    late = concern(member, title="早的诉求")
    soon = concern(member, title="晚的诉求")
    now = timezone.now()
    type(late).objects.filter(pk=late.pk).update(due_at=now - datetime.timedelta(hours=5))
    type(soon).objects.filter(pk=soon.pk).update(due_at=now + datetime.timedelta(hours=5))
    from services.actions import menu, requests
    from tests.services.conftest import member_with_login

    service = menu.create_service(
        organization=tree.union_a,
        data={"title": "体检", "category": "inclusive", "description": "年度体检"},
        audience_unions=(),
        acting_user=officers.a_admin,
    )
    service = menu.publish_service(service=service, acting_user=officers.a_admin)
    orderer = member_with_login(tree.union_a)
    ordered = requests.order_service(service=service, member=orderer, acting_user=orderer.user)
    type(ordered).objects.filter(pk=ordered.pk).update(due_at=now + datetime.timedelta(hours=7))
    items = todo.items(officers.a_admin)
    assert [i.title for i in items] == [
        "早的诉求",
        "晚的诉求",
        f"体检 · 编号 {ordered.pk}",
        f"申请编号 {application.pk}",
    ]
    assert [i.overdue for i in items] == [True, False, False, False]
    assert items[2].note == "已提交" and items[0].url.endswith(f"/concern/{late.pk}/change/")

    # Past its due time the overdue concern climbs to the county's union: it leaves union
    # A's to-do and waits on the county's officers, marked as escalated.
    from organizations import actions
    from tests.factories import UserFactory

    county = UserFactory(username="xihu_staff")
    actions.grant_role(user=county, organization=tree.xihu, role="staff")
    assert voice.escalate_overdue_concerns() == 1
    assert next(i.title for i in todo.items(officers.a_admin)) == "晚的诉求"
    (escalated,) = todo.items(county)
    assert escalated.title == "早的诉求" and escalated.union == tree.xihu.name
    assert escalated.note == "已升级 1 次"


def test_a_transfer_waits_on_the_releasing_then_the_receiving_union(tree, officers):
    member = make_member(tree.union_a)
    transfer = transfers.request_transfer(
        member=member,
        to_organization=tree.union_b,
        side=TransferSide.SENDING,
        acting_user=officers.a_admin,
    )
    # Started by the sending union, which released the member at once: it waits on B.
    assert [i.source for i in todo.items(officers.b_admin)] == ["transfer_in"]
    assert todo.items(officers.a_admin) == []
    (item,) = todo.items(officers.b_admin)
    assert item.due == transfer.expires_at and item.union == tree.union_b.name
    transfers.accept_transfer(transfer=transfer, acting_user=officers.b_admin)
    assert todo.items(officers.b_admin) == []


def test_the_admin_shows_the_count_in_its_header_and_the_work_on_its_index(tree, officers):
    apply(tree.union_a)
    apply(tree.union_a)
    client = Client()
    client.force_login(officers.a_admin)
    index = client.get(reverse("admin:index")).content.decode()
    assert 'class="todo-badge"' in index and "2 项待办" in index
    assert index.count('class="todo-item') == 2
    page = client.get(reverse("admin:todo"), {"kind": "join"}).content.decode()
    assert page.count('class="todo-item') == 2 and "入会申请" in page

    client.force_login(officers.b_admin)
    index = client.get(reverse("admin:index")).content.decode()
    assert 'class="todo-badge"' not in index and "没有等待您处理的事项" in index
    assert client.get(reverse("admin:todo")).content.decode().count('class="todo-item') == 0


def test_the_to_do_page_reads_a_fixed_number_of_queries(tree, officers, make_officer):
    """However many items wait and however many unions the officer serves."""
    client = Client()
    client.force_login(officers.a_admin)
    apply(tree.union_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("admin:todo"))
        assert response.status_code == 200
        return len(captured)

    few = queries()
    member = make_member(tree.union_a)
    for _ in range(6):
        apply(tree.union_a)
        concern(member)
    from organizations import actions

    actions.grant_role(user=officers.a_admin, organization=tree.union_b, role="admin")
    apply(tree.union_b)
    assert queries() == few


def kinds_for(user) -> list[str]:
    from notifications.models import Notification

    notices = Notification.objects.filter(recipient=user).exclude(kind="role.granted")
    return list(notices.order_by("pk").values_list("kind", flat=True))


def test_new_work_tells_the_officers_who_can_act_on_it(tree, officers, committed):
    """A new application, a corrected one and a wish reach the admins and staff of exactly
    the union it waits on; officers above it and of other unions hear nothing."""
    from members.actions import joining as join_actions
    from services.actions import wishes
    from tests.services.conftest import member_with_login

    with committed():
        application = apply(tree.union_a)
    for user in (officers.a_admin, officers.a_staff):
        assert kinds_for(user) == ["join.submitted"]
    for user in (officers.b_admin, officers.hz_admin, officers.zj_admin):
        assert kinds_for(user) == []
    from notifications.models import Notification

    notice = Notification.objects.get(recipient=officers.a_admin, kind="join.submitted")
    assert tree.union_a.name in notice.title and str(application.pk) in notice.body
    assert application.name not in notice.title + notice.body  # no personal data
    assert notice.link.endswith(f"/joinapplication/{application.pk}/change/")

    with committed():
        join_actions.request_correction(
            application=application, note="请补正身份证号", acting_user=officers.a_admin
        )
        join_actions.resubmit_join_application(application=application, data=person_data())
    assert kinds_for(officers.a_staff) == ["join.submitted", "join.resubmitted"]

    proposer = member_with_login(tree.union_a)
    with committed():
        wishes.propose_wish(
            member=proposer,
            organization=tree.union_a,
            title="开设瑜伽课",
            acting_user=proposer.user,
        )
    assert kinds_for(officers.a_admin)[-1] == "services.menu.wish_new"
    assert "services.menu.wish_new" not in kinds_for(officers.hz_admin)


def test_officers_hear_once_before_an_item_falls_due(tree, officers):
    from services.actions import reminders

    member = make_member(tree.union_a)
    first = concern(member, title="早的诉求")
    later = concern(member, title="晚的诉求")
    now = timezone.now()
    type(first).objects.filter(pk=first.pk).update(due_at=now + datetime.timedelta(hours=3))
    type(later).objects.filter(pk=later.pk).update(due_at=now + datetime.timedelta(days=3))
    before = kinds_for(officers.a_admin).count(reminders.KIND)
    assert reminders.remind_due_soon(now) == 2  # the admin and the staff member, once
    assert reminders.remind_due_soon(now) == 0  # not again for the same due time
    assert kinds_for(officers.a_admin).count(reminders.KIND) == before + 1
    assert kinds_for(officers.hz_admin).count(reminders.KIND) == 0
    # A new due time (the concern was graded again) is a new reminder.
    type(first).objects.filter(pk=first.pk).update(due_at=now + datetime.timedelta(hours=5))
    assert reminders.remind_due_soon(now) == 2


def test_an_officer_who_chose_the_digest_gets_one_message_a_day(tree, officers, committed):
    """Work notices reach the digest officer's inbox at once but no email; once a day one
    digest counts them (email and SMS); the other officer keeps one email per notice."""
    from notifications import actions as notices
    from notifications.models import Delivery, Notification

    officers.a_admin.email = "a_admin@example.cn"
    officers.a_admin.save()
    officers.a_staff.email = "a_staff@example.cn"
    officers.a_staff.save()
    notices.save_recipient_settings(user=officers.a_staff, digest=True)
    with committed():
        apply(tree.union_a)
        apply(tree.union_a)

    def emails(user) -> int:
        return Delivery.objects.filter(notification__recipient=user, channel="email").count()

    assert kinds_for(officers.a_staff) == ["join.submitted", "join.submitted"]
    assert emails(officers.a_staff) == 0 and emails(officers.a_admin) == 2

    later = timezone.now() + datetime.timedelta(minutes=1)
    assert notices.send_digests(later) == 1
    digest = Notification.objects.get(recipient=officers.a_staff, kind="notifications.digest")
    assert digest.context == {"count": 2} and digest.link == reverse("admin:todo")
    assert "2 项新的待办" in digest.title
    assert emails(officers.a_staff) == 1
    assert notices.send_digests(later) == 0  # once a day, and nothing new since
    assert "notifications.digest" not in kinds_for(officers.a_admin)


def test_the_digest_is_offered_to_officers_only(tree, officers):
    from tests.services.conftest import member_with_login

    client = Client()
    client.force_login(officers.a_staff)
    page = client.get(reverse("inbox-settings")).content.decode()
    assert "每日汇总" in page
    member = member_with_login(tree.union_a)
    client.force_login(member.user)
    assert "每日汇总" not in client.get(reverse("inbox-settings")).content.decode()


def test_a_member_lands_on_their_membership_and_an_officer_on_the_to_do(tree, officers):
    from tests.services.conftest import PASSWORD as MEMBER_PASSWORD
    from tests.services.conftest import member_with_login

    member = member_with_login(tree.union_a)
    client = Client()
    response = client.post(
        reverse("login"),
        {"username": member.user.username, "password": MEMBER_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("my-membership")
    page = response.content.decode()
    assert f'href="{reverse("my-membership")}"' in page and "我的会籍" in page
    # A `next` wins.
    client.logout()
    response = client.post(
        reverse("login") + "?next=" + reverse("services-home"),
        {"username": member.user.username, "password": MEMBER_PASSWORD},
    )
    assert response["Location"] == reverse("services-home")

    client.force_login(officers.a_staff)
    assert client.get(reverse("after-login"))["Location"] == reverse("admin:todo")


def test_the_union_a_transfer_waits_on_hears_before_it_lapses(tree, officers):
    member = make_member(tree.union_a)
    transfer = transfers.request_transfer(
        member=member,
        to_organization=tree.union_b,
        side=TransferSide.SENDING,
        acting_user=officers.a_admin,
    )
    now = timezone.now()
    assert transfers.remind_expiring_transfers(now) == 0  # a month to go
    type(transfer).objects.filter(pk=transfer.pk).update(
        expires_at=now + datetime.timedelta(days=2)
    )
    assert transfers.remind_expiring_transfers(now) == 1  # B's admin: A released already
    assert kinds_for(officers.b_admin).count("transfer.expiring") == 1
    assert "transfer.expiring" not in kinds_for(officers.a_admin)
    assert transfers.remind_expiring_transfers(now) == 0  # once
