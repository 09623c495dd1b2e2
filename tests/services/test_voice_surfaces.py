"""Worker voice through the portal, the admin and the API: isolation, name hiding, steps."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from organizations.models import Level
from services.actions import voice
from services.models import Concern, ConcernStatus, ConcernStepKind
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def xihu_staff(tree, make_officer):
    return make_officer("xihu_staff", tree.xihu, "staff")


@pytest.fixture
def industry(tree):
    return OrganizationFactory(name="浙江省机械冶金工会", level=Level.INDUSTRY, parent=tree.zj)


def raise_for(member, **overrides):
    data = {"category": "wages", "title": "加班费未发", "text": "三月加班费未发。", **overrides}
    return voice.raise_concern(member=member, data=data)


def escalate_once(concern):
    voice.escalate_overdue_concerns(now=concern.due_at + datetime.timedelta(minutes=1))
    concern.refresh_from_db()
    return concern


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Portal ------------------------------------------------------------------------------


def test_member_raises_a_concern_with_an_attachment_in_the_portal(tree, members, login):
    client = login(members.a)
    page = client.get(reverse("voice-new"))
    assert page.status_code == 200 and "Hide my name" in page.text

    response = client.post(
        reverse("voice-new"),
        {
            "category": "safety",
            "title": "车间通风差",
            "text": "夏天车间温度超过38度。",
            "hide_name": "on",
            "attachment": SimpleUploadedFile("现场照片.png", PNG),
        },
    )

    concern = Concern.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "voice-detail", args=[concern.pk]
    )
    assert concern.hide_name and concern.member == members.a
    detail = client.get(response.url)
    assert tree.union_a.name in detail.text and "车间通风差" in detail.text
    download = client.get(reverse("voice-attachment", args=[concern.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert "现场照片" not in download["Content-Disposition"]
    concern.attachment.delete(save=False)


def test_portal_shows_a_wrong_attachment_next_to_the_field(members, login):
    response = login(members.a).post(
        reverse("voice-new"),
        {
            "category": "wages",
            "title": "x",
            "text": "y",
            "attachment": SimpleUploadedFile("pay.pdf", PNG),
        },
    )
    assert response.status_code == 200
    assert "not a PDF file" in response.text
    assert not Concern.objects.exists()


def test_other_members_concerns_do_not_exist_in_the_portal(members, officers, login):
    concern = raise_for(members.a)
    voice.reply_to_concern(concern=concern, text="好", acting_user=officers.a_staff)
    client = login(members.a2)
    for name in ("voice-detail", "voice-attachment"):
        assert client.get(reverse(name, args=[concern.pk])).status_code == 404
    for name in ("voice-rate", "voice-reopen"):
        assert (
            client.post(reverse(name, args=[concern.pk]), {"rating": 1, "reason": "x"}).status_code
            == 404
        )
    assert "加班费未发" not in client.get(reverse("voice-list")).text
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.ANSWERED and concern.rating is None


def test_member_sees_the_escalation_and_rates_the_answer_from_above(
    tree, members, login, xihu_staff
):
    concern = escalate_once(raise_for(members.a))
    voice.reply_to_concern(concern=concern, text="区总工会已协调补发。", acting_user=xihu_staff)
    client = login(members.a)

    page = client.get(reverse("voice-detail", args=[concern.pk]))
    assert f"{tree.union_a.name} → {tree.xihu.name}" in page.text
    assert "区总工会已协调补发。" in page.text and "Rate the answer" in page.text

    client.post(reverse("voice-rate", args=[concern.pk]), {"rating": "4", "comment": "及时"})
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.CLOSED and concern.rating == 4


def test_member_reopens_in_the_portal(members, officers, login):
    concern = raise_for(members.a)
    voice.reply_to_concern(concern=concern, text="请找人事。", acting_user=officers.a_staff)
    login(members.a).post(reverse("voice-reopen", args=[concern.pk]), {"reason": "人事不理"})
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.OPEN
    assert concern.steps.last().kind == ConcernStepKind.REOPENED


def test_portal_pages_say_what_to_do_when_empty_or_not_a_member(members, officers, login):
    page = login(members.a).get(reverse("voice-list"))
    assert "You have not raised any concerns." in page.text
    assert reverse("voice-new") in page.text
    not_member = login(officers.a_staff).get(reverse("voice-new"))
    assert "not a union member" in not_member.text
    assert not_member.status_code == 200


# --- Admin -------------------------------------------------------------------------------


def test_admin_names_the_member_for_their_union_and_hides_it_above(
    tree, members, officers, login, xihu_staff
):
    concern = raise_for(members.a, hide_name=True)
    changelist = reverse("admin:services_concern_changelist")
    change = reverse("admin:services_concern_change", args=[concern.pk])

    own = login(officers.a_staff)
    assert members.a.name in own.get(changelist).text
    assert members.a.name in own.get(change).text

    above = login(xihu_staff)
    for url in (changelist, change):
        text = above.get(url).text
        assert "Anonymous worker" in text
        assert members.a.name not in text and members.a.masked_name not in text


def test_admin_sibling_union_gets_404_everywhere(members, officers, login):
    concern = raise_for(members.a)
    client = login(officers.b_admin)
    assert "加班费未发" not in client.get(reverse("admin:services_concern_changelist")).text
    for name in ("change", "reply", "grade", "hand_over", "close", "attachment"):
        url = reverse(f"admin:services_concern_{name}", args=[concern.pk])
        assert client.get(url).status_code == 404, name
    response = client.post(
        reverse("admin:services_concern_reply", args=[concern.pk]), {"text": "x"}
    )
    assert response.status_code == 404
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.OPEN


def test_admin_reply_grade_and_close_buttons(members, officers, login):
    concern = raise_for(members.a)
    client = login(officers.a_staff)
    page = client.get(reverse("admin:services_concern_change", args=[concern.pk])).text
    for name in ("reply", "grade", "hand_over", "close"):
        assert reverse(f"admin:services_concern_{name}", args=[concern.pk]) in page

    client.post(reverse("admin:services_concern_grade", args=[concern.pk]), {"grade": "difficult"})
    empty = client.post(reverse("admin:services_concern_reply", args=[concern.pk]), {"text": ""})
    assert empty.status_code == 200  # the form again, with the error
    client.post(reverse("admin:services_concern_reply", args=[concern.pk]), {"text": "已处理"})
    client.post(reverse("admin:services_concern_close", args=[concern.pk]), {"note": ""})

    concern.refresh_from_db()
    assert concern.grade == "difficult" and concern.status == ConcernStatus.CLOSED
    history = client.get(reverse("admin:services_concern_change", args=[concern.pk])).text
    assert "已处理" in history
    assert list(concern.steps.values_list("kind", flat=True)) == [
        "raised",
        "graded",
        "replied",
        "closed",
    ]


def test_admin_hand_over_searches_every_active_union(members, officers, login, industry):
    concern = raise_for(members.a)
    client = login(officers.a_staff)
    found = client.get(reverse("admin:services_concern_organizations"), {"term": "机械"}).json()
    assert found["results"] == [{"id": str(industry.pk), "text": industry.name}]
    form = client.get(reverse("admin:services_concern_hand_over", args=[concern.pk]))
    assert reverse("admin:services_concern_organizations") in form.text

    client.post(
        reverse("admin:services_concern_hand_over", args=[concern.pk]),
        {"to_organization": industry.pk, "reason": "行业问题"},
    )
    concern.refresh_from_db()
    assert concern.organization == industry
    # Union A still sees the concern but no longer gets the buttons to handle it.
    page = client.get(reverse("admin:services_concern_change", args=[concern.pk])).text
    assert reverse("admin:services_concern_reply", args=[concern.pk]) not in page


def test_admin_overdue_filter(members, officers, login):
    late = raise_for(members.a, title="已逾期")
    raise_for(members.a2, title="未逾期")
    Concern.objects.filter(pk=late.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    text = (
        login(officers.a_staff)
        .get(reverse("admin:services_concern_changelist"), {"overdue": "yes"})
        .text
    )
    assert "已逾期" in text and "未逾期" not in text


# --- API ---------------------------------------------------------------------------------


def test_api_lists_concerns_in_scope_with_the_name_as_allowed(tree, members, officers, xihu_staff):
    hidden = raise_for(members.a, hide_name=True)
    raise_for(members.b)

    own = api(officers.a_staff).get("/api/v1/concerns/").json()
    assert [(r["id"], r["member_name"]) for r in own["results"]] == [(hidden.pk, members.a.name)]
    above = api(xihu_staff).get("/api/v1/concerns/").json()
    assert {r["member_name"] for r in above["results"]} == {
        "Anonymous worker",
        members.b.masked_name,
    }
    assert api(officers.zj_viewer).get("/api/v1/concerns/").json()["count"] == 0
    assert api(officers.b_admin).get(f"/api/v1/concerns/{hidden.pk}/").status_code == 404
    assert (
        api(officers.b_admin)
        .post(f"/api/v1/concerns/{hidden.pk}/reply/", {"text": "x"})
        .status_code
        == 404
    )


def test_api_steps_reply_grade_hand_over_close(tree, members, officers, industry):
    concern = raise_for(members.a)
    client = api(officers.a_staff)
    base = f"/api/v1/concerns/{concern.pk}"

    assert client.post(f"{base}/grade/", {"grade": "complex"}).json()["grade"] == "complex"
    bad = client.post(f"{base}/hand-over/", {"to_organization": 999999, "reason": "x"})
    assert bad.status_code == 400 and "to_organization" in bad.json()
    moved = client.post(f"{base}/hand-over/", {"to_organization": industry.pk, "reason": "行业"})
    assert moved.status_code == 200 and moved.json()["organization"] == industry.pk
    # Union A no longer handles it.
    assert client.post(f"{base}/reply/", {"text": "x"}).status_code == 403

    industry_client = api(officers.zj_admin)
    answered = industry_client.post(f"{base}/reply/", {"text": "已协商"})
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert [s["kind"] for s in answered.json()["steps"]] == [
        "raised",
        "graded",
        "handed_over",
        "replied",
    ]
    closed = industry_client.post(f"{base}/close/", {})
    assert closed.json()["status"] == "closed"
    again = industry_client.post(f"{base}/close/", {})
    assert again.status_code == 400
