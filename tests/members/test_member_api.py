"""The member API: scoped lists, masked identifiers, audited reveal, enrolment by URL."""

import pytest
from rest_framework.test import APIClient

from core.models import AuditEntry
from members.models import Member
from organizations import counters
from tests.factories import make_member, person_data

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_admin_lists_own_members_with_masked_identifiers(tree, officers):
    mine = make_member(tree.union_a)
    make_member(tree.union_b)
    response = api(officers.a_admin).get("/api/v1/members/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [mine.pk]
    body = response.content.decode()
    assert mine.id_number not in body and mine.phone not in body
    assert rows[0]["id_masked"] == mine.id_masked


@pytest.mark.parametrize("who", ["b_admin", "zj_admin", "zj_viewer", "national_admin", "c_admin"])
def test_others_get_404_and_an_empty_list(tree, officers, who):
    member = make_member(tree.union_a)
    client = api(getattr(officers, who))
    assert client.get(f"/api/v1/members/{member.pk}/").status_code == 404
    assert (
        client.post(
            f"/api/v1/members/{member.pk}/reveal/", {"field": "phone", "reason": "x"}
        ).status_code
        == 404
    )
    assert client.get("/api/v1/members/").json()["results"] == []


def test_enrol_through_the_api_in_the_union_named_by_the_url(tree, officers):
    raw = person_data()
    client = api(officers.a_admin)
    response = client.post(f"/api/v1/members/?organization={tree.union_a.pk}", raw, format="json")
    assert response.status_code == 201, response.json()
    assert Member.objects.get().organization == tree.union_a
    assert counters.verify(["members."]).ok
    # Another union's id in the URL is not found, whatever the body says.
    other = client.post(
        f"/api/v1/members/?organization={tree.union_b.pk}", person_data(), format="json"
    )
    assert other.status_code == 404
    assert Member.objects.count() == 1


def test_bad_id_number_gets_a_400_on_the_field_and_nothing_is_written(tree, officers):
    raw = person_data()
    raw["id_number"] = raw["id_number"][:10] + "9999" + raw["id_number"][14:]
    response = api(officers.a_admin).post(
        f"/api/v1/members/?organization={tree.union_a.pk}", raw, format="json"
    )
    assert response.status_code == 400
    assert "id_number" in response.json()
    assert not Member.objects.exists()


def test_reveal_is_audited_and_not_cached(tree, officers):
    member = make_member(tree.union_a)
    response = api(officers.a_admin).post(
        f"/api/v1/members/{member.pk}/reveal/", {"field": "id_number", "reason": "核对"}
    )
    assert response.status_code == 200
    assert response.json()["value"] == member.id_number
    assert "no-store" in response["Cache-Control"]
    assert AuditEntry.objects.filter(action="member.revealed_id_number").count() == 1


def test_staff_reads_but_cannot_enrol_or_reveal(tree, officers):
    member = make_member(tree.union_a)
    client = api(officers.a_staff)
    assert client.get(f"/api/v1/members/{member.pk}/").status_code == 200
    assert (
        client.post(
            f"/api/v1/members/{member.pk}/reveal/", {"field": "phone", "reason": "x"}
        ).status_code
        == 403
    )
    response = client.post(
        f"/api/v1/members/?organization={tree.union_a.pk}", person_data(), format="json"
    )
    assert response.status_code == 403
    assert Member.objects.count() == 1


def test_status_change_and_history(tree, officers):
    member = make_member(tree.union_a)
    client = api(officers.a_admin)
    response = client.post(
        f"/api/v1/members/{member.pk}/status/", {"status": "deceased", "reason": "病故"}
    )
    assert response.status_code == 200 and response.json()["status"] == "deceased"
    events = client.get(f"/api/v1/members/{member.pk}/events/").json()
    assert [e["kind"] for e in events] == ["joined", "status_changed"]
    again = client.post(
        f"/api/v1/members/{member.pk}/status/", {"status": "withdrawn", "reason": "x"}
    )
    assert again.status_code == 400


def test_correction_keeps_unchanged_identifiers(tree, officers):
    member = make_member(tree.union_a)
    number = member.id_number
    response = api(officers.a_admin).patch(
        f"/api/v1/members/{member.pk}/", {"employment_type": "ride_hailing"}, format="json"
    )
    assert response.status_code == 200, response.json()
    member.refresh_from_db()
    assert member.employment_type == "ride_hailing" and member.id_number == number
    assert counters.verify(["members."]).ok
