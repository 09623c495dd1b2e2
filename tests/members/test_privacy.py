"""A member's rights over their own data (PIPL): a copy of it (JSON and XLSX) and deleting
their account, on PostgreSQL.

The member is built through the real actions: joined online, paid dues, ordered services
(one of them legal aid, with a confidential note), proposed and voted for wishes, registered
for an activity, rated a station, went through a hardship aid case to its payment and yearly
review, raised a concern with an attachment, asked for a transfer that was refused.
"""

import datetime
import io
import json
from types import SimpleNamespace

import openpyxl
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessToken, UserSession
from core.models import AuditEntry
from members.actions import dues, joining, transfers
from members.actions import privacy as privacy_actions
from members.models import (
    DuesRecord,
    EventKind,
    JoinApplication,
    Member,
    MembershipEvent,
    MemberStatus,
    Transfer,
    TransferSide,
)
from members.selectors import dues as dues_selectors
from notifications.models import Notification, Preference, RecipientSettings
from organizations import counters
from services.actions import activities, aid, menu, stations, voice
from services.actions import requests as request_actions
from services.actions import wishes as wish_actions
from services.models import (
    AidCase,
    AidStatus,
    AidStep,
    Concern,
    ConcernStatus,
    ConfidentialNote,
    Registration,
    RegistrationStatus,
    RequestStatus,
    ServiceCategory,
    ServiceRequest,
    ServiceWish,
    StationVisit,
    WishVote,
)
from tests.factories import make_member, make_token, person_data

pytestmark = pytest.mark.django_db

PASSWORD = "Harbor-lantern-47q"
NAME = "欧阳明月"
EMAIL = "ouyang.mingyue@example.cn"
VISIT_RECORD = "入户走访：住房简陋，情况属实。"
CONFIDENTIAL = "劳动仲裁材料已收，注意保密"
URLS = ("my-data-export-json", "my-data-export-xlsx", "my-data-delete")
PDF = b"%PDF-1.4\n% a tiny test file\n"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def in_english(settings):
    """Messages are asserted in English, whatever the Chinese translations say."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def aiders(tree, make_officer):
    return SimpleNamespace(
        a=make_officer("a_aid", tree.union_a, "aid"),
        county=make_officer("xihu_aid", tree.xihu, "aid"),
    )


def join_online(org, admin, **overrides) -> tuple[Member, dict]:
    """A person applies online and is approved: a member with a login (membership number
    or phone, PASSWORD). Returns the member and the raw data they typed."""
    raw = person_data(**overrides)
    application, _key = joining.submit_join_application(
        organization=org,
        data=raw,
        password=PASSWORD,
        privacy_consent=True,
        sensitive_consent=True,
    )
    member = joining.approve_join_application(application=application, acting_user=admin)
    return Member.objects.select_related("user", "organization").get(pk=member.pk), raw


def last_month() -> datetime.date:
    return (dues_selectors.current_period() - datetime.timedelta(days=1)).replace(day=1)


def offer(org, by, title, **data):
    data = {"title": title, "category": "inclusive", "description": title, **data}
    service = menu.create_service(organization=org, data=data, acting_user=by)
    return menu.publish_service(service=service, acting_user=by)


def an_activity(org, by, *, capacity=1):
    activity = activities.create_activity(
        organization=org,
        data={"title": "周末羽毛球赛", "description": "职工羽毛球友谊赛", "venue": "体育馆"},
        acting_user=by,
    )
    start = timezone.now() + datetime.timedelta(days=2)
    activities.add_session(
        activity=activity,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        capacity=capacity,
        acting_user=by,
    )
    activity = activities.publish_activity(activity=activity, acting_user=by)
    return activity.sessions.get()


def paid_and_closed_aid_case(member, aiders, situation):
    """A hardship aid case from the application to its payment and yearly review."""
    case = aid.apply_for_aid(
        member=member,
        data={
            "tier": "relative",
            "reason": "illness",
            "household_size": 3,
            "household_monthly_income": "2400.00",
            "situation": situation,
            "amount_requested": "3000.00",
        },
    )
    aid.review_case(case=case, accept=True, acting_user=aiders.a)
    aid.record_home_visit(
        case=case,
        text=f"{VISIT_RECORD}{member.name}本人在家。",
        visited_on=timezone.localdate(),
        visitors="张三、李四",
        acting_user=aiders.a,
    )
    aid.approve_case(case=case, amount="2000", tier="deep", acting_user=aiders.county)
    aid.start_notice(case=case, acting_user=aiders.a)
    today = timezone.localdate()
    AidCase.objects.filter(pk=case.pk).update(
        notice_starts_on=today - datetime.timedelta(days=7),
        notice_ends_on=today - datetime.timedelta(days=1),
    )
    case.refresh_from_db()
    case = aid.record_disbursement(case=case, method="bank", acting_user=aiders.a)
    return aid.yearly_review(
        case=case, continue_aid=False, text="家庭情况好转。", acting_user=aiders.a
    )


@pytest.fixture
def person(tree, officers, aiders, django_capture_on_commit_callbacks):
    """The member with data in every part of the platform, and a sibling member of the same
    union (`other`) who shares some of it (votes, the activity)."""
    with django_capture_on_commit_callbacks(execute=True):
        member, raw = join_online(tree.union_a, officers.a_admin, name=NAME)
        other, other_raw = join_online(tree.union_a, officers.a_admin, name="司马青云")
        user = member.user
        user.email = EMAIL
        user.save(update_fields=["email"])
        Preference.objects.create(user=user, kind="dues.reminder", channel="sms", enabled=False)
        RecipientSettings.objects.create(user=user, language="zh-hans")
        make_token(user)

        dues.set_wage_base(member=member, wage_base="5000.00", acting_user=None)
        dues.generate_monthly_dues(organization=tree.union_a, period=last_month())
        dues.record_payment(
            record=DuesRecord.objects.get(member=member),
            amount="25.00",
            method="wechat",
            acting_user=officers.a_admin,
        )

        checkup = offer(tree.union_a, officers.a_admin, "年度体检")
        done = request_actions.order_service(
            service=checkup, member=member, note=f"我是{NAME}，电话{raw['phone']}", acting_user=user
        )
        request_actions.accept_request(request=done, acting_user=officers.a_admin)
        request_actions.start_request(request=done, acting_user=officers.a_admin)
        request_actions.complete_request(
            request=done, result=f"已为{NAME}安排体检。", acting_user=officers.a_admin
        )
        request_actions.rate_request(
            request=done, rating=5, comment=f"{NAME}很满意", acting_user=user
        )
        legal = offer(tree.union_a, officers.a_admin, "法律援助", category=ServiceCategory.LEGAL)
        legal_request = request_actions.order_service(
            service=legal, member=member, note="工资被拖欠", acting_user=user
        )
        request_actions.add_confidential_note(
            request=legal_request, text=f"{CONFIDENTIAL}：{NAME}", acting_user=officers.a_admin
        )
        training = offer(tree.union_a, officers.a_admin, "电工培训", capacity=5)
        open_request = request_actions.order_service(
            service=training, member=member, acting_user=user
        )

        wish = wish_actions.propose_wish(
            member=member,
            organization=tree.union_a,
            title="周末开放健身房",
            description=f"{NAME}提议，联系电话{raw['phone']}",
            acting_user=user,
        )
        wish_actions.vote_wish(wish=wish, member=other, acting_user=other.user)
        others_wish = wish_actions.propose_wish(
            member=other, organization=tree.union_a, title="开设书法班", acting_user=other.user
        )
        wish_actions.vote_wish(wish=others_wish, member=member, acting_user=user)

        session = an_activity(tree.union_a, officers.a_admin, capacity=1)
        activities.register(session=session, member=member, acting_user=user)
        activities.register(session=session, member=other, acting_user=other.user)

        station = stations.create_station(
            organization=tree.union_a,
            data={"name": "甲公司职工之家", "address": "文三路1号"},
            acting_user=officers.a_admin,
        )
        stations.rate_visit(station=station, member=member, rating=4, comment=f"{NAME}来过")

        case = paid_and_closed_aid_case(member, aiders, f"{NAME}妻子重病住院。")

        concern = voice.raise_concern(
            member=member,
            data={
                "category": "wages",
                "title": '=HYPERLINK("http://example.com")',
                "text": f"我是{NAME}，身份证{raw['id_number']}，三月加班费未发。",
                "hide_name": False,
            },
            attachment=SimpleUploadedFile("工资条.pdf", PDF, content_type="application/pdf"),
        )
        voice.reply_to_concern(
            concern=concern,
            text=f"{NAME}您好，已联系公司财务。",
            acting_user=officers.a_admin,
        )

        transfer = transfers.request_transfer(
            member=member,
            to_organization=tree.union_b,
            side=TransferSide.MEMBER,
            acting_user=user,
            reason=f"{NAME}换工作",
            new_employer="杭州乙物流有限公司",
        )
        transfers.refuse_transfer(
            transfer=transfer, side="receiving", acting_user=officers.b_admin, reason="名额已满"
        )
    member = Member.objects.select_related("user", "organization").get(pk=member.pk)
    return SimpleNamespace(
        member=member,
        user=member.user,
        raw=raw,
        other=other,
        other_raw=other_raw,
        session=session,
        done=done,
        legal_request=legal_request,
        open_request=open_request,
        wish=wish,
        case=case,
        concern=Concern.objects.get(pk=concern.pk),
        transfer=transfer,
    )


def logged_in(member) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(request=HttpRequest(), username=member.phone, password=PASSWORD)
    # A first page registers the session (accounts.SessionRegistryMiddleware).
    assert client.get(reverse("my-membership")).status_code == 200
    return client


def assert_counters_exact():
    drift = counters.verify()
    assert drift.ok, drift.wrong


# --- Download my data -----------------------------------------------------------------------


def test_json_copy_holds_the_members_own_data_with_the_full_id_and_nothing_of_others(person):
    client = logged_in(person.member)
    page = client.get(reverse("my-membership")).content.decode()
    assert page.count('id="my-data-heading"') == 1
    assert page.count(reverse("my-data-export-json")) == 1

    response = client.get(reverse("my-data-export-json"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    text = response.content.decode()

    record = data["member"]
    assert record["name"] == NAME
    assert record["id_number"] == person.raw["id_number"]  # full, not masked
    assert record["phone"] == person.raw["phone"]
    assert record["membership_number"] == person.member.membership_number
    assert data["account"]["email"] == EMAIL
    assert data["account"]["username"] == person.member.membership_number
    assert len(data["notification_preferences"]) == 1
    assert data["login_sessions"]
    assert [e["kind"] for e in data["membership_history"]] == [str(EventKind.JOINED.label)]
    assert [d["amount_paid"] for d in data["dues"]] == ["25.00"]
    (application,) = data["join_applications"]
    assert application["id_number"] == person.raw["id_number"]
    assert data["transfers"][0]["new_employer"] == "杭州乙物流有限公司"
    assert {r["service"] for r in data["service_requests"]} == {"年度体检", "法律援助", "电工培训"}
    assert data["service_request_history"]
    assert [w["title"] for w in data["service_wishes"]] == ["周末开放健身房"]
    # Their own vote comes with the wish they proposed.
    assert sorted(v["wish"] for v in data["wish_votes"]) == ["周末开放健身房", "开设书法班"]
    assert data["activity_registrations"][0]["activity"] == "周末羽毛球赛"
    assert data["station_visits"][0]["rating"] == 4
    assert data["aid_cases"][0]["situation"] == f"{NAME}妻子重病住院。"
    assert any(s["amount"] == "2000.00" for s in data["aid_case_history"])
    assert data["concerns"][0]["attachment"].endswith(".pdf")
    assert f"{NAME}您好，已联系公司财务。" in [s["text"] for s in data["concern_history"]]
    assert data["notifications"]

    # No one else's data, and none of the officers' internal records.
    for foreign in (
        person.other_raw["name"],
        person.other_raw["id_number"],
        person.other_raw["phone"],
        person.other.membership_number,
        CONFIDENTIAL,
        VISIT_RECORD,
        "张三、李四",
        "a_admin",
        "a_aid",
    ):
        assert foreign not in text, foreign

    entry = AuditEntry.objects.get(action="member.personal_data_exported")
    assert entry.actor == person.user and entry.object_id == str(person.member.pk)
    assert entry.organization == person.member.organization
    assert entry.changes == {"format": "json"}
    assert person.raw["id_number"] not in json.dumps(entry.changes)


def test_xlsx_copy_opens_in_openpyxl_with_a_sheet_per_section_and_formulas_escaped(person):
    client = logged_in(person.member)
    response = client.get(reverse("my-data-export-xlsx"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    assert "no-store" in response["Cache-Control"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(workbook.sheetnames) >= 20
    cells = [
        cell
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]
    assert person.raw["id_number"] in cells and person.raw["phone"] in cells
    assert person.other_raw["id_number"] not in cells
    # The concern's title looked like a formula: it is text, not a formula.
    assert '\'=HYPERLINK("http://example.com")' in cells
    assert not any(isinstance(c, str) and c.startswith("=") for c in cells)
    assert AuditEntry.objects.filter(
        action="member.personal_data_exported", changes={"format": "xlsx"}
    ).exists()


def test_each_download_is_logged(person):
    client = logged_in(person.member)
    for name in ("my-data-export-json", "my-data-export-xlsx", "my-data-export-json"):
        assert client.get(reverse(name)).status_code == 200
    assert AuditEntry.objects.filter(action="member.personal_data_exported").count() == 3


@pytest.mark.parametrize("name", URLS)
def test_anonymous_visitor_is_sent_to_the_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", URLS)
def test_officer_without_a_member_record_gets_404(client, officers, name):
    client.force_login(officers.a_admin)
    assert client.get(reverse(name)).status_code == 404
    assert client.post(reverse("my-data-delete"), {"password": "Pass-word-123"}).status_code == 404
    assert not AuditEntry.objects.filter(action="member.personal_data_exported").exists()


def test_the_copy_is_only_for_the_member_themself(person, officers):
    with pytest.raises(PermissionDenied):
        privacy_actions.export_my_data(
            member=person.member, fmt="json", acting_user=officers.a_admin
        )


# --- Deleting the account ----------------------------------------------------------------------


def identifiers_of(person) -> dict[str, str]:
    member = person.member
    return {
        "name": NAME,
        "id number": person.raw["id_number"],
        "phone": person.raw["phone"],
        "id hash": member.id_hash,
        "phone hash": member.phone_hash,
        "id ciphertext": member.id_number_encrypted,
        "phone ciphertext": member.phone_encrypted,
        "membership number": member.membership_number,
        "card number": member.card_number,
        "email": EMAIL,
    }


def occurrences(needles: dict[str, str]) -> list[str]:
    """Every text, JSON and file column of every row in the database that holds one of the
    needles: (model, field, which needle)."""
    text_fields = (models.CharField, models.TextField, models.JSONField, models.FileField)
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, text_fields)]
        if not fields:
            continue
        for row in model._base_manager.values_list(*(f.attname for f in fields)):
            for field, value in zip(fields, row, strict=True):
                text = json.dumps(value, ensure_ascii=False) if value is not None else ""
                found += [
                    f"{model._meta.label}.{field.name}: {what}"
                    for what, needle in needles.items()
                    if needle and needle in text
                ]
    return found


def delete(client, password=PASSWORD):
    return client.post(reverse("my-data-delete"), {"password": password, "understood": "on"})


def test_confirmation_page_explains_what_is_deleted_and_kept(person):
    client = logged_in(person.member)
    page = client.get(reverse("my-data-delete"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'type="password"' in html and "What is kept, and why" in html
    # No inline script, style or event handler (the site's CSP forbids them).
    assert "<script" not in html and "style=" not in html and " onclick=" not in html


def test_deleting_erases_every_identifier_and_keeps_the_records_unlinked(
    person, officers, django_capture_on_commit_callbacks
):
    member, user = person.member, person.user
    needles = identifiers_of(person)
    assert occurrences(needles)  # the scan finds them before
    client = logged_in(member)
    elsewhere = logged_in(member)  # another browser
    assert UserSession.objects.filter(user=user).count() == 2
    attachment = person.concern.attachment
    storage, stored_name = attachment.storage, attachment.name
    assert storage.exists(stored_name)
    counts_before = {
        model: model.objects.count()
        for model in (MembershipEvent, DuesRecord, AidCase, AidStep, Concern, ServiceRequest)
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = delete(client)
    assert response.status_code == 302 and response["Location"] == reverse("directory")

    # Nothing that names the person is left anywhere in the database.
    assert occurrences(needles) == []

    # The member record: erased, out of every count, but still there for the records.
    member.refresh_from_db()
    assert member.deleted_at is not None and member.user is None
    assert member.status == MemberStatus.WITHDRAWN
    assert member.id_hash == member.phone_hash == member.id_number_encrypted == ""
    assert member.employer == member.job == "" and member.wage_base is None
    assert member.card_number is None
    assert member.name != NAME
    event = member.events.order_by("at", "pk").last()
    assert (event.kind, event.from_status, event.to_status) == (
        EventKind.STATUS_CHANGED,
        MemberStatus.ACTIVE,
        MemberStatus.WITHDRAWN,
    )
    assert_counters_exact()

    # The login: anonymised, unusable, logged out everywhere, no token, no inbox.
    user.refresh_from_db()
    assert user.username.startswith("deleted-") and user.email == ""
    assert not user.has_usable_password() and not user.is_active
    assert UserSession.objects.filter(user=user).count() == 0
    assert not AccessToken.objects.filter(user=user).exists()
    assert not Notification.objects.filter(recipient=user).exists()
    assert not Preference.objects.filter(user=user).exists()
    assert not RecipientSettings.objects.filter(user=user).exists()
    assert elsewhere.get(reverse("my-membership")).status_code == 302
    for login in (person.raw["phone"], needles["membership number"]):
        assert not Client().login(request=HttpRequest(), username=login, password=PASSWORD)

    # Kept, unlinked: history, dues, the aid case and its payment, concerns, orders.
    for model, count in counts_before.items():
        assert model.objects.count() >= count, model
    assert member.dues.get().amount_paid == 25
    case = AidCase.objects.get(pk=person.case.pk)
    assert case.member_id == member.pk and case.status == AidStatus.CLOSED
    assert case.situation == "***妻子重病住院。"
    assert case.steps.filter(kind="disbursed", amount=2000).exists()
    transfer = Transfer.objects.get(pk=person.transfer.pk)
    assert transfer.reason == "***换工作" and transfer.new_employer == ""
    application = JoinApplication.objects.get(member=member)
    assert application.id_hash == application.id_number_encrypted == ""
    assert application.name != NAME and application.password_hash == ""

    # What was open is closed through its own action; what only concerned them is gone.
    concern = Concern.objects.get(pk=person.concern.pk)
    assert concern.status == ConcernStatus.CLOSED and not concern.attachment
    assert not storage.exists(stored_name)
    assert concern.steps.filter(kind="replied", text="***您好，已联系公司财务。").exists()
    assert ServiceRequest.objects.get(pk=person.open_request.pk).status == RequestStatus.CANCELLED
    assert ServiceRequest.objects.get(pk=person.done.pk).rating == 5
    assert not ConfidentialNote.objects.filter(request__member=member).exists()
    assert Registration.objects.get(member=member).status == RegistrationStatus.CANCELLED
    # The place went to the next in line.
    assert Registration.objects.get(member=person.other).status == RegistrationStatus.REGISTERED
    wish = ServiceWish.objects.get(pk=person.wish.pk)
    assert wish.proposer is None and wish.votes == 2
    assert WishVote.objects.filter(member=member).exists()
    assert StationVisit.objects.get(member=member).comment == ""

    # The other member is untouched.
    other = Member.objects.get(pk=person.other.pk)
    assert other.name == "司马青云" and other.deleted_at is None
    assert other.id_number == person.other_raw["id_number"]

    entry = AuditEntry.objects.get(action="member.erased")
    assert entry.object_id == str(member.pk) and entry.actor_id == user.pk
    assert entry.changes == {"by_member": True}
    assert AuditEntry.objects.filter(
        action="member.status_changed", object_id=str(member.pk)
    ).exists()


def test_the_same_person_can_join_again_after_deleting(person, tree, officers):
    old_number = person.member.membership_number
    privacy_actions.erase_member(member=person.member, acting_user=person.user)
    again, _raw = join_online(
        tree.union_b,
        officers.b_admin,
        name=NAME,
        id_number=person.raw["id_number"],
        phone=person.raw["phone"],
    )
    assert again.pk != person.member.pk and again.membership_number != old_number
    assert again.id_number == person.raw["id_number"] and again.deleted_at is None
    assert Client().login(request=HttpRequest(), username=person.raw["phone"], password=PASSWORD)
    assert_counters_exact()


def test_a_wrong_password_refuses_and_changes_nothing(person):
    client = logged_in(person.member)
    member_before = Member.objects.filter(pk=person.member.pk).values().get()
    user_before = get_user_model().objects.filter(pk=person.user.pk).values().get()
    audits = AuditEntry.objects.count()

    response = delete(client, password="not-my-password-9")
    assert response.status_code == 200
    assert response.context["form"].errors["password"]

    assert Member.objects.filter(pk=person.member.pk).values().get() == member_before
    assert get_user_model().objects.filter(pk=person.user.pk).values().get() == user_before
    assert AuditEntry.objects.count() == audits
    assert Notification.objects.filter(recipient=person.user).exists()
    assert client.get(reverse("my-membership")).status_code == 200


def test_the_checkbox_is_required_too(person):
    client = logged_in(person.member)
    response = client.post(reverse("my-data-delete"), {"password": PASSWORD})
    assert response.status_code == 200 and response.context["form"].errors["understood"]
    assert Member.objects.get(pk=person.member.pk).deleted_at is None


def test_an_open_hardship_aid_case_refuses_the_deletion(tree, officers):
    member, _raw = join_online(tree.union_a, officers.a_admin, name=NAME)
    aid.apply_for_aid(
        member=member,
        data={
            "tier": "relative",
            "reason": "illness",
            "household_size": 2,
            "household_monthly_income": "1800.00",
            "situation": "重病",
            "amount_requested": "2000.00",
        },
    )
    client = logged_in(member)
    page = client.get(reverse("my-data-delete"))
    assert page.status_code == 200 and page.context["refusals"]
    assert "hardship aid case" in " ".join(page.context["refusals"])
    assert 'type="password"' not in page.content.decode()

    response = delete(client)
    assert response.status_code == 200 and response.context["refusals"]
    member.refresh_from_db()
    assert member.deleted_at is None and member.name == NAME
    assert member.status == MemberStatus.ACTIVE and member.user.is_active
    assert not AuditEntry.objects.filter(action="member.erased").exists()
    with pytest.raises(ValidationError, match="hardship aid case"):
        privacy_actions.erase_member(member=member, acting_user=member.user)


def test_an_open_transfer_refuses_the_deletion(tree, officers):
    member, _raw = join_online(tree.union_a, officers.a_admin)
    transfers.request_transfer(
        member=member,
        to_organization=tree.union_b,
        side=TransferSide.MEMBER,
        acting_user=member.user,
    )
    with pytest.raises(ValidationError, match="transfer"):
        privacy_actions.erase_member(member=member, acting_user=member.user)
    member.refresh_from_db()
    assert member.deleted_at is None and member.status == MemberStatus.ACTIVE


def test_a_login_that_is_also_an_officers_account_is_not_deleted(tree, officers):
    from organizations import actions as org_actions

    member, _raw = join_online(tree.union_a, officers.a_admin)
    org_actions.grant_role(user=member.user, organization=tree.union_a, role="staff")
    with pytest.raises(ValidationError, match="officer"):
        privacy_actions.erase_member(member=member, acting_user=member.user)
    assert Member.objects.get(pk=member.pk).deleted_at is None


def test_another_member_cannot_erase_someone_else(tree, officers):
    member = make_member(tree.union_a)
    someone, _raw = join_online(tree.union_a, officers.a_admin)
    with pytest.raises(PermissionDenied):
        privacy_actions.erase_member(member=member, acting_user=someone.user)
    assert Member.objects.get(pk=member.pk).deleted_at is None


def test_deleting_leaves_no_row_of_the_login_in_the_inbox_or_account_tables(
    tree, officers, settings, django_capture_on_commit_callbacks
):
    """Each app's registered eraser deletes its own rows: messages with their deliveries and
    captured copies, preferences, settings, sessions, an officer's own phone, the API token,
    second-factor devices."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.phones import set_account_phone
    from notifications.models import CapturedMessage, Delivery

    settings.SMS_BACKEND = "notifications.backends.CaptureSmsBackend"
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)  # SMS go out now, whatever the hour
    with django_capture_on_commit_callbacks(execute=True):
        member, _raw = join_online(tree.union_a, officers.a_admin)  # told by SMS too
    user = member.user
    Preference.objects.create(user=user, kind="dues.reminder", channel="sms", enabled=False)
    RecipientSettings.objects.create(user=user, language="zh-hans")
    make_token(user)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=False)
    set_account_phone(user, "13911112222")  # also an officer, with a phone of their own
    logged_in(member)
    deliveries = list(Delivery.objects.filter(notification__recipient=user))
    captured = CapturedMessage.objects.filter(reference__in=[str(d.pk) for d in deliveries])
    assert deliveries and captured.exists()
    of_the_user = [
        (model, field.name)
        for label in ("notifications", "accounts", "otp_totp")
        for model in apps.get_app_config(label).get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is get_user_model()
    ]
    assert len(of_the_user) >= 7  # inbox, preferences, settings, sessions, phone, token, device
    assert all(model.objects.filter(**{name: user}).exists() for model, name in of_the_user)

    privacy_actions.erase_member(member=member, acting_user=user)

    for model, name in of_the_user:
        assert not model.objects.filter(**{name: user}).exists(), model
    assert not Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).exists()
    assert not captured.exists()
