"""Handing a concern over (issue 22, item 5): only to sensible unions, and a union outside
the member's own line reads it without the member's identity unless the member agreed.

Union A's member raises the concern. Its line: union A, 西湖区, 杭州市, 浙江省, the national
federation, and union A's national industry union. Union B (A's sibling) is in the same
province but outside that line; union C is in another province.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from notifications.models import Notification
from organizations import actions as org_actions
from organizations.models import Level, Organization
from services.actions import voice
from services.models import Concern
from services.selectors.voice import hand_over_targets, member_label
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

ANONYMOUS = "Anonymous worker"


@pytest.fixture
def industry(tree):
    """A national industry union (a tree of its own) that union A belongs to."""
    union = OrganizationFactory(
        name="中国机械冶金建材工会", level=Level.INDUSTRY, parent=tree.national
    )
    org_actions.update_organization(organization=tree.union_a, data={"industry": union})
    return Organization.objects.get(pk=union.pk)


@pytest.fixture
def b_staff(tree, make_officer):
    return make_officer("b_staff", tree.union_b, "staff")


def raise_for(member, **overrides):
    data = {"category": "wages", "title": "加班费未发", "text": "三月加班费未发。", **overrides}
    return voice.raise_concern(member=member, data=data)


def hand_over(concern, to, by, capture):
    with capture(execute=True):
        return voice.hand_over_concern(
            concern=concern, to_organization=to, reason="用工单位在乙公司", acting_user=by
        )


def fresh(concern) -> Concern:
    return Concern.objects.select_related("member", "origin", "organization").get(pk=concern.pk)


def told(user) -> list[str]:
    notes = Notification.objects.filter(recipient=user, kind="services.voice.handed_over")
    return [n.context["member"] for n in notes]


def api_names(user) -> list[str]:
    client = APIClient()
    client.force_authenticate(user)
    return [r["member_name"] for r in client.get("/api/v1/concerns/").json()["results"]]


# --- Where a concern may go ------------------------------------------------------------


def test_targets_are_the_province_the_unions_above_and_the_members_own_line(
    tree, members, industry
):
    concern = fresh(raise_for(members.a))
    targets = set(hand_over_targets(concern).values_list("pk", flat=True))

    assert {tree.national.pk, tree.zj.pk, tree.hz.pk, tree.xihu.pk, tree.union_b.pk} <= targets
    assert industry.pk in targets  # the member's own industry union, in a tree of its own
    assert tree.union_a.pk not in targets  # it handles the concern already
    assert not {tree.gd.pk, tree.sz.pk, tree.union_c.pk} & targets  # another province


def test_a_concern_cannot_be_handed_to_a_union_of_another_province(
    tree, members, officers, django_capture_on_commit_callbacks
):
    concern = raise_for(members.a)
    with pytest.raises(ValidationError) as error:
        hand_over(concern, tree.union_c, officers.a_staff, django_capture_on_commit_callbacks)
    assert "to_organization" in error.value.message_dict
    concern = fresh(concern)
    assert concern.organization == tree.union_a
    assert list(concern.steps.values_list("kind", flat=True)) == ["raised"]


def test_the_api_refuses_a_union_outside_the_targets(tree, members, officers):
    concern = raise_for(members.a)
    client = APIClient()
    client.force_authenticate(officers.a_staff)
    response = client.post(
        f"/api/v1/concerns/{concern.pk}/hand-over/",
        {"to_organization": tree.union_c.pk, "reason": "x"},
    )
    assert response.status_code == 400 and "to_organization" in response.json()
    assert fresh(concern).organization == tree.union_a


def test_the_admin_chooser_and_form_offer_only_the_targets(tree, members, officers, login):
    concern = raise_for(members.a)
    client = login(officers.a_staff)
    chooser = reverse("admin:services_concern_organizations")

    def found(term):
        answer = client.get(chooser, {"concern": concern.pk, "term": term})
        return [r["text"] for r in answer.json()["results"]]

    assert found("乙物流") == [tree.union_b.name]
    assert found("丙电子") == []  # union C exists, in another province
    form = client.get(reverse("admin:services_concern_hand_over", args=[concern.pk]))
    assert f"{chooser}?concern={concern.pk}" in form.text
    # Another union's concern is not found through the chooser either.
    other = raise_for(members.c)
    assert client.get(chooser, {"concern": other.pk, "term": "丙"}).status_code == 404

    posted = client.post(
        reverse("admin:services_concern_hand_over", args=[concern.pk]),
        {"to_organization": tree.union_c.pk, "reason": "x"},
    )
    assert posted.status_code == 200  # the form again, with the error
    assert "to_organization" in posted.context["form"].errors
    assert fresh(concern).organization == tree.union_a


# --- Who then sees the member ----------------------------------------------------------


def test_a_union_outside_the_members_line_reads_the_concern_anonymously(
    tree, members, officers, b_staff, make_officer, django_capture_on_commit_callbacks
):
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")
    concern = raise_for(members.a)
    hand_over(concern, tree.union_b, officers.a_staff, django_capture_on_commit_callbacks)
    concern = fresh(concern)

    assert member_label(concern, b_staff) == ANONYMOUS
    assert api_names(b_staff) == [ANONYMOUS]
    assert told(b_staff) == [ANONYMOUS]
    # The member's own line still sees them as before.
    assert member_label(concern, officers.a_staff) == members.a.name
    assert member_label(concern, xihu_staff) == members.a.masked_name


def test_a_member_who_agreed_is_named_masked_to_the_other_union(
    tree, members, officers, b_staff, django_capture_on_commit_callbacks
):
    concern = raise_for(members.a, share_name_outside=True)
    hand_over(concern, tree.union_b, officers.a_staff, django_capture_on_commit_callbacks)
    concern = fresh(concern)

    assert concern.share_name_outside
    assert member_label(concern, b_staff) == members.a.masked_name != members.a.name
    assert api_names(b_staff) == [members.a.masked_name]
    assert told(b_staff) == [members.a.masked_name]


def test_hiding_the_name_wins_over_sharing_it(
    tree, members, officers, b_staff, django_capture_on_commit_callbacks
):
    concern = raise_for(members.a, hide_name=True, share_name_outside=True)
    hand_over(concern, tree.union_b, officers.a_staff, django_capture_on_commit_callbacks)
    assert member_label(fresh(concern), b_staff) == ANONYMOUS


def test_a_union_in_the_members_line_is_named_masked_as_before(
    tree, members, officers, industry, make_officer, django_capture_on_commit_callbacks
):
    industry_staff = make_officer("industry_staff", industry, "staff")
    concern = raise_for(members.a)
    hand_over(concern, industry, officers.a_staff, django_capture_on_commit_callbacks)
    concern = fresh(concern)

    assert concern.organization == industry
    assert member_label(concern, industry_staff) == members.a.masked_name
    assert told(industry_staff) == [members.a.masked_name]


def test_the_member_agrees_in_the_portal(members, login):
    client = login(members.a)
    page = client.get(reverse("voice-new"))
    assert "Show my name to other unions" in page.text
    client.post(
        reverse("voice-new"),
        {"category": "wages", "title": "工资", "text": "未发。", "share_name_outside": "on"},
    )
    concern = Concern.objects.get()
    assert concern.share_name_outside and not concern.hide_name
    detail = client.get(reverse("voice-detail", args=[concern.pk]))
    assert "and to other unions it is handed to" in detail.text
