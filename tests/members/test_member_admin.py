"""The member register in the admin: add, correct, change status, reveal, isolation."""

import pytest
from django.urls import reverse

from core.models import AuditEntry
from members.models import Member
from organizations import counters
from tests.factories import make_member, person_data

pytestmark = pytest.mark.django_db


def add_url():
    return reverse("admin:members_member_add")


def change_url(member):
    return reverse("admin:members_member_change", args=[member.pk])


def test_admin_adds_a_member_through_the_form(client, tree, officers):
    client.force_login(officers.a_admin)
    raw = person_data()
    response = client.post(add_url(), {**raw, "organization": tree.union_a.pk, "join_date": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    member = Member.objects.get()
    assert member.organization == tree.union_a
    assert member.id_number == raw["id_number"]
    assert counters.verify(["members."]).ok


def test_bad_id_number_is_shown_next_to_the_field_and_nothing_is_written(client, tree, officers):
    client.force_login(officers.a_admin)
    raw = person_data()
    raw["id_number"] = raw["id_number"][:-1] + ("1" if raw["id_number"][-1] != "1" else "2")
    response = client.post(add_url(), {**raw, "organization": tree.union_a.pk})
    assert response.status_code == 200
    assert "id_number" in response.context["adminform"].form.errors
    # What was typed is kept.
    assert raw["employer"] in response.content.decode()
    assert not Member.objects.exists()


def test_sibling_union_is_not_offered_and_a_forged_post_is_refused(client, tree, officers):
    client.force_login(officers.a_admin)
    response = client.post(add_url(), {**person_data(), "organization": tree.union_b.pk})
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not Member.objects.exists()


def test_change_form_keeps_id_masked_and_corrects_the_employer(client, tree, officers):
    member = make_member(tree.union_a)
    client.force_login(officers.a_admin)
    page = client.get(change_url(member)).content.decode()
    assert member.id_number not in page and member.phone not in page
    assert member.id_masked in page
    response = client.post(
        change_url(member),
        {
            "name": member.name,
            "id_number": "",
            "phone": "",
            "ethnicity": "01",
            "education": "",
            "employer": "新单位",
            "job": "",
            "employment_type": "courier",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.employer == "新单位" and member.employment_type == "courier"
    assert len(member.id_number) == 18
    assert counters.verify(["members."]).ok


def test_status_change_view_records_history(client, tree, officers):
    member = make_member(tree.union_a)
    client.force_login(officers.a_admin)
    url = reverse("admin:members_member_status", args=[member.pk])
    assert client.post(url, {"status": "withdrawn", "reason": ""}).status_code == 200
    response = client.post(url, {"status": "withdrawn", "reason": "本人申请"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == "withdrawn"
    assert member.events.last().reason == "本人申请"


def test_reveal_shows_the_full_number_once_and_audits_it(client, tree, officers):
    member = make_member(tree.union_a)
    client.force_login(officers.a_admin)
    url = reverse("admin:members_member_reveal", args=[member.pk])
    response = client.post(url, {"field": "id_number", "reason": "核对身份"})
    assert member.id_number in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert AuditEntry.objects.filter(action="member.revealed_id_number").count() == 1


def test_staff_cannot_reveal(client, tree, officers):
    member = make_member(tree.union_a)
    client.force_login(officers.a_staff)
    url = reverse("admin:members_member_reveal", args=[member.pk])
    response = client.post(url, {"field": "id_number", "reason": "x"})
    assert member.id_number not in response.content.decode()
    # The attempt is in the audit log, as refused.
    [entry] = AuditEntry.objects.filter(action="member.revealed_id_number")
    assert (entry.actor, entry.result) == (officers.a_staff, "refused")


@pytest.mark.parametrize("who", ["b_admin", "zj_admin", "zj_viewer", "hz_admin", "c_admin"])
def test_others_get_404_for_a_member(client, tree, officers, who):
    member = make_member(tree.union_a)
    client.force_login(getattr(officers, who))
    for url in (
        change_url(member),
        reverse("admin:members_member_status", args=[member.pk]),
        reverse("admin:members_member_reveal", args=[member.pk]),
    ):
        response = client.get(url, follow=True)
        assert response.status_code in (404, 200)
        assert member.name not in response.content.decode()
        assert member.id_masked not in response.content.decode()


def test_search_by_full_id_number_uses_the_hash(client, tree, officers):
    member = make_member(tree.union_a)
    make_member(tree.union_a)
    client.force_login(officers.a_admin)
    response = client.get(reverse("admin:members_member_changelist"), {"q": member.id_number})
    assert list(response.context["cl"].result_list) == [member]
