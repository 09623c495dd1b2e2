"""The audit log of personal-data reads: who, what, when, why, result; append-only in
PostgreSQL (a trigger refuses UPDATE and DELETE)."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse
from rest_framework.test import APIClient

from core.audit import record_audit
from core.models import AuditEntry, AuditResult
from members.actions import records as member_actions
from members.models import Member
from services.actions import aid
from services.actions import menu as menu_actions
from services.actions import requests as request_actions
from tests.factories import UserFactory, make_member

pytestmark = pytest.mark.django_db

AID_DATA = {
    "tier": "relative",
    "reason": "unemployment",
    "household_size": 3,
    "household_monthly_income": Decimal("1500.00"),
    "situation": "家中有病人。",
    "amount_requested": Decimal("1000.00"),
}


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


# --- Append-only -------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_change_or_delete_an_audit_entry(tree):
    actor = UserFactory()
    entry = record_audit(actor=actor, action="test.read", obj=tree.union_a, reason="核实")
    for statement in (
        "UPDATE organizations_auditentry SET action = 'x' WHERE id = %s",
        "UPDATE organizations_auditentry SET reason = '', actor_id = NULL WHERE id = %s",
        "DELETE FROM organizations_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(result=AuditResult.REFUSED)
    entry.refresh_from_db()
    assert (entry.action, entry.reason, entry.actor_id) == ("test.read", "核实", actor.pk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_removing_the_actor_keeps_the_entry_unlinked(tree):
    actor = UserFactory()
    entry = record_audit(actor=actor, action="test.read", obj=tree.union_a)
    actor.delete()
    entry.refresh_from_db()
    assert entry.actor_id is None and entry.action == "test.read"


# --- What is logged ----------------------------------------------------------------------


def test_revealing_a_full_id_number_is_logged_with_reason_and_result(tree, officers):
    member = make_member(tree.union_a)
    value = member_actions.reveal(
        member=member, field="id_number", acting_user=officers.a_admin, reason="核实身份"
    )
    assert value == member.id_number
    [entry] = entries("member.revealed_id_number")
    assert (entry.actor, entry.object_id, entry.organization) == (
        officers.a_admin,
        str(member.pk),
        tree.union_a,
    )
    assert (entry.reason, entry.result) == ("核实身份", AuditResult.DONE)
    assert entry.at is not None


def test_a_refused_reveal_is_logged_as_refused(tree, officers):
    member = make_member(tree.union_a)
    with pytest.raises(PermissionDenied):
        member_actions.reveal(member=member, field="phone", acting_user=officers.a_staff)
    [entry] = entries("member.revealed_phone")
    assert (entry.actor, entry.result) == (officers.a_staff, AuditResult.REFUSED)


def test_reveal_through_the_api_and_admin_is_logged(tree, officers, client):
    member = make_member(tree.union_a)
    response = api(officers.a_admin).post(
        f"/api/v1/members/{member.pk}/reveal/", {"field": "phone", "reason": "回访"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    client.force_login(officers.a_admin)
    url = reverse("admin:members_member_reveal", args=[member.pk])
    assert client.post(url, {"field": "id_number", "reason": "补办会员卡"}).status_code == 200
    assert [e.reason for e in entries("member.revealed_phone")] == ["回访"]
    assert [e.reason for e in entries("member.revealed_id_number")] == ["补办会员卡"]


def test_an_export_is_logged_with_its_size(tree, officers, client):
    for _ in range(3):
        make_member(tree.union_a)
    client.force_login(officers.a_admin)
    response = client.get(reverse("admin:members_member_export") + "?_format=csv")
    assert response.status_code == 200
    [entry] = entries("member.exported")
    assert entry.actor == officers.a_admin
    assert entry.changes["count"] == Member.objects.filter(organization=tree.union_a).count()


def test_every_look_at_an_aid_case_is_logged(tree, make_officer, client):
    a_aid = make_officer("a_aid", tree.union_a, "aid")
    case = aid.open_aid_case(member=make_member(tree.union_a), data=AID_DATA, acting_user=a_aid)
    client.force_login(a_aid)
    url = reverse("admin:services_aidcase_change", args=[case.pk])
    assert client.get(url).status_code == 200
    assert api(a_aid).get(f"/api/v1/aid-cases/{case.pk}/").status_code == 200
    logged = entries("aid_case.viewed")
    assert [(e.actor, e.object_id) for e in logged] == [(a_aid, str(case.pk))] * 2
    # Out of the aid area: 404 and nothing read, so nothing logged as read.
    outsider = make_officer("b_aid", tree.union_b, "aid")
    assert api(outsider).get(f"/api/v1/aid-cases/{case.pk}/").status_code == 404
    assert len(entries("aid_case.viewed")) == 2


def test_every_look_at_a_legal_aid_request_is_logged(tree, officers, make_officer, client):
    xihu_admin = make_officer("xihu_admin", tree.xihu)
    service = menu_actions.create_service(
        organization=tree.xihu,
        data={"title": "法律援助", "category": "legal", "description": "劳动仲裁咨询"},
        acting_user=xihu_admin,
    )
    service = menu_actions.publish_service(service=service, acting_user=xihu_admin)
    member = make_member(tree.union_a)
    member.user = UserFactory()
    member.save(update_fields=["user"])
    req = request_actions.order_service(service=service, member=member, acting_user=member.user)
    client.force_login(xihu_admin)
    assert (
        client.get(reverse("admin:services_servicerequest_change", args=[req.pk])).status_code
        == 200
    )
    assert api(xihu_admin).get(f"/api/v1/service-requests/{req.pk}/").status_code == 200
    assert api(xihu_admin).get(f"/api/v1/service-requests/{req.pk}/notes/").status_code == 200
    assert len(entries("service_request.viewed")) == 2
    assert [e.result for e in entries("service_request.notes_viewed")] == [AuditResult.DONE]
    # The member union's officer sees the request exists, never its notes: refused, logged.
    response = api(officers.a_admin).get(f"/api/v1/service-requests/{req.pk}/notes/")
    assert response.status_code == 404
    assert entries("service_request.notes_viewed")[-1].result == AuditResult.REFUSED


def test_an_ordinary_request_is_not_logged_as_a_sensitive_read(tree, officers):
    service = menu_actions.create_service(
        organization=tree.union_a,
        data={"title": "体检", "category": "inclusive", "description": "年度体检"},
        acting_user=officers.a_admin,
    )
    service = menu_actions.publish_service(service=service, acting_user=officers.a_admin)
    member = make_member(tree.union_a)
    member.user = get_user_model().objects.create_user("worker1")
    member.save(update_fields=["user"])
    req = request_actions.order_service(service=service, member=member, acting_user=member.user)
    assert api(officers.a_admin).get(f"/api/v1/service-requests/{req.pk}/").status_code == 200
    assert entries("service_request.viewed") == []


# --- Who reads the details of an entry ---------------------------------------------------


def audit_pages(client, user, entry) -> list[str]:
    client.force_login(user)
    changelist = client.get(reverse("admin:core_auditentry_changelist"))
    change = client.get(reverse("admin:core_auditentry_change", args=[entry.pk]))
    assert changelist.status_code == change.status_code == 200
    return [changelist.text, change.text]


def test_the_reason_of_an_entry_is_read_only_where_personal_data_is(
    tree, officers, make_officer, client
):
    """A reveal's reason is typed by the officer and may name the person: union A's officers
    read it; the county's administrator, who sees the entry but no personal data, does not."""
    member = make_member(tree.union_a)
    member_actions.reveal(
        member=member, field="phone", acting_user=officers.a_admin, reason="回访王小明家属"
    )
    [entry] = entries("member.revealed_phone")
    for page in audit_pages(client, officers.a_admin, entry):
        assert "回访王小明家属" in page
    xihu_admin = make_officer("xihu_admin", tree.xihu)
    for page in audit_pages(client, xihu_admin, entry):
        assert "回访王小明家属" not in page
        assert "member.revealed_phone" in page


def test_the_changes_of_an_aid_entry_are_read_by_aid_officers_only(
    tree, officers, make_officer, client
):
    """An aid case's entries carry its figures: an administrator of its union who also
    holds the aid role there reads them (the audit log is the administrators'); the union's
    administrator without the aid role and the county's see which fields changed."""
    from organizations.actions import grant_role

    a_aid = make_officer("a_aid", tree.union_a, "aid")
    chair = make_officer("a_chair", tree.union_a, "admin")
    grant_role(user=chair, organization=tree.union_a, role="aid")
    case = aid.open_aid_case(member=make_member(tree.union_a), data=AID_DATA, acting_user=a_aid)
    entry = AuditEntry.objects.filter(object_id=str(case.pk), changes__has_key="year").get()
    year = f"year&quot;: {case.year}"
    [change] = audit_pages(client, chair, entry)[1:]
    assert year in change
    for reader in (officers.a_admin, make_officer("xihu_admin", tree.xihu)):
        [change] = audit_pages(client, reader, entry)[1:]
        assert year not in change and "by_member, year" in change
