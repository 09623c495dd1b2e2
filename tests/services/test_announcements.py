"""Announcements (通知公告): drafts, audience, the chunked fan-out, progress, the portal."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from notifications.models import Notification
from services.actions import announcements as actions
from services.models import Announcement, AnnouncementChunk, AnnouncementStatus
from tests.services.conftest import member_with_login

KIND = "services.announcement"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(actions, "CHUNK_SIZE", 2)


def received(member) -> int:
    return Notification.objects.filter(recipient=member.user, kind=KIND).count()


def draft(org, user, **fields):
    values = {"title": "春节慰问通知", "body": "各位会员：春节慰问品将于下周发放。"}
    values.update(fields)
    return actions.create_announcement(organization=org, acting_user=user, **values)


def publish(announcement, user, capture):
    with capture(execute=True):
        return actions.publish_announcement(announcement=announcement, acting_user=user)


@pytest.fixture
def xihu_staff(tree, make_officer):
    return make_officer("xihu_staff", tree.xihu, "staff")


# --- Drafts ---------------------------------------------------------------------------------


def test_a_draft_needs_a_title_and_text_and_nothing_is_written(tree, xihu_staff):
    with pytest.raises(ValidationError) as error:
        draft(tree.xihu, xihu_staff, title="  ", body="")
    assert set(error.value.message_dict) == {"title", "body"}
    assert not Announcement.objects.exists()


def test_audience_unions_must_lie_below_the_sender(tree, xihu_staff):
    with pytest.raises(ValidationError) as error:
        draft(tree.xihu, xihu_staff, unions=[tree.union_c])
    assert "audience_unions" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        draft(tree.xihu, xihu_staff, levels=["nope"], employment_types=["nope"])
    assert set(error.value.message_dict) == {"audience_levels", "audience_employment_types"}
    assert not Announcement.objects.exists()


def test_a_sibling_unions_staff_cannot_announce_for_another_union(tree, officers):
    with pytest.raises(PermissionDenied):
        draft(tree.union_a, officers.b_admin)
    assert not Announcement.objects.exists()


def test_a_published_announcement_no_longer_changes(
    tree, xihu_staff, members, django_capture_on_commit_callbacks
):
    announcement = publish(
        draft(tree.xihu, xihu_staff), xihu_staff, django_capture_on_commit_callbacks
    )
    with pytest.raises(ValidationError):
        actions.update_announcement(
            announcement=announcement, title="改", body="改", acting_user=xihu_staff
        )
    with pytest.raises(ValidationError):
        actions.publish_announcement(announcement=announcement, acting_user=xihu_staff)
    announcement.refresh_from_db()
    assert announcement.title == "春节慰问通知"


# --- Fan-out -----------------------------------------------------------------------------


def test_publishing_reaches_every_member_of_the_subtree_once(
    tree, xihu_staff, members, django_capture_on_commit_callbacks
):
    extra = [member_with_login(tree.union_a) for _ in range(3)]
    announcement = publish(
        draft(tree.xihu, xihu_staff), xihu_staff, django_capture_on_commit_callbacks
    )

    announcement.refresh_from_db()
    # a, a2, three more in A, and b: six members in chunks of two; c is in another province.
    assert announcement.chunks_total == 3
    assert (announcement.status, announcement.chunks_done, announcement.recipients_done) == (
        AnnouncementStatus.SENT,
        3,
        6,
    )
    assert announcement.progress == 100
    for member in [members.a, members.a2, members.b, *extra]:
        assert received(member) == 1
    assert received(members.c) == 0
    note = Notification.objects.get(recipient=members.a.user, kind=KIND)
    assert note.link == reverse("announcement-detail", args=[announcement.pk])
    assert note.context == {"title": "春节慰问通知", "union": tree.xihu.name}
    # The sender hears once that it is done.
    sent = Notification.objects.get(recipient=xihu_staff, kind="services.announcements.sent")
    assert sent.context["n"] == 6


def test_each_chunk_is_done_once_whatever_redelivers_it(
    tree, xihu_staff, members, django_capture_on_commit_callbacks
):
    announcement = publish(
        draft(tree.xihu, xihu_staff), xihu_staff, django_capture_on_commit_callbacks
    )
    for chunk in AnnouncementChunk.objects.filter(announcement=announcement):
        assert actions.deliver_chunk(chunk_id=chunk.pk) == 0
    announcement.refresh_from_db()
    assert (announcement.chunks_done, announcement.recipients_done) == (2, 3)
    assert Notification.objects.filter(kind=KIND).count() == 3


def test_audience_filters_narrow_the_recipients(
    tree, xihu_staff, members, django_capture_on_commit_callbacks
):
    part_timer = member_with_login(tree.union_b, employment_type="part_time")
    only_a = draft(tree.xihu, xihu_staff, unions=[tree.union_a])
    part_time = draft(tree.xihu, xihu_staff, title="兼职", employment_types=["part_time"])
    publish(only_a, xihu_staff, django_capture_on_commit_callbacks)
    publish(part_time, xihu_staff, django_capture_on_commit_callbacks)

    def got(member, announcement):
        return Notification.objects.filter(
            recipient=member.user, dedupe_key__startswith=f"announcement:{announcement.pk}:"
        ).exists()

    assert [got(m, only_a) for m in (members.a, members.a2, members.b, part_timer)] == [
        True,
        True,
        False,
        False,
    ]
    assert [got(m, part_time) for m in (members.a, members.b, part_timer)] == [
        False,
        False,
        True,
    ]


def test_an_announcement_to_nobody_is_sent_at_once(
    tree, xihu_staff, django_capture_on_commit_callbacks
):
    announcement = publish(
        draft(tree.xihu, xihu_staff), xihu_staff, django_capture_on_commit_callbacks
    )
    assert (announcement.status, announcement.chunks_total) == (AnnouncementStatus.SENT, 0)


def test_chunks_whose_worker_died_are_handed_out_again(tree, xihu_staff, members, clock):
    # Published, but the queued chunk tasks are lost (no on-commit callbacks run here).
    announcement = actions.publish_announcement(
        announcement=draft(tree.xihu, xihu_staff), acting_user=xihu_staff
    )
    assert announcement.status == AnnouncementStatus.SENDING
    assert actions.resume_stalled_chunks() == 0  # within the lease: perhaps still running

    clock.advance(datetime.timedelta(minutes=11))
    for chunk in AnnouncementChunk.objects.all():  # what the re-queued tasks do
        assert actions.resume_stalled_chunks() in (0, 2)
        actions.deliver_chunk(chunk_id=chunk.pk)
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SENT
    assert Notification.objects.filter(kind=KIND).count() == 3
    assert actions.resume_stalled_chunks() == 0


def test_members_joining_during_the_send_fall_in_the_last_chunk(tree, xihu_staff, members, clock):
    announcement = actions.publish_announcement(
        announcement=draft(tree.xihu, xihu_staff), acting_user=xihu_staff
    )
    latecomer = member_with_login(tree.union_a)
    for chunk in AnnouncementChunk.objects.order_by("number"):
        actions.deliver_chunk(chunk_id=chunk.pk)
    announcement.refresh_from_db()
    assert announcement.recipients_done == 4
    assert received(latecomer) == 1


# --- Portal and admin -----------------------------------------------------------------------


def test_members_read_it_in_the_portal_others_get_404(
    tree, xihu_staff, members, login, django_capture_on_commit_callbacks
):
    announcement = publish(
        draft(tree.xihu, xihu_staff), xihu_staff, django_capture_on_commit_callbacks
    )
    detail = reverse("announcement-detail", args=[announcement.pk])

    client = login(members.a)
    listing = client.get(reverse("announcement-list"))
    assert "春节慰问通知" in listing.content.decode()
    page = client.get(detail)
    assert page.status_code == 200 and "春节慰问品将于下周发放" in page.content.decode()

    client = login(members.c)
    assert client.get(detail).status_code == 404
    assert "春节慰问通知" not in client.get(reverse("announcement-list")).content.decode()


def test_a_draft_is_not_in_the_portal(tree, xihu_staff, members, login):
    announcement = draft(tree.xihu, xihu_staff)
    client = login(members.a)
    assert client.get(reverse("announcement-detail", args=[announcement.pk])).status_code == 404


def test_staff_write_and_publish_in_the_admin_and_see_progress(
    tree, xihu_staff, members, client, django_capture_on_commit_callbacks
):
    client.force_login(xihu_staff)
    add = reverse("admin:services_announcement_add")
    response = client.post(add, {"organization": tree.xihu.pk, "title": "", "body": "正文"})
    assert response.status_code == 200 and response.context["adminform"].form.errors["title"]
    assert not Announcement.objects.exists()

    response = client.post(
        add, {"organization": tree.xihu.pk, "title": "安全生产月", "body": "正文"}
    )
    assert response.status_code == 302
    announcement = Announcement.objects.get()
    change = reverse("admin:services_announcement_change", args=[announcement.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            change,
            {"title": "安全生产月", "body": "正文", "_publish": "1"},
        )
    assert response.status_code == 302
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SENT
    page = client.get(change).content.decode()
    assert 'id="announcement-progress"' in page and "3 members reached" in page


def test_the_admin_of_a_sibling_union_gets_404(tree, xihu_staff, officers, client):
    announcement = draft(tree.union_a, officers.a_admin)
    client.force_login(officers.b_admin)
    change = reverse("admin:services_announcement_change", args=[announcement.pk])
    assert client.get(change).status_code == 404
    listing = client.get(reverse("admin:services_announcement_changelist"))
    assert "春节慰问通知" not in listing.content.decode()


def test_a_redelivered_done_chunk_queues_the_emails_its_dead_worker_did_not(
    tree, xihu_staff, django_capture_on_commit_callbacks
):
    from django.core import mail

    from notifications.models import Delivery
    from tests.factories import bulk_members

    bulk_members(tree.union_a, 3)
    announcement = actions.publish_announcement(
        announcement=draft(tree.xihu, xihu_staff), acting_user=xihu_staff
    )
    chunks = list(AnnouncementChunk.objects.filter(announcement=announcement))
    # The worker commits each chunk and dies before its on-commit work queues the emails.
    with django_capture_on_commit_callbacks(execute=False):
        for chunk in chunks:
            assert actions.deliver_chunk(chunk_id=chunk.pk) > 0
    assert Delivery.objects.filter(status="pending").count() == 3 and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        for chunk in chunks:  # the broker hands the unacknowledged tasks out again
            assert actions.deliver_chunk(chunk_id=chunk.pk) == 0
    assert sorted(len(m.to) for m in mail.outbox) == [1, 1, 1]
    assert not Delivery.objects.filter(status="pending").exists()
    assert Notification.objects.filter(kind=KIND).count() == 3
