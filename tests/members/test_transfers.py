"""Transfers between unions (会员关系转接) and retained memberships (保留会籍), on PostgreSQL."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import AuditEntry
from members.actions import transfers
from members.models import EventKind, Member, MemberStatus, Transfer, TransferStatus
from members.tasks.transfers import expire_transfers_task
from notifications.models import Notification
from organizations import counters
from organizations.models import Level
from tests.factories import OrganizationFactory, UserFactory, make_member

pytestmark = pytest.mark.django_db


def assert_counters_exact():
    drift = counters.verify(["members."])
    assert drift.ok, drift.wrong


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def with_portal_user(member, username="worker"):
    user = UserFactory(username=username)
    member.user = user
    member.save(update_fields=["user"])
    return user


def start(member, to, by, side="sending", **kw):
    return transfers.request_transfer(
        member=member, to_organization=to, side=side, acting_user=by, **kw
    )


def value(org, key):
    return counters.values(org).get(key, 0)


@pytest.fixture
def member(tree, officers):
    return make_member(tree.union_a, acting_user=officers.a_admin)


@pytest.fixture
def township(tree):
    return OrganizationFactory(name="西溪街道总工会", level=Level.TOWNSHIP, parent=tree.xihu)


# --- The whole journey across two provinces ----------------------------------------------


def test_sending_union_starts_and_receiving_union_accepts_across_provinces(tree, officers, member):
    number, card = member.membership_number, member.card_number
    transfer = start(member, tree.union_c, officers.a_admin, reason="调动")
    assert transfer.status == TransferStatus.OPEN
    assert transfer.released_at is not None and transfer.accepted_at is None
    assert transfer.expires_at > timezone.now() + datetime.timedelta(days=29)
    member.refresh_from_db()
    assert member.organization == tree.union_a  # nothing moves before acceptance

    transfers.accept_transfer(transfer=transfer, acting_user=officers.c_admin)

    transfer.refresh_from_db()
    member.refresh_from_db()
    assert transfer.status == TransferStatus.COMPLETED and transfer.closed_at is not None
    assert member.organization == tree.union_c
    assert member.status == MemberStatus.ACTIVE
    assert member.membership_number == number
    assert member.card_number == card and member.card_is_valid
    assert_counters_exact()
    assert value(tree.union_a, "members.status.active") == 0
    assert value(tree.union_c, "members.status.active") == 1
    assert value(tree.union_a, "members.flow.transfer_out") == 1
    assert value(tree.union_c, "members.flow.transfer_in") == 1
    event = member.events.get(kind=EventKind.TRANSFERRED)
    assert (event.from_organization, event.to_organization) == (tree.union_a, tree.union_c)
    assert (event.from_status, event.to_status) == ("active", "active")
    assert event.transfer == transfer and event.actor == officers.c_admin
    assert set(
        AuditEntry.objects.filter(
            object_type="members.transfer", object_id=str(transfer.pk)
        ).values_list("action", flat=True)
    ) == {"transfer.requested", "transfer.accepted", "transfer.completed"}


def test_member_starts_in_portal_then_sending_releases_and_receiving_accepts(
    client, tree, officers, member
):
    user = with_portal_user(member)
    client.force_login(user)
    url = reverse("transfer-request", args=[tree.union_c.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "换工作", "new_employer": "深圳丙电子有限公司"})
    assert response.status_code == 302 and response["Location"] == reverse("transfer-list")
    transfer = Transfer.objects.get(member=member)
    assert transfer.initiated_by_side == "member" and transfer.initiated_by == user
    assert transfer.released_at is None and transfer.accepted_at is None
    listing = client.get(reverse("transfer-list"))
    assert listing.status_code == 200 and tree.union_c.name in listing.content.decode()

    client.force_login(officers.a_admin)
    response = client.post(reverse("admin:members_transfer_release", args=[transfer.pk]))
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.released_by == officers.a_admin and transfer.status == "open"

    response = api(officers.c_admin).post(f"/api/v1/transfers/{transfer.pk}/accept/")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    member.refresh_from_db()
    assert member.organization == tree.union_c
    assert member.employer == "深圳丙电子有限公司"
    assert_counters_exact()


def test_member_can_cancel_a_transfer_they_started_in_the_portal(client, tree, member):
    user = with_portal_user(member)
    transfer = start(member, tree.union_c, user, side="member")
    client.force_login(user)
    listing = client.get(reverse("transfer-list")).content.decode()
    assert reverse("transfer-cancel", args=[transfer.pk]) in listing
    response = client.post(reverse("transfer-cancel", args=[transfer.pk]))
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.CANCELLED and transfer.closed_at is not None


def test_another_user_cannot_cancel_a_members_transfer(client, tree, member):
    user = with_portal_user(member)
    transfer = start(member, tree.union_c, user, side="member")
    other = with_portal_user(make_member(tree.union_b), username="other")
    client.force_login(other)
    assert client.post(reverse("transfer-cancel", args=[transfer.pk])).status_code == 404
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.OPEN


def test_receiving_union_finds_the_worker_only_by_id_and_exact_name(client, tree, officers, member):
    assert (
        transfers.find_member_for_receiving(id_number=member.id_number, name=member.name + "x")
        is None
    )
    # Admin start form: a wrong name creates nothing and says so on the form.
    client.force_login(officers.c_admin)
    add_url = reverse("admin:members_transfer_add")
    assert client.get(add_url).status_code == 200
    form = {
        "mode": "receiving",
        "id_number": member.id_number,
        "name": "王某某",
        "own_union": tree.union_c.pk,
    }
    response = client.post(add_url, form)
    assert response.status_code == 200
    assert "id_number" in response.context["form"].errors
    # The API likewise.
    body = {**form, "side": "receiving", "to_organization": tree.union_c.pk}
    response = api(officers.c_admin).post("/api/v1/transfers/", body, format="json")
    assert response.status_code == 400 and "id_number" in response.json()
    assert not Transfer.objects.exists()

    response = client.post(add_url, {**form, "name": member.name})
    transfer = Transfer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:members_transfer_change", args=[transfer.pk])
    assert transfer.initiated_by_side == "receiving" and transfer.accepted_by == officers.c_admin
    assert transfer.released_at is None

    transfers.release_transfer(transfer=transfer, acting_user=officers.a_admin)
    member.refresh_from_db()
    assert member.organization == tree.union_c
    assert_counters_exact()


def test_malformed_id_number_is_reported_on_its_field(tree, officers):
    with pytest.raises(ValidationError) as error:
        transfers.find_member_for_receiving(id_number="123", name="张三")
    assert "id_number" in error.value.message_dict


def test_sending_admin_starts_from_the_admin_form_to_any_union_by_number_or_credit_code(
    client, tree, officers, member
):
    client.force_login(officers.a_admin)
    add_url = reverse("admin:members_transfer_add")
    form = {"mode": "sending", "member": member.pk, "target": str(tree.sz.pk)}
    response = client.post(add_url, form)  # a city federation is no target
    assert "target" in response.context["form"].errors
    assert not Transfer.objects.exists()
    response = client.post(add_url, {**form, "target": tree.union_b.uscc})
    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert transfer.to_organization == tree.union_b and transfer.released_by == officers.a_admin


def test_member_search_in_the_start_form_offers_only_own_members(client, tree, officers, member):
    theirs = make_member(tree.union_b)
    client.force_login(officers.a_admin)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "members", "model_name": "transfer", "field_name": "member", "term": ""},
    )
    assert response.status_code == 200
    ids = {int(row["id"]) for row in response.json()["results"]}
    assert ids == {member.pk} and theirs.pk not in ids


def test_sending_admin_cannot_pick_another_unions_member(client, tree, officers):
    theirs = make_member(tree.union_b)
    client.force_login(officers.a_admin)
    response = client.post(
        reverse("admin:members_transfer_add"),
        {"mode": "sending", "member": theirs.pk, "target": str(tree.union_c.pk)},
    )
    assert "member" in response.context["form"].errors
    response = api(officers.a_admin).post(
        "/api/v1/transfers/",
        {"side": "sending", "member": theirs.pk, "to_organization": tree.union_c.pk},
        format="json",
    )
    assert response.status_code == 400 and "member" in response.json()
    assert not Transfer.objects.exists()


def test_api_sending_side_creates_a_transfer(tree, officers, member):
    response = api(officers.a_admin).post(
        "/api/v1/transfers/",
        {"side": "sending", "member": member.pk, "to_organization": tree.union_c.pk},
        format="json",
    )
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "open" and data["released_at"] and not data["accepted_at"]
    assert member.name not in response.content.decode()  # masked


# --- Refusal, cancellation, permissions --------------------------------------------------


def test_refusal_needs_a_reason_and_either_side_may_refuse(client, tree, officers, member):
    transfer = start(member, tree.union_c, officers.a_admin)
    with pytest.raises(ValidationError) as error:
        transfers.refuse_transfer(
            transfer=transfer, side="receiving", acting_user=officers.c_admin, reason="  "
        )
    assert "reason" in error.value.message_dict
    response = api(officers.c_admin).post(
        f"/api/v1/transfers/{transfer.pk}/refuse/", {"side": "receiving"}, format="json"
    )
    assert response.status_code == 400 and "reason" in response.json()
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.OPEN

    client.force_login(officers.c_admin)
    refuse_url = reverse("admin:members_transfer_refuse", args=[transfer.pk])
    assert client.get(refuse_url).status_code == 200
    assert client.post(refuse_url, {"reason": ""}).status_code == 200  # form error
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.OPEN
    assert client.post(refuse_url, {"reason": "岗位已满"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REFUSED
    assert (transfer.refused_by_side, transfer.refusal_reason) == ("receiving", "岗位已满")

    # The sending side may refuse a transfer the receiving union started.
    second = start(member, tree.union_c, officers.c_admin, side="receiving")
    transfers.refuse_transfer(
        transfer=second, side="sending", acting_user=officers.a_admin, reason="会费未结清"
    )
    second.refresh_from_db()
    assert second.status == TransferStatus.REFUSED and second.refused_by_side == "sending"
    member.refresh_from_db()
    assert member.organization == tree.union_a
    assert_counters_exact()


def test_only_the_unions_admins_may_act_for_their_side(tree, officers, member):
    transfer = start(member, tree.union_c, officers.c_admin, side="receiving")
    for user in (officers.c_admin, officers.a_staff, officers.hz_admin):
        with pytest.raises(PermissionDenied):
            transfers.release_transfer(transfer=transfer, acting_user=user)
    assert api(officers.a_staff).post(f"/api/v1/transfers/{transfer.pk}/release/").status_code == (
        403
    )
    with pytest.raises(PermissionDenied):
        transfers.cancel_transfer(transfer=transfer, acting_user=officers.a_admin)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.OPEN and transfer.released_at is None
    with pytest.raises(PermissionDenied):
        start(member, tree.union_b, officers.b_admin)  # not the member's union
    with pytest.raises(PermissionDenied):
        start(member, tree.union_b, officers.a_admin, side="member")  # not the member


def test_second_open_transfer_is_refused_and_nothing_written(tree, officers, member):
    start(member, tree.union_c, officers.a_admin)
    with pytest.raises(ValidationError):
        start(member, tree.union_b, officers.a_admin)
    with pytest.raises(ValidationError):
        start(member, tree.union_b, officers.b_admin, side="receiving")
    assert Transfer.objects.count() == 1


def test_target_must_be_another_active_grassroots_union(tree, officers, member):
    for target in (tree.union_a, tree.sz, tree.group_a):
        with pytest.raises(ValidationError):
            start(member, target, officers.a_admin)
    assert not Transfer.objects.exists()


# --- Expiry ------------------------------------------------------------------------------


def test_expiry_by_the_action_and_by_the_nightly_task(tree, officers, member):
    other = make_member(tree.union_a)
    first = start(member, tree.union_c, officers.a_admin)
    second = start(other, tree.union_c, officers.a_admin)
    Transfer.objects.filter(pk=first.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    assert transfers.expire_transfers() == 1
    first.refresh_from_db()
    assert first.status == TransferStatus.EXPIRED and first.closed_at is not None
    assert AuditEntry.objects.filter(action="transfer.expired", object_id=str(first.pk)).exists()

    Transfer.objects.filter(pk=second.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    # Called as celery beat's worker would run it (not .delay(): touching the app's result
    # backend here would cache a disabled one for the real-worker tests in this thread).
    assert expire_transfers_task() == 1
    second.refresh_from_db()
    assert second.status == TransferStatus.EXPIRED
    assert expire_transfers_task() == 0


def test_acting_on_an_expired_transfer_is_refused_and_marks_it_expired(tree, officers, member):
    transfer = start(member, tree.union_c, officers.a_admin)
    Transfer.objects.filter(pk=transfer.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(ValidationError) as error:
        transfers.accept_transfer(transfer=transfer, acting_user=officers.c_admin)
    assert error.value.code == "expired"
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.EXPIRED
    member.refresh_from_db()
    assert member.organization == tree.union_a
    response = api(officers.c_admin).post(f"/api/v1/transfers/{transfer.pk}/accept/")
    assert response.status_code == 400
    # Expired, a new transfer may be started.
    assert start(member, tree.union_c, officers.a_admin).is_open


def test_acting_on_a_closed_transfer_is_refused(tree, officers, member):
    transfer = start(member, tree.union_c, officers.a_admin)
    transfers.accept_transfer(transfer=transfer, acting_user=officers.c_admin)
    with pytest.raises(ValidationError):
        transfers.refuse_transfer(
            transfer=transfer, side="receiving", acting_user=officers.c_admin, reason="x"
        )
    with pytest.raises(ValidationError):
        transfers.cancel_transfer(transfer=transfer, acting_user=officers.a_admin)


# --- Retained membership -----------------------------------------------------------------


def test_retained_membership_is_parked_and_leaves_with_acceptance_only(
    tree, officers, member, township
):
    retained = transfers.retain_membership(
        member=member, at_organization=township, acting_user=officers.a_admin, reason="离职"
    )
    assert retained.status == MemberStatus.RETAINED and retained.organization == township
    assert retained.card_is_valid
    event = retained.events.get(kind=EventKind.RETAINED)
    assert (event.from_organization, event.to_organization) == (tree.union_a, township)
    assert_counters_exact()
    assert value(tree.union_a, "members.status.active") == 0
    assert value(township, "members.status.retained") == 1

    user = with_portal_user(retained)
    transfer = start(retained, tree.union_c, user, side="member", new_employer="丙电子")
    assert transfer.released_at is not None and transfer.accepted_at is None
    transfers.accept_transfer(transfer=transfer, acting_user=officers.c_admin)
    retained.refresh_from_db()
    assert retained.status == MemberStatus.ACTIVE and retained.organization == tree.union_c
    assert retained.status_changed_on == timezone.localdate()
    event = retained.events.get(kind=EventKind.TRANSFERRED)
    assert (event.from_status, event.to_status) == ("retained", "active")
    assert_counters_exact()
    assert value(township, "members.status.retained") == 0
    assert value(tree.union_c, "members.status.active") == 1


def test_receiving_union_starting_for_a_retained_membership_waits_for_the_member(
    client, tree, officers, member, township
):
    transfers.retain_membership(
        member=member, at_organization=township, acting_user=officers.a_admin, reason="离职"
    )
    user = with_portal_user(member)
    found = transfers.find_member_for_receiving(id_number=member.id_number, name=member.name)
    transfer = start(found, tree.union_c, officers.c_admin, side="receiving")
    assert transfer.released_at and transfer.accepted_at and transfer.is_open
    client.force_login(user)
    listing = client.get(reverse("transfer-list")).content.decode()
    assert reverse("transfer-confirm", args=[transfer.pk]) in listing
    assert reverse("transfer-cancel", args=[transfer.pk]) not in listing  # not theirs
    response = client.post(reverse("transfer-confirm", args=[transfer.pk]))
    assert response.status_code == 302
    transfer.refresh_from_db()
    member.refresh_from_db()
    assert transfer.status == TransferStatus.COMPLETED
    assert member.organization == tree.union_c and member.status == MemberStatus.ACTIVE
    assert_counters_exact()


def test_retaining_is_refused_with_an_open_transfer_or_at_a_grassroots_union(
    tree, officers, member, township
):
    with pytest.raises(ValidationError) as error:
        transfers.retain_membership(
            member=member, at_organization=tree.union_b, acting_user=officers.a_admin, reason="x"
        )
    assert "at_organization" in error.value.message_dict
    with pytest.raises(ValidationError):
        transfers.retain_membership(
            member=member, at_organization=township, acting_user=officers.a_admin, reason=""
        )
    start(member, tree.union_c, officers.a_admin)
    with pytest.raises(ValidationError):
        transfers.retain_membership(
            member=member, at_organization=township, acting_user=officers.a_admin, reason="离职"
        )
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE and member.organization == tree.union_a
    assert_counters_exact()


def test_admin_retain_page_parks_a_member(client, tree, officers, member, township):
    client.force_login(officers.a_admin)
    url = reverse("admin:members_transfer_retain", args=[member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"keeper": str(township.pk), "reason": "离职"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.RETAINED
    client.force_login(officers.b_admin)
    assert client.get(url).status_code == 404


# --- Isolation ---------------------------------------------------------------------------


def test_both_unions_see_the_transfer_and_the_sibling_gets_404(client, tree, officers, member):
    transfer = start(member, tree.union_c, officers.a_admin)
    change_url = reverse("admin:members_transfer_change", args=[transfer.pk])
    detail_url = f"/api/v1/transfers/{transfer.pk}/"

    def check_visibility():
        for user in (officers.a_admin, officers.c_admin):
            client.force_login(user)
            assert client.get(change_url).status_code == 200
            assert api(user).get(detail_url).status_code == 200
            listing = client.get(reverse("admin:members_transfer_changelist"))
            assert member.membership_number in listing.content.decode()
        client.force_login(officers.b_admin)
        assert client.get(change_url).status_code == 404
        assert client.post(
            reverse("admin:members_transfer_accept", args=[transfer.pk])
        ).status_code == (404)
        assert api(officers.b_admin).get(detail_url).status_code == 404
        assert api(officers.b_admin).post(detail_url + "cancel/").status_code == 404

    check_visibility()
    transfers.accept_transfer(transfer=transfer, acting_user=officers.c_admin)
    check_visibility()


@pytest.mark.parametrize("who", ["zj_viewer", "zj_admin", "hz_admin", "gd_admin", "b_admin"])
def test_higher_levels_and_siblings_see_no_transfers(tree, officers, member, who):
    transfer = start(member, tree.union_c, officers.a_admin)
    client = api(getattr(officers, who))
    response = client.get("/api/v1/transfers/")
    assert response.status_code == 200 and response.json()["count"] == 0
    assert client.get(f"/api/v1/transfers/{transfer.pk}/").status_code == 404


def test_admin_shows_only_the_buttons_the_user_may_press(client, tree, officers, member):
    transfer = start(member, tree.union_c, officers.a_admin)
    change_url = reverse("admin:members_transfer_change", args=[transfer.pk])
    client.force_login(officers.c_admin)
    page = client.get(change_url)
    assert page.context["transfer_steps"] == {"accept", "refuse_receiving"}
    client.force_login(officers.a_admin)
    page = client.get(change_url)
    assert page.context["transfer_steps"] == {"refuse_sending", "cancel"}
    assert member.masked_name in page.content.decode()


# --- Portal edge cases, notifications, schedule ------------------------------------------


def test_portal_pages_for_a_user_without_membership_are_friendly(client, tree):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("transfer-list")).status_code == 200
    url = reverse("transfer-request", args=[tree.union_c.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "x"}).status_code == 200
    assert not Transfer.objects.exists()


def test_portal_refuses_a_target_that_is_not_a_grassroots_union(client, tree, member):
    client.force_login(with_portal_user(member))
    url = reverse("transfer-request", args=[tree.sz.pk])
    response = client.post(url, {"reason": "x"})
    assert response.status_code == 200 and response.context["problem"]
    assert not Transfer.objects.exists()
    assert client.get(reverse("transfer-request", args=[999999])).status_code == 404


def test_portal_login_is_required(client, tree):
    response = client.get(reverse("transfer-list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_notifications_reach_the_member_and_the_admins_who_act_next(
    tree, officers, member, django_capture_on_commit_callbacks
):
    user = with_portal_user(member)
    with django_capture_on_commit_callbacks(execute=True):
        transfer = start(member, tree.union_c, officers.a_admin)
    requested = Notification.objects.filter(kind="transfer.requested")
    assert set(requested.values_list("recipient_id", flat=True)) == {user.pk, officers.c_admin.pk}
    assert member.name not in str(list(requested.values_list("context", flat=True)))
    with django_capture_on_commit_callbacks(execute=True):
        transfers.accept_transfer(transfer=transfer, acting_user=officers.c_admin)
    completed = Notification.objects.filter(kind="transfer.completed")
    assert set(completed.values_list("recipient_id", flat=True)) == {user.pk, officers.a_admin.pk}
    assert Member.objects.get(pk=member.pk).organization == tree.union_c


def test_nightly_expiry_is_scheduled_in_celery_beat():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="daily transfer expiry")
    assert task.task == "members.tasks.transfers.expire_transfers_task" and task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("3", "10")
    assert task.crontab.timezone.key == "Asia/Shanghai"


def test_member_sees_the_refusal_reason_and_steps_in_the_portal(client, tree, officers, member):
    user = with_portal_user(member)
    transfer = start(member, tree.union_c, user, side="member")
    transfers.release_transfer(transfer=transfer, acting_user=officers.a_admin)
    transfers.refuse_transfer(
        transfer=transfer, side="receiving", acting_user=officers.c_admin, reason="岗位已满"
    )
    client.force_login(user)
    response = client.get(reverse("transfer-list"))
    page = response.content.decode()
    assert response.status_code == 200 and "岗位已满" in page
    assert reverse("transfer-cancel", args=[transfer.pk]) not in page  # closed


def test_start_form_preselects_a_member_from_the_link(client, tree, officers, member):
    client.force_login(officers.a_admin)
    response = client.get(reverse("admin:members_transfer_add"), {"member": member.pk})
    assert response.status_code == 200
    assert response.context["form"]["member"].value() == str(member.pk)
