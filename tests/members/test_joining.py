"""Joining online: apply in the portal, review in the admin and API, follow by status link."""

import hashlib
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import AuditEntry
from members.actions import joining
from members.actions import records as actions
from members.models import ApplicationStatus, EventKind, JoinApplication, Member, MemberStatus
from notifications.models import Notification
from organizations import actions as org_actions
from organizations import counters
from tests.factories import UserFactory, make_member, person_data

pytestmark = pytest.mark.django_db

PASSWORD = "Harbor-lantern-47q"


def assert_counters_exact():
    drift = counters.verify(["members."])
    assert drift.ok, drift.wrong


def apply_url(org):
    return reverse("join-apply", args=[org.pk])


def status_url(key):
    return reverse("join-status", args=[key])


def admin_url(name, application):
    return reverse(f"admin:members_joinapplication_{name}", args=[application.pk])


def form_data(raw, **overrides):
    data = {
        **raw,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "privacy_consent": "on",
        "sensitive_consent": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def key_from(response):
    match = re.fullmatch(r"/join/status/([^/]+)/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def submit(org, raw=None):
    """An application filed through the action; returns (application, key, raw data)."""
    raw = raw or person_data()
    application, key = joining.submit_join_application(
        organization=org,
        data=raw,
        password=PASSWORD,
        privacy_consent=True,
        sensitive_consent=True,
    )
    return application, key, raw


def nothing_written():
    assert not JoinApplication.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="joinapplication.").exists()


# --- The whole way: apply, approve, log in ----------------------------------------------


def test_worker_applies_is_approved_in_the_admin_and_logs_in(
    client, tree, officers, django_capture_on_commit_callbacks
):
    assert client.get(apply_url(tree.union_a)).status_code == 200
    raw = person_data(employment_type="delivery_rider")
    response = client.post(apply_url(tree.union_a), form_data(raw))
    assert response.status_code == 302
    key = key_from(response)
    application = JoinApplication.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.organization == tree.union_a
    assert application.id_number == raw["id_number"]
    assert application.access_key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert application.privacy_notice_version == joining.PRIVACY_NOTICE_VERSION
    assert application.privacy_consent_at and application.sensitive_consent_at
    assert application.password_hash and PASSWORD not in application.password_hash

    page = client.get(status_url(key))
    assert page.status_code == 200
    assert application.masked_name in page.content.decode()
    assert raw["name"] not in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]

    officer = Client()
    officer.force_login(officers.a_admin)
    change_page = officer.get(admin_url("change", application))
    assert change_page.status_code == 200
    assert admin_url("approve", application) in change_page.content.decode()
    assert raw["id_number"] not in change_page.content.decode()
    assert officer.get(admin_url("approve", application)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = officer.post(admin_url("approve", application))
    assert response.status_code == 302

    member = Member.objects.get()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.member == member
    assert application.reviewed_by == officers.a_admin
    assert application.password_hash == ""
    assert member.organization == tree.union_a
    assert member.status == MemberStatus.ACTIVE
    assert member.employment_type == "delivery_rider"
    assert len(member.membership_number) == 16
    assert member.card_is_valid
    assert list(member.events.values_list("kind", flat=True)) == [EventKind.JOINED]
    assert counters.values(tree.union_a)["members.status.active"] == 1
    assert counters.values(tree.union_a)["members.employment.delivery_rider"] == 1
    assert_counters_exact()

    assert member.user.username == member.membership_number
    worker = Client()
    assert worker.login(request=HttpRequest(), username=member.membership_number, password=PASSWORD)
    assert Notification.objects.filter(recipient=member.user, kind="join.approved").count() == 1

    page = client.get(status_url(key))
    assert member.membership_number in page.content.decode()
    assert reverse("login") in page.content.decode()


def test_approving_twice_changes_nothing_the_second_time(client, tree, officers):
    application, _key, _raw = submit(tree.union_a)
    joining.approve_join_application(application=application, acting_user=officers.a_admin)
    with pytest.raises(ValidationError) as error:
        joining.approve_join_application(application=application, acting_user=officers.a_admin)
    assert error.value.code == "closed"
    assert Member.objects.count() == 1
    assert_counters_exact()


def test_the_approval_notice_links_to_the_members_card_page(
    tree, officers, django_capture_on_commit_callbacks
):
    application, _key, _raw = submit(tree.union_a)
    with django_capture_on_commit_callbacks(execute=True):
        member = joining.approve_join_application(
            application=application, acting_user=officers.a_admin
        )
    notice = Notification.objects.get(recipient=member.user, kind="join.approved")
    assert notice.link == reverse("my-membership")


# --- Reject, correct, withdraw ----------------------------------------------------------


def test_rejection_needs_a_reason_and_shows_it_to_the_applicant(client, tree, officers):
    application, key, _raw = submit(tree.union_a)
    client.force_login(officers.a_admin)
    response = client.post(admin_url("reject", application), {"reason": "  "})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED

    response = client.post(admin_url("reject", application), {"reason": "不在本单位工作"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert application.review_note == "不在本单位工作"
    assert application.reviewed_by == officers.a_admin
    assert application.password_hash == ""
    assert not Member.objects.exists()

    page = Client().get(status_url(key))
    assert "不在本单位工作" in page.content.decode()
    assert page.context["correction"] is None


def test_correction_requested_then_resubmitted_then_approved_by_staff(client, tree, officers):
    application, key, raw = submit(tree.union_a)
    officer = Client()
    officer.force_login(officers.a_staff)
    response = officer.post(admin_url("correction", application), {"note": "请填写完整单位名称"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.NEEDS_CORRECTION

    page = client.get(status_url(key))
    assert page.status_code == 200
    assert page.context["correction"] is not None
    assert "请填写完整单位名称" in page.content.decode()
    assert raw["id_number"] not in page.content.decode()  # identifiers stay masked

    corrected = {**raw, "employer": "杭州甲科技有限公司研发中心", "id_number": "", "phone": ""}
    response = client.post(status_url(key), {**corrected, "do": "resubmit"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.employer == "杭州甲科技有限公司研发中心"
    assert application.id_number == raw["id_number"]
    audit = AuditEntry.objects.get(action="joinapplication.resubmitted")
    assert audit.changes == {"fields": ["employer"]}

    response = officer.post(admin_url("approve", application))
    assert response.status_code == 302
    member = Member.objects.get()
    assert member.employer == "杭州甲科技有限公司研发中心"
    assert_counters_exact()


def test_resubmission_with_a_bad_phone_writes_nothing(client, tree, officers):
    application, key, raw = submit(tree.union_a)
    joining.request_correction(application=application, acting_user=officers.a_admin, note="x")
    response = client.post(status_url(key), {**raw, "phone": "12345", "do": "resubmit"})
    assert response.status_code == 200
    assert response.context["correction"].errors["phone"]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.NEEDS_CORRECTION
    assert application.phone == raw["phone"]


def test_resubmitting_is_refused_unless_a_correction_was_asked(tree):
    application, _key, raw = submit(tree.union_a)
    with pytest.raises(ValidationError) as error:
        joining.resubmit_join_application(application=application, data=raw)
    assert error.value.code == "not_needs_correction"


def test_applicant_withdraws_and_may_apply_again(client, tree):
    application, key, raw = submit(tree.union_a)
    response = client.post(status_url(key), {"do": "withdraw"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    assert application.password_hash == ""
    assert 'value="withdraw"' not in client.get(status_url(key)).content.decode()
    response = client.post(apply_url(tree.union_b), form_data(raw))
    assert response.status_code == 302
    assert JoinApplication.objects.filter(status=ApplicationStatus.SUBMITTED).count() == 1


def test_unknown_status_key_is_404(client, tree):
    submit(tree.union_a)
    assert client.get(status_url("not-a-real-key")).status_code == 404
    assert joining.application_for_key("") is None


# --- People who may not apply ------------------------------------------------------------


def test_a_current_member_elsewhere_is_told_to_log_in_and_transfer(client, tree):
    raw = person_data()
    make_member(tree.union_c, **raw)
    response = client.post(apply_url(tree.union_a), form_data(raw))
    assert response.status_code == 200
    assert "members/join_already_member.html" in [t.name for t in response.templates]
    content = response.content.decode()
    assert f"{reverse('login')}?next=/me/" in content
    assert tree.union_c.name not in content
    assert not JoinApplication.objects.exists()
    with pytest.raises(ValidationError) as error:
        submit(tree.union_a, raw)
    assert error.value.code == "already_member"
    assert tree.union_c.name not in " ".join(error.value.messages)


def test_a_deceased_members_id_is_refused(client, tree):
    raw = person_data()
    member = make_member(tree.union_b, **raw)
    actions.change_status(member=member, status=MemberStatus.DECEASED, reason="病故")
    with pytest.raises(ValidationError) as error:
        submit(tree.union_a, raw)
    assert error.value.code == "deceased"
    response = client.post(apply_url(tree.union_a), form_data(raw))
    assert response.status_code == 200
    assert response.context["form"].errors["id_number"]
    assert not JoinApplication.objects.exists()


def test_a_second_open_application_for_the_same_person_is_refused(client, tree):
    raw = person_data()
    assert client.post(apply_url(tree.union_a), form_data(raw)).status_code == 302
    response = client.post(apply_url(tree.union_b), form_data(raw))
    assert response.status_code == 200
    assert response.context["form"].errors["id_number"]
    assert JoinApplication.objects.count() == 1
    with pytest.raises(ValidationError) as error:
        submit(tree.union_b, raw)
    assert error.value.code == "open_application"


def test_the_database_refuses_a_second_open_application_that_slipped_past_the_check(
    tree, monkeypatch
):
    raw = person_data()
    submit(tree.union_a, raw)
    # As if a concurrent request had checked before this one saved.
    monkeypatch.setattr(joining, "_check_person_may_apply", lambda *a, **k: None)
    with pytest.raises(ValidationError) as error:
        submit(tree.union_b, raw)
    assert error.value.code == "open_application"
    assert JoinApplication.objects.count() == 1


def test_a_withdrawn_former_member_rejoins_with_the_same_number(
    tree, officers, django_capture_on_commit_callbacks
):
    raw = person_data()
    former = make_member(tree.union_b, **raw)
    actions.change_status(member=former, status=MemberStatus.WITHDRAWN, reason="离职")
    former.refresh_from_db()
    assert former.card_revoked_at is not None
    application, _key, _raw = submit(tree.union_a, {**raw, "employer": "杭州甲科技有限公司"})

    with django_capture_on_commit_callbacks(execute=True):
        member = joining.approve_join_application(
            application=application, acting_user=officers.a_admin
        )

    assert member.pk == former.pk
    assert member.membership_number == former.membership_number
    assert member.organization == tree.union_a
    assert member.status == MemberStatus.ACTIVE
    assert member.join_date == former.join_date
    assert member.card_revoked_at is None
    assert member.card_serial == former.card_serial + 1
    assert member.card_is_valid
    event = member.events.order_by("-at", "-pk").first()
    assert event.kind == EventKind.REJOINED
    assert event.from_status == MemberStatus.WITHDRAWN
    assert event.from_organization == tree.union_b
    assert event.to_organization == tree.union_a
    assert Member.objects.count() == 1
    assert counters.values(tree.union_b).get("members.status.withdrawn", 0) == 0
    assert counters.values(tree.union_a)["members.status.active"] == 1
    assert_counters_exact()
    assert Client().login(
        request=HttpRequest(), username=member.membership_number, password=PASSWORD
    )
    assert Notification.objects.filter(recipient=member.user, kind="join.approved").exists()


def test_a_former_member_with_an_account_keeps_it_with_the_new_password(tree, officers):
    raw = person_data()
    former = make_member(tree.union_b, **raw)
    account = UserFactory(username="old-login")
    Member.objects.filter(pk=former.pk).update(user=account)
    actions.change_status(member=former, status=MemberStatus.EXPELLED, reason="违纪")
    application, _key, _raw = submit(tree.union_a, raw)
    member = joining.approve_join_application(application=application, acting_user=officers.a_admin)
    assert member.user == account
    assert Client().login(request=HttpRequest(), username="old-login", password=PASSWORD)
    assert_counters_exact()


def test_a_member_enrolled_meanwhile_is_not_enrolled_twice(tree, officers):
    application, _key, raw = submit(tree.union_a)
    make_member(tree.union_c, **raw)  # e.g. by spreadsheet import while the application waited
    with pytest.raises(ValidationError) as error:
        joining.approve_join_application(application=application, acting_user=officers.a_admin)
    assert error.value.code == "already_member"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert Member.objects.count() == 1
    assert_counters_exact()


# --- Bad input writes nothing ------------------------------------------------------------


def _wrong_checksum(raw):
    number = raw["id_number"]
    return number[:-1] + ("0" if number[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda raw: {"id_number": _wrong_checksum(raw)}, "id_number"),
        (lambda raw: {"phone": "12345"}, "phone"),
        (lambda raw: {"privacy_consent": None}, "privacy_consent"),
        (lambda raw: {"sensitive_consent": None}, "sensitive_consent"),
        (lambda raw: {"password2": "something-else-99"}, "password2"),
        (lambda raw: {"password1": "123", "password2": "123"}, "password1"),
        (lambda raw: {"ethnicity": "99"}, "ethnicity"),
        (lambda raw: {"employer": ""}, "employer"),
    ],
    ids=[
        "wrong-checksum",
        "bad-phone",
        "no-privacy",
        "no-sensitive",
        "passwords-differ",
        "weak-password",
        "bad-ethnicity",
        "no-employer",
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_writes_nothing(client, tree, change, field):
    raw = person_data()
    response = client.post(apply_url(tree.union_a), form_data(raw, **change(raw)))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    assert form["name"].value() == raw["name"]  # typed values are kept...
    assert PASSWORD not in response.content.decode()  # ...but never the password
    nothing_written()


def test_each_consent_is_required_by_the_action_itself(tree):
    with pytest.raises(ValidationError) as error:
        joining.submit_join_application(
            organization=tree.union_a,
            data=person_data(),
            password=PASSWORD,
            privacy_consent=False,
            sensitive_consent=False,
        )
    errors = error.value.error_dict
    assert errors["privacy_consent"][0].code == "privacy_consent"
    assert errors["sensitive_consent"][0].code == "sensitive_consent"
    with pytest.raises(ValidationError) as error:
        joining.submit_join_application(
            organization=tree.union_a,
            data=person_data(),
            password=PASSWORD,
            privacy_consent=True,
            sensitive_consent=False,
        )
    assert set(error.value.error_dict) == {"sensitive_consent"}
    nothing_written()


def test_only_active_grassroots_unions_take_applications(client, tree):
    org_actions.dissolve_organization(organization=tree.union_b)
    raw = person_data()
    for org in (tree.union_b, tree.xihu, tree.group_a, tree.zj):
        assert client.get(apply_url(org)).status_code == 404
        assert client.post(apply_url(org), form_data(raw)).status_code == 404
    tree.union_b.refresh_from_db()
    with pytest.raises(ValidationError):
        submit(tree.union_b, raw)
    nothing_written()


# --- Admin and API: scope and isolation -----------------------------------------------------


def test_sibling_admin_gets_404_on_the_application_pages_and_api(client, tree, officers):
    application, _key, _raw = submit(tree.union_a)
    client.force_login(officers.b_admin)
    for name in ("change", "approve", "reject", "correction", "history"):
        response = client.get(admin_url(name, application))
        assert response.status_code == 404, name
    assert client.post(admin_url("approve", application)).status_code == 404
    changelist = client.get(reverse("admin:members_joinapplication_changelist"))
    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == []

    api = APIClient()
    api.force_authenticate(officers.b_admin)
    detail = f"/api/v1/join-applications/{application.pk}/"
    assert api.get(detail).status_code == 404
    assert api.post(f"{detail}approve/").status_code == 404
    assert api.post(f"{detail}reject/", {"reason": "x"}).status_code == 404
    assert api.get("/api/v1/join-applications/").json()["count"] == 0
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    with pytest.raises(PermissionDenied):
        joining.approve_join_application(application=application, acting_user=officers.b_admin)


@pytest.mark.parametrize("who", ["zj_viewer", "zj_admin", "hz_admin", "c_admin"])
def test_higher_levels_and_other_provinces_see_no_applications(client, tree, officers, who):
    application, _key, raw = submit(tree.union_a)
    user = getattr(officers, who)
    client.force_login(user)
    response = client.get(reverse("admin:members_joinapplication_changelist"))
    if response.status_code == 200:
        assert list(response.context["cl"].result_list) == []
    else:
        assert response.status_code == 404
    assert raw["name"] not in response.content.decode()
    assert client.get(admin_url("change", application)).status_code == 404

    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/v1/join-applications/").json()["count"] == 0
    detail = f"/api/v1/join-applications/{application.pk}/"
    assert api.get(detail).status_code == 404
    assert api.post(f"{detail}approve/").status_code == 404
    assert not Member.objects.exists()


def test_admin_changelist_masks_and_filters(client, tree, officers):
    first, _k, raw = submit(tree.union_a)
    second, _k, _r = submit(tree.union_a, person_data(employment_type="courier"))
    joining.reject_join_application(application=second, acting_user=officers.a_admin, reason="x")
    submit(tree.union_b)
    client.force_login(officers.a_staff)
    url = reverse("admin:members_joinapplication_changelist")
    response = client.get(url)
    assert set(response.context["cl"].result_list) == {first, second}
    content = response.content.decode()
    assert first.masked_name in content and first.id_masked in content
    assert raw["id_number"] not in content and raw["phone"] not in content
    response = client.get(url, {"status__exact": "submitted"})
    assert list(response.context["cl"].result_list) == [first]
    response = client.get(url, {"employment_type__exact": "courier"})
    assert list(response.context["cl"].result_list) == [second]
    response = client.get(url, {"q": raw["name"]})
    assert list(response.context["cl"].result_list) == [first]
    assert client.get(reverse("admin:members_joinapplication_add")).status_code == 403


def test_api_lists_filters_and_decides_for_staff(tree, officers):
    first, _k, raw = submit(tree.union_a)
    second, _k, _r = submit(tree.union_a)
    third, _k, _r = submit(tree.union_a)
    api = APIClient()
    api.force_authenticate(officers.a_staff)
    listed = api.get("/api/v1/join-applications/").json()
    assert listed["count"] == 3
    row = next(r for r in listed["results"] if r["id"] == first.pk)
    assert row["masked_name"] == first.masked_name
    assert row["id_masked"] == first.id_masked
    assert "name" not in row and "id_number" not in row
    assert raw["id_number"] not in str(listed)

    response = api.post(f"/api/v1/join-applications/{first.pk}/approve/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    assert response.json()["member"] == Member.objects.get().pk
    assert api.post(f"/api/v1/join-applications/{first.pk}/approve/").status_code == 400

    assert api.post(f"/api/v1/join-applications/{second.pk}/reject/", {}).status_code == 400
    response = api.post(f"/api/v1/join-applications/{second.pk}/reject/", {"reason": "重复"})
    assert response.status_code == 200
    assert response.json()["review_note"] == "重复"
    response = api.post(
        f"/api/v1/join-applications/{third.pk}/request-correction/", {"note": "补充"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "needs_correction"

    assert api.get("/api/v1/join-applications/", {"status": "rejected"}).json()["count"] == 1
    assert api.get("/api/v1/join-applications/", {"status": "nonsense"}).status_code == 400
    assert_counters_exact()


# --- Bulk actions ------------------------------------------------------------------------


def test_bulk_approve_reports_each_application(client, tree, officers):
    applications = [submit(tree.union_a)[0] for _ in range(3)]
    taken, _k, raw = submit(tree.union_a)
    make_member(tree.union_c, **raw)  # this one cannot be approved any more
    client.force_login(officers.a_admin)
    response = client.post(
        reverse("admin:members_joinapplication_changelist"),
        {
            "action": "approve_selected",
            "_selected_action": [a.pk for a in [*applications, taken]],
            "index": 0,
        },
        follow=True,
    )
    assert response.status_code == 200
    levels = [m.level_tag for m in response.context["messages"]]
    assert levels.count("success") == 3
    assert levels.count("error") == 1
    assert Member.objects.filter(organization=tree.union_a).count() == 3
    assert set(
        JoinApplication.objects.filter(pk__in=[a.pk for a in applications]).values_list(
            "status", flat=True
        )
    ) == {"approved"}
    taken.refresh_from_db()
    assert taken.status == ApplicationStatus.SUBMITTED
    assert_counters_exact()


def test_bulk_reject_asks_for_the_reason_first(client, tree, officers):
    applications = [submit(tree.union_a)[0] for _ in range(2)]
    client.force_login(officers.a_admin)
    url = reverse("admin:members_joinapplication_changelist")
    selected = [a.pk for a in applications]
    response = client.post(
        url, {"action": "reject_selected", "_selected_action": selected, "index": 0}
    )
    assert response.status_code == 200
    assert "form" in response.context
    assert not JoinApplication.objects.filter(status="rejected").exists()
    response = client.post(
        url,
        {"action": "reject_selected", "_selected_action": selected, "apply": "1", "reason": ""},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not JoinApplication.objects.filter(status="rejected").exists()
    response = client.post(
        url,
        {
            "action": "reject_selected",
            "_selected_action": selected,
            "apply": "1",
            "reason": "名额已满",
        },
    )
    assert response.status_code == 302
    assert set(JoinApplication.objects.values_list("status", "review_note")) == {
        ("rejected", "名额已满")
    }


# --- Privacy -----------------------------------------------------------------------------


def test_applications_hold_no_plaintext_identifiers_and_audits_no_values(tree, officers):
    application, _key, raw = submit(tree.union_a)
    joining.request_correction(application=application, acting_user=officers.a_admin, note="x")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_joinapplication")
        flat = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert raw["id_number"] not in flat
    assert raw["phone"] not in flat
    changes = AuditEntry.objects.filter(action__startswith="joinapplication.").values_list(
        "changes", flat=True
    )
    audits = " ".join(str(c) for c in changes)
    for value in (raw["name"], raw["id_number"], raw["phone"], raw["employer"]):
        assert value not in audits


def test_unsuccessful_applications_are_purged_after_the_retention_period(tree, officers):
    import datetime

    from django.utils import timezone

    from members.tasks import purge_unsuccessful_join_applications_task

    old_rejected, _k, _r = submit(tree.union_a)
    joining.reject_join_application(
        application=old_rejected, acting_user=officers.a_admin, reason="x"
    )
    recent_withdrawn, _k, _r = submit(tree.union_a)
    joining.withdraw_join_application(application=recent_withdrawn)
    old_open, _k, _r = submit(tree.union_a)
    long_ago = timezone.now() - datetime.timedelta(
        days=joining.UNSUCCESSFUL_APPLICATION_RETENTION_DAYS + 1
    )
    JoinApplication.objects.filter(pk__in=[old_rejected.pk, old_open.pk]).update(
        updated_at=long_ago
    )
    assert purge_unsuccessful_join_applications_task.delay().get() == 1
    assert set(JoinApplication.objects.values_list("pk", flat=True)) == {
        recent_withdrawn.pk,
        old_open.pk,
    }
    audit = AuditEntry.objects.get(action="joinapplication.purged")
    assert audit.organization == tree.union_a
    assert audit.changes == {"count": 1}
