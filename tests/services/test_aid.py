"""Hardship aid (困难职工帮扶): the whole flow with 公示 and objections, who sees what, and
suppressed figures, on PostgreSQL."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import AuditEntry
from notifications.models import Notification
from organizations import counters
from services.actions import aid
from services.models import (
    AidCase,
    AidObjection,
    AidStatus,
    AidStepKind,
    ServiceSettings,
)
from services.selectors.aid import approver_for
from services.tasks.aid import remind_notices_ended_task

pytestmark = pytest.mark.django_db

DATA = {
    "tier": "relative",
    "reason": "illness",
    "household_size": 3,
    "household_monthly_income": Decimal("2400.00"),
    "situation": "妻子重病住院，孩子上学，家庭收入低。",
    "amount_requested": Decimal("3000.00"),
}
VISIT_RECORD = "入户走访：住房简陋，医疗费用负担重，情况属实。"


@pytest.fixture
def aiders(tree, make_officer):
    """Hardship aid officers of union A, of its sibling B and of the county (the approver)."""
    return type(
        "Aiders",
        (),
        {
            "a": make_officer("a_aid", tree.union_a, "aid"),
            "b": make_officer("b_aid", tree.union_b, "aid"),
            "county": make_officer("xihu_aid", tree.xihu, "aid"),
        },
    )


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def kinds(case):
    return list(case.steps.values_list("kind", flat=True))


def assert_counters_exact():
    drift = counters.verify(["services.aid."])
    assert drift.ok, drift.wrong


def value(org, key):
    return counters.values(org).get(key, 0)


def to_notice(case, aiders):
    """Take a fresh case through review, visit and approval onto public notice."""
    aid.review_case(case=case, accept=True, acting_user=aiders.a)
    aid.record_home_visit(
        case=case,
        text=VISIT_RECORD,
        visited_on=timezone.localdate(),
        visitors="张三、李四",
        acting_user=aiders.a,
    )
    aid.approve_case(case=case, amount="2000", tier="deep", acting_user=aiders.county)
    return aid.start_notice(case=case, acting_user=aiders.a)


def end_notice(case):
    """The notice period passes (its dates are moved into the past)."""
    today = timezone.localdate()
    AidCase.objects.filter(pk=case.pk).update(
        notice_starts_on=today - datetime.timedelta(days=7),
        notice_ends_on=today - datetime.timedelta(days=1),
    )
    case.refresh_from_db()


# --- The whole flow ------------------------------------------------------------------------


def test_case_goes_through_every_stage_and_a_dismissed_objection_restarts_the_notice(
    tree, members, aiders, officers, login, committed
):
    client = login(members.a)
    with committed():
        response = client.post(reverse("aid-mine"), {**DATA, "situation": DATA["situation"]})
    assert response.status_code == 302, response.content.decode()
    case = AidCase.objects.get(member=members.a)
    assert case.status == AidStatus.APPLIED and case.applied_by_member
    assert case.organization == tree.union_a and case.approver == tree.xihu
    assert case.year == timezone.localdate().year
    assert Notification.objects.filter(recipient=aiders.a, kind="services.aid.applied").exists()

    with committed():
        aid.review_case(case=case, accept=True, text="符合条件", acting_user=aiders.a)
        aid.record_home_visit(
            case=case,
            text=VISIT_RECORD,
            visited_on=timezone.localdate(),
            visitors="张三、李四",
            acting_user=aiders.a,
        )
    assert Notification.objects.filter(
        recipient=aiders.county, kind="services.aid.to_approve"
    ).exists()
    with committed():
        aid.approve_case(case=case, amount="2500.00", tier="deep", acting_user=aiders.county)
    case.refresh_from_db()
    assert case.status == AidStatus.APPROVED and case.amount_approved == Decimal("2500.00")
    assert case.tier == "deep"
    assert Notification.objects.filter(
        recipient=members.a.user, kind="services.aid.approved"
    ).exists()

    case = aid.start_notice(case=case, acting_user=aiders.a)
    today = timezone.localdate()
    assert case.status == AidStatus.NOTICE
    assert (case.notice_starts_on, case.notice_ends_on) == (
        today,
        today + datetime.timedelta(days=settings_notice_days() - 1),
    )

    # A colleague objects from the public notice page.
    colleague = login(members.a2)
    with committed():
        response = colleague.post(reverse("aid-object", args=[case.pk]), {"text": "他家有两套房。"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == AidStatus.OBJECTED
    objection = AidObjection.objects.get(case=case)
    assert objection.raised_by == members.a2.user and objection.resolved_at is None
    assert Notification.objects.filter(recipient=aiders.a, kind="services.aid.objection").exists()
    with pytest.raises(ValidationError, match="objection is open"):
        aid.record_disbursement(case=case, method="bank", acting_user=aiders.a)

    # Dismissed after checking: the notice starts again from today.
    AidCase.objects.filter(pk=case.pk).update(
        notice_starts_on=today - datetime.timedelta(days=2),
        notice_ends_on=today + datetime.timedelta(days=2),
    )
    case = aid.resolve_objection(
        objection=objection, upheld=False, resolution="经核实房产已出售。", acting_user=aiders.a
    )
    assert case.status == AidStatus.NOTICE and case.notice_starts_on == today
    objection.refresh_from_db()
    assert objection.upheld is False and objection.resolved_at is not None
    with pytest.raises(ValidationError, match="runs until"):
        aid.record_disbursement(case=case, method="bank", acting_user=aiders.a)

    end_notice(case)
    with committed():
        assert remind_notices_ended_task() == 1
    assert Notification.objects.filter(
        recipient=aiders.a, kind="services.aid.notice_ended"
    ).exists()
    with committed():
        case = aid.record_disbursement(
            case=case, method="bank", reference="TX-001", acting_user=aiders.a
        )
    assert case.status == AidStatus.DISBURSED
    assert case.next_review_on == aid._one_year_later(today)
    assert Notification.objects.filter(
        recipient=members.a.user, kind="services.aid.disbursed"
    ).exists()
    assert kinds(case) == [
        AidStepKind.APPLIED,
        AidStepKind.REVIEWED,
        AidStepKind.VISITED,
        AidStepKind.APPROVED,
        AidStepKind.NOTICE,
        AidStepKind.OBJECTION,
        AidStepKind.OBJECTION_DISMISSED,
        AidStepKind.NOTICE,
        AidStepKind.DISBURSED,
    ]

    assert_counters_exact()
    assert value(tree.union_a, "services.aid.cases") == 1
    assert value(tree.union_a, "services.aid.approved") == 1
    assert value(tree.union_a, "services.aid.disbursed_count") == 1
    assert value(tree.union_a, "services.aid.disbursed_fen") == 250000

    # The yearly review continues the aid with next year's case, which starts over.
    new = aid.yearly_review(
        case=case, continue_aid=True, text="困难情况仍在。", acting_user=aiders.a
    )
    case.refresh_from_db()
    assert case.status == AidStatus.CLOSED
    assert kinds(case)[-2:] == [AidStepKind.YEARLY_REVIEW, AidStepKind.CLOSED]
    assert new.pk != case.pk and new.status == AidStatus.APPLIED
    assert new.year == case.year + 1 and new.tier == "deep" and not new.applied_by_member
    assert_counters_exact()
    assert value(tree.union_a, "services.aid.cases") == 2
    actions = set(
        AuditEntry.objects.filter(
            object_type="services.aidcase", object_id=str(case.pk)
        ).values_list("action", flat=True)
    )
    assert {
        "services.aid.applied",
        "services.aid.approved",
        "services.aid.objection",
        "services.aid.objection_resolved",
        "services.aid.disbursed",
        "services.aid.yearly_review",
    } <= actions


def settings_notice_days():
    from django.conf import settings

    return settings.SERVICES_AID_NOTICE_DAYS


def test_upheld_objection_rejects_the_case_and_takes_back_its_approval(
    tree, members, aiders, officers, committed
):
    case = to_notice(aid.apply_for_aid(member=members.a, data=DATA), aiders)
    assert value(tree.union_a, "services.aid.approved") == 1
    # An officer of the same union may object too; the other objection falls with it.
    first = aid.object_to_case(case=case, text="收入未如实申报。", acting_user=officers.a_admin)
    second = aid.object_to_case(case=case, text="同上。", acting_user=members.a2.user)
    with committed():
        case = aid.resolve_objection(
            objection=first, upheld=True, resolution="核实属实，取消资格。", acting_user=aiders.a
        )
    assert case.status == AidStatus.REJECTED
    second.refresh_from_db()
    assert second.upheld is True and second.resolved_at is not None
    assert kinds(case)[-1] == AidStepKind.OBJECTION_UPHELD
    assert Notification.objects.filter(
        recipient=members.a.user, kind="services.aid.rejected"
    ).exists()
    assert_counters_exact()
    assert value(tree.union_a, "services.aid.approved") == 0
    assert value(tree.union_a, "services.aid.cases") == 1
    # A rejected case frees the year: the member may apply again.
    again = aid.apply_for_aid(member=members.a, data=DATA)
    assert again.status == AidStatus.APPLIED


def test_a_step_that_fails_after_notifying_sends_nothing(
    tree, members, aiders, committed, monkeypatch, mailoutbox
):
    # The member can be reached by email, which (unlike the inbox) no rollback takes back.
    members.a.user.email = "a@example.com"
    members.a.user.save(update_fields=["email"])
    case = to_notice(aid.apply_for_aid(member=members.a, data=DATA), aiders)
    objection = aid.object_to_case(case=case, text="收入未如实申报。", acting_user=members.a2.user)
    notified = []
    real_notify, real_audit = aid.notify_on_commit, aid._audit

    def notify_on_commit(recipients, kind, *args, **kwargs):
        notified.append(kind)
        return real_notify(recipients, kind, *args, **kwargs)

    def audit(case, user, action, **changes):
        # Upholding writes its audit entry after telling the member of the rejection.
        if action == "objection_resolved":
            raise DatabaseError("the audit entry could not be written")
        return real_audit(case, user, action, **changes)

    monkeypatch.setattr(aid, "notify_on_commit", notify_on_commit)
    monkeypatch.setattr(aid, "_audit", audit)
    with committed() as callbacks, pytest.raises(DatabaseError):
        aid.resolve_objection(
            objection=objection, upheld=True, resolution="核实属实。", acting_user=aiders.a
        )

    # The member was notified inside the transaction, which then rolled back: the on-commit
    # send was dropped with it, so nothing reaches the member.
    assert notified == ["services.aid.rejected"]
    assert callbacks == []
    assert not Notification.objects.filter(
        recipient=members.a.user, kind="services.aid.rejected"
    ).exists()
    assert mailoutbox == []
    case.refresh_from_db()
    assert case.status == AidStatus.OBJECTED

    # The same step without the fault does tell the member.
    monkeypatch.setattr(aid, "_audit", real_audit)
    with committed() as callbacks:
        aid.resolve_objection(
            objection=objection, upheld=True, resolution="核实属实。", acting_user=aiders.a
        )
    assert callbacks
    assert Notification.objects.filter(
        recipient=members.a.user, kind="services.aid.rejected"
    ).exists()
    assert [m.to for m in mailoutbox] == [["a@example.com"]]


def test_only_people_of_the_same_union_may_object(tree, members, aiders, officers):
    case = to_notice(aid.apply_for_aid(member=members.a, data=DATA), aiders)
    for outsider in (members.b.user, officers.b_admin, officers.zj_admin):
        with pytest.raises(PermissionDenied):
            aid.object_to_case(case=case, text="异议", acting_user=outsider)
    with pytest.raises(ValidationError, match="your own case"):
        aid.object_to_case(case=case, text="异议", acting_user=members.a.user)
    assert not AidObjection.objects.exists()


# --- The public notice page --------------------------------------------------------------------


def test_notice_page_shows_masked_name_and_amount_but_never_full_name_id_or_phone(
    tree, members, aiders, login
):
    case = to_notice(aid.apply_for_aid(member=members.a, data=DATA), aiders)
    page = login(members.a2).get(reverse("aid-notices"))
    assert page.status_code == 200
    html = page.content.decode()
    assert members.a.masked_name in html
    assert "2000.00" in html
    assert case.notice_ends_on.isoformat() in html
    assert members.a.name not in html
    assert members.a.id_number not in html and members.a.id_masked not in html
    assert members.a.phone not in html and members.a.membership_number not in html
    assert DATA["situation"] not in html


def test_notice_of_union_a_is_not_shown_to_a_sibling_union(tree, members, aiders, login):
    case = to_notice(aid.apply_for_aid(member=members.a, data=DATA), aiders)
    client = login(members.b)
    html = client.get(reverse("aid-notices")).content.decode()
    assert members.a.masked_name not in html
    response = client.post(reverse("aid-object", args=[case.pk]), {"text": "异议"})
    assert response.status_code == 404
    assert not AidObjection.objects.exists()


# --- Who sees case details -------------------------------------------------------------------


def test_only_aid_officers_see_case_details_in_admin_and_api(
    tree, members, aiders, officers, client
):
    case = aid.apply_for_aid(member=members.a, data=DATA)
    change = reverse("admin:services_aidcase_change", args=[case.pk])
    changelist = reverse("admin:services_aidcase_changelist")
    for user in (officers.a_admin, officers.a_staff, officers.zj_viewer, officers.national_admin):
        client.force_login(user)
        assert client.get(change).status_code == 404, user
        assert client.get(changelist).status_code == 404, user
        assert api(user).get(f"/api/v1/aid-cases/{case.pk}/").status_code == 404, user
        assert api(user).get("/api/v1/aid-cases/").json()["count"] == 0, user
    # An aid officer of the sibling union does not reach it either.
    client.force_login(aiders.b)
    assert client.get(change).status_code == 404
    assert api(aiders.b).get(f"/api/v1/aid-cases/{case.pk}/").status_code == 404
    for user in (aiders.a, aiders.county):
        client.force_login(user)
        page = client.get(change)
        assert page.status_code == 200 and DATA["situation"] in page.content.decode()
        body = api(user).get(f"/api/v1/aid-cases/{case.pk}/").json()
        assert body["situation"] == DATA["situation"] and body["status"] == "applied"


def test_member_portal_shows_step_names_but_not_the_officers_records(tree, members, aiders, login):
    case = aid.apply_for_aid(member=members.a, data=DATA)
    aid.review_case(case=case, accept=True, text="内部意见：优先处理", acting_user=aiders.a)
    aid.record_home_visit(
        case=case,
        text=VISIT_RECORD,
        visited_on=timezone.localdate(),
        visitors="张三",
        acting_user=aiders.a,
    )
    html = login(members.a).get(reverse("aid-mine")).content.decode()
    assert str(AidStepKind.VISITED.label) in html
    assert str(AidStepKind.REVIEWED.label) in html
    assert VISIT_RECORD not in html and "内部意见" not in html
    # An open case: no second application form this year.
    assert 'name="situation"' not in html


def test_member_can_apply_again_the_same_year_only_after_the_case_is_closed(tree, members, aiders):
    aid.apply_for_aid(member=members.a, data=DATA)
    with pytest.raises(ValidationError, match="already an open hardship aid case"):
        aid.apply_for_aid(member=members.a, data=DATA)
    with pytest.raises(ValidationError, match="already an open hardship aid case"):
        aid.open_aid_case(member=members.a, data=DATA, acting_user=aiders.a)
    assert AidCase.objects.filter(member=members.a).count() == 1


# --- Approval at the configured level --------------------------------------------------------


def test_approval_only_by_the_configured_level(tree, members, aiders, make_officer):
    case = aid.apply_for_aid(member=members.a, data=DATA)
    aid.review_case(case=case, accept=True, acting_user=aiders.a)
    aid.record_home_visit(
        case=case,
        text=VISIT_RECORD,
        visited_on=timezone.localdate(),
        visitors="张三",
        acting_user=aiders.a,
    )
    with pytest.raises(PermissionDenied, match="西湖区总工会"):
        aid.approve_case(case=case, amount="1000", tier="deep", acting_user=aiders.a)
    case.refresh_from_db()
    assert aid.available_steps(case=case, user=aiders.a) == set()
    assert aid.available_steps(case=case, user=aiders.county) == {"approve"}

    # The city federation sets approval at its own level for its subtree.
    ServiceSettings.objects.create(organization=tree.hz, aid_approval_level="city")
    assert approver_for(tree.union_a) == tree.hz
    later = aid.apply_for_aid(member=members.a2, data=DATA)
    assert later.approver == tree.hz
    aid.review_case(case=later, accept=True, acting_user=aiders.a)
    aid.record_home_visit(
        case=later,
        text=VISIT_RECORD,
        visited_on=timezone.localdate(),
        visitors="张三",
        acting_user=aiders.a,
    )
    with pytest.raises(PermissionDenied):
        aid.approve_case(case=later, amount="1000", tier="deep", acting_user=aiders.county)
    city_aid = make_officer("hz_aid", tree.hz, "aid")
    aid.approve_case(case=later, amount="1000", tier="deep", acting_user=city_aid)
    later.refresh_from_db()
    assert later.status == AidStatus.APPROVED


def test_missing_approval_level_falls_back_to_the_nearest_union_above(tree, members):
    # No township federation between union A and the county: the county approves.
    ServiceSettings.objects.create(organization=tree.union_a, aid_approval_level="township")
    assert approver_for(tree.union_a) == tree.xihu
    # Union C sits right under a city federation: a county level falls back to the city.
    assert approver_for(tree.union_c) == tree.sz


def test_notice_days_come_from_the_nearest_settings(tree, members, aiders):
    ServiceSettings.objects.create(organization=tree.xihu, aid_notice_days=10)
    case = to_notice(aid.apply_for_aid(member=members.a, data=DATA), aiders)
    assert (case.notice_ends_on - case.notice_starts_on).days == 9


# --- Wrong order and bad input ---------------------------------------------------------------


def test_steps_in_the_wrong_order_give_clear_errors(tree, members, aiders):
    case = aid.apply_for_aid(member=members.a, data=DATA)
    with pytest.raises(ValidationError, match="cannot approve it now"):
        aid.approve_case(case=case, amount="1000", tier="deep", acting_user=aiders.county)
    with pytest.raises(ValidationError, match="cannot record the home visit now"):
        aid.record_home_visit(
            case=case,
            text=VISIT_RECORD,
            visited_on=timezone.localdate(),
            visitors="张三",
            acting_user=aiders.a,
        )
    with pytest.raises(ValidationError, match="cannot start the public notice now"):
        aid.start_notice(case=case, acting_user=aiders.a)
    with pytest.raises(ValidationError, match="cannot record the payment now"):
        aid.record_disbursement(case=case, method="bank", acting_user=aiders.a)
    with pytest.raises(ValidationError, match="not on public notice"):
        aid.object_to_case(case=case, text="异议", acting_user=members.a2.user)
    with pytest.raises(ValidationError, match="reason for the rejection"):
        aid.review_case(case=case, accept=False, text=" ", acting_user=aiders.a)
    with pytest.raises(PermissionDenied):
        aid.review_case(case=case, accept=True, acting_user=aiders.b)
    case.refresh_from_db()
    assert case.status == AidStatus.APPLIED and kinds(case) == [AidStepKind.APPLIED]


def test_bad_application_and_payment_input_is_refused_with_nothing_written(tree, members, aiders):
    with pytest.raises(ValidationError) as error:
        aid.apply_for_aid(member=members.a, data={**DATA, "household_size": 0, "tier": "rich"})
    assert {"household_size", "tier"} <= set(error.value.error_dict)
    assert not AidCase.objects.exists()
    assert_counters_exact()

    case = to_notice(aid.apply_for_aid(member=members.a, data=DATA), aiders)
    end_notice(case)
    with pytest.raises(ValidationError, match="more than the amount approved"):
        aid.record_disbursement(case=case, amount="2000.01", method="bank", acting_user=aiders.a)
    with pytest.raises(ValidationError, match="how the aid was paid"):
        aid.record_disbursement(case=case, method="bitcoin", acting_user=aiders.a)
    case.refresh_from_db()
    assert case.status == AidStatus.NOTICE
    assert value(tree.union_a, "services.aid.disbursed_count") == 0


def test_review_rejection_tells_the_member_and_ends_the_case(tree, members, aiders, committed):
    case = aid.apply_for_aid(member=members.a, data=DATA)
    with committed():
        case = aid.review_case(case=case, accept=False, text="收入超过标准。", acting_user=aiders.a)
    assert case.status == AidStatus.REJECTED
    assert Notification.objects.filter(
        recipient=members.a.user, kind="services.aid.rejected"
    ).exists()
    assert_counters_exact()
    assert value(tree.union_a, "services.aid.cases") == 1
    assert value(tree.union_a, "services.aid.approved") == 0
