"""Worker voice (职工之声): raising, escalation up the tree, answers, ratings, on PostgreSQL."""

import datetime
import io
import itertools
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import AuditEntry
from notifications.models import Notification
from organizations import counters
from organizations.models import Level, OrgStatus
from services.actions import voice
from services.models import (
    Concern,
    ConcernGrade,
    ConcernStatus,
    ConcernStepKind,
    ServiceSettings,
)
from services.selectors.voice import member_label
from services.tasks.voice import escalate_overdue_concerns_task
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)


def concern_data(**overrides):
    return {
        "category": "wages",
        "title": "加班费未发",
        "text": "三月加班费至今未发放。",
        "hide_name": False,
        **overrides,
    }


def raise_for(member, **overrides):
    return voice.raise_concern(member=member, data=concern_data(**overrides))


def value(org, key):
    return counters.values(org).get(f"services.voice.{key}", 0)


def assert_counters_exact():
    drift = counters.verify(["services.voice."])
    assert drift.ok, drift.wrong


def kinds_of(concern):
    return list(concern.steps.values_list("kind", flat=True))


def inbox(user, kind):
    return Notification.objects.filter(recipient=user, kind=kind)


# --- Raising -----------------------------------------------------------------------------


def test_a_raised_concern_goes_to_the_members_union_due_as_general(
    tree, officers, members, clock, committed
):
    with committed():
        concern = raise_for(members.a)

    assert concern.origin == tree.union_a and concern.organization == tree.union_a
    assert concern.status == ConcernStatus.OPEN and concern.grade == ConcernGrade.GENERAL
    assert concern.due_at == clock.now + 3 * DAY
    assert kinds_of(concern) == [ConcernStepKind.RAISED]
    assert value(tree.union_a, "raised") == 1 and value(tree.union_a, "open") == 1
    assert inbox(officers.a_staff, "services.voice.raised").count() == 1
    assert not inbox(officers.b_admin, "services.voice.raised").exists()
    assert AuditEntry.objects.filter(action="concern.raised", object_id=str(concern.pk)).exists()
    assert_counters_exact()


def test_the_union_s_own_settings_set_the_due_time(tree, members, clock):
    ServiceSettings.objects.create(organization=tree.union_a, concern_days_general=1)
    assert raise_for(members.a).due_at == clock.now + DAY


def test_raising_needs_a_category_subject_and_text(tree, members):
    with pytest.raises(ValidationError) as error:
        voice.raise_concern(member=members.a, data={"category": "nope", "title": " ", "text": ""})
    assert set(error.value.message_dict) == {"category", "title", "text"}
    assert not Concern.objects.exists()


def test_a_former_member_cannot_raise_a_concern(tree, members):
    members.a.status = "withdrawn"
    members.a.save(update_fields=["status"])
    with pytest.raises(ValidationError, match="not current"):
        raise_for(members.a)


# --- Attachments -------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64


def docx_bytes(inner="word/document.xml"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(inner, "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("工资条.png", PNG),
        ("合同.pdf", PDF),
        ("说明.docx", docx_bytes()),
        ("x.JPEG", b"\xff\xd8\xff\xe0" + b"0" * 20),
    ],
)
def test_pdf_jpg_png_and_docx_attachments_are_kept_under_a_random_name(
    tree, members, name, content
):
    upload = SimpleUploadedFile(name, content)
    concern = voice.raise_concern(member=members.a, data=concern_data(), attachment=upload)
    stored = concern.attachment.name
    assert stored.startswith("concerns/") and name.split(".")[0] not in stored
    assert stored.rsplit(".", 1)[1] in {"png", "pdf", "docx", "jpg"}
    with concern.attachment.open("rb") as f:
        assert f.read() == content
    concern.attachment.delete(save=False)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.exe", b"MZ" + b"0" * 20, "PDF, JPG, PNG or Word"),
        ("noextension", PDF, "PDF, JPG, PNG or Word"),
        ("fake.pdf", PNG, "not a PDF file"),
        ("fake.png", b"GIF89a" + b"0" * 20, "not a PNG file"),
        ("archive.docx", docx_bytes("other.txt"), "not a DOCX file"),
        ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), "at most 5 MB"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_wrong_attachments_are_refused_with_a_clear_error(tree, members, name, content, message):
    upload = SimpleUploadedFile(name, content)
    with pytest.raises(ValidationError) as error:
        voice.raise_concern(member=members.a, data=concern_data(), attachment=upload)
    assert message in " ".join(error.value.message_dict["attachment"])
    assert not Concern.objects.exists()


# --- Escalation with a frozen clock ------------------------------------------------------


def test_an_unanswered_concern_climbs_one_level_per_period_until_answered_one_level_up(
    tree, officers, members, clock, make_officer, committed
):
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")
    concern = raise_for(members.a)
    ladder = [tree.xihu, tree.hz, tree.zj, tree.national]

    # The runs' notifications go out at the end of this block, as after their commits.
    with committed():
        # Not yet due: nothing moves.
        clock.advance(3 * DAY - MINUTE)
        assert voice.escalate_overdue_concerns() == 0

        for step, union in enumerate(ladder, start=1):
            concern.refresh_from_db()
            clock.now = concern.due_at
            assert voice.escalate_overdue_concerns() == 1
            # One level per period: the same run again moves nothing.
            assert voice.escalate_overdue_concerns() == 0
            concern.refresh_from_db()
            assert concern.organization == union
            assert concern.escalations == step
            assert concern.due_at == clock.now + 3 * DAY
            clock.advance(DAY)
            assert voice.escalate_overdue_concerns() == 0
    assert inbox(xihu_staff, "services.voice.escalated").count() == 1

    history = list(
        concern.steps.filter(kind=ConcernStepKind.ESCALATED).values_list(
            "from_organization", "to_organization"
        )
    )
    chain = [tree.union_a, *ladder]
    assert history == [(a.pk, b.pk) for a, b in itertools.pairwise(chain)]
    assert inbox(members.a.user, "services.voice.escalated_member").count() == 4
    assert value(tree.union_a, "escalations") == 4
    assert value(tree.union_a, "overdue") == 1
    assert_counters_exact()

    # At the top it stays: one reminder when the due time passes again, not one per run.
    clock.advance(3 * DAY)
    with committed():
        assert voice.escalate_overdue_concerns() == 0
        assert voice.escalate_overdue_concerns() == 0
    concern.refresh_from_db()
    assert concern.organization == tree.national and concern.escalations == 4
    assert concern.due_at == clock.now + 3 * DAY
    assert concern.steps.filter(kind=ConcernStepKind.ESCALATED).count() == 5
    assert inbox(officers.national_admin, "services.voice.still_open").count() == 1

    # The national federation answers; the member rates the answer.
    voice.reply_to_concern(
        concern=concern, text="已督促企业补发。", acting_user=officers.national_admin
    )
    assert value(tree.union_a, "open") == 0 and value(tree.union_a, "overdue") == 0
    clock.advance(DAY)
    assert voice.escalate_overdue_concerns() == 0
    voice.rate_concern(concern=concern, member=members.a, rating=5, comment="谢谢")
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.CLOSED and concern.rating == 5
    assert kinds_of(concern)[-2:] == [ConcernStepKind.REPLIED, ConcernStepKind.RATED]
    assert value(tree.union_a, "rating_sum") == 5 and value(tree.union_a, "rating_count") == 1
    assert_counters_exact()


def test_answered_one_level_up_then_rated(tree, officers, members, clock, make_officer, committed):
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")
    concern = raise_for(members.a)
    clock.advance(3 * DAY)
    assert voice.escalate_overdue_concerns() == 1
    concern.refresh_from_db()
    assert concern.organization == tree.xihu

    # The grassroots union no longer handles it.
    with pytest.raises(PermissionDenied):
        voice.reply_to_concern(concern=concern, text="晚了", acting_user=officers.a_staff)

    clock.advance(2 * 60 * MINUTE)
    with committed():
        voice.reply_to_concern(concern=concern, text="已联系企业。", acting_user=xihu_staff)
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.ANSWERED and concern.answered_at == clock.now
    assert inbox(members.a.user, "services.voice.replied").count() == 1
    assert value(tree.union_a, "answered") == 1
    assert value(tree.union_a, "response_seconds") == int((3 * DAY).total_seconds()) + 7200
    # Answered concerns are not escalated.
    clock.advance(10 * DAY)
    assert voice.escalate_overdue_concerns() == 0

    voice.rate_concern(concern=concern, member=members.a, rating=4)
    assert value(tree.union_a, "rating_sum") == 4
    assert_counters_exact()


def test_a_concern_handed_to_a_province_keeps_escalating_to_the_national_federation(
    tree, officers, members, clock
):
    concern = raise_for(members.a)
    voice.hand_over_concern(
        concern=concern, to_organization=tree.zj, reason="涉及全省", acting_user=officers.a_admin
    )
    clock.advance(3 * DAY)
    assert voice.escalate_overdue_concerns() == 1
    concern.refresh_from_db()
    # The province's parent lives in another tree: `.parent`, not the MPTT parent.
    assert concern.organization == tree.national


def test_a_dissolved_parent_is_skipped(tree, members, clock):
    tree.xihu.status = OrgStatus.DISSOLVED
    tree.xihu.save(update_fields=["status"])
    concern = raise_for(members.a)
    clock.advance(3 * DAY)
    voice.escalate_overdue_concerns()
    concern.refresh_from_db()
    assert concern.organization == tree.hz


def test_the_task_wrapper_escalates(tree, members, clock):
    concern = raise_for(members.a)
    clock.advance(4 * DAY)
    assert escalate_overdue_concerns_task.delay().get() == 1
    concern.refresh_from_db()
    assert concern.organization == tree.xihu


def test_the_escalation_job_is_scheduled_every_15_minutes():
    from django_celery_beat.models import PeriodicTask

    from services.schedules import ensure_schedules

    ensure_schedules()
    job = PeriodicTask.objects.get(task="services.tasks.voice.escalate_overdue_concerns_task")
    assert job.interval.every == 15 and job.interval.period == "minutes"


# --- Grading, reopening, closing ---------------------------------------------------------


def test_grading_recomputes_the_due_time_from_when_the_union_received_it(
    tree, officers, members, clock, make_officer
):
    concern = raise_for(members.a)
    clock.advance(3 * DAY)
    voice.escalate_overdue_concerns()
    received = clock.now
    clock.advance(DAY)
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")
    ServiceSettings.objects.create(organization=tree.xihu, concern_days_complex=20)

    voice.grade_concern(concern=concern, grade=ConcernGrade.COMPLEX, acting_user=xihu_staff)

    concern.refresh_from_db()
    assert concern.grade == ConcernGrade.COMPLEX
    assert concern.due_at == received + 20 * DAY
    assert kinds_of(concern)[-1] == ConcernStepKind.GRADED
    with pytest.raises(ValidationError):
        voice.grade_concern(concern=concern, grade="urgent", acting_user=xihu_staff)


def test_the_member_reopens_an_answer_that_did_not_solve_it(tree, officers, members, clock):
    concern = raise_for(members.a)
    clock.advance(3 * DAY)
    voice.escalate_overdue_concerns()  # to xihu; hz_admin handles it from above
    voice.reply_to_concern(concern=concern, text="请找人事。", acting_user=officers.hz_admin)
    assert value(tree.union_a, "overdue") == 0
    clock.advance(DAY)

    voice.reopen_concern(concern=concern, member=members.a, reason="人事不理")

    concern.refresh_from_db()
    assert concern.status == ConcernStatus.OPEN and concern.organization == tree.xihu
    assert concern.due_at == clock.now + 3 * DAY
    assert kinds_of(concern)[-1] == ConcernStepKind.REOPENED
    assert value(tree.union_a, "open") == 1 and value(tree.union_a, "overdue") == 1
    # A second answer does not count the response time again.
    voice.reply_to_concern(concern=concern, text="已约谈。", acting_user=officers.hz_admin)
    assert value(tree.union_a, "answered") == 1
    assert_counters_exact()


def test_only_the_member_who_raised_it_rates_or_reopens(tree, officers, members):
    concern = raise_for(members.a)
    with pytest.raises(ValidationError, match="once it has been answered"):
        voice.rate_concern(concern=concern, member=members.a, rating=5)
    voice.reply_to_concern(concern=concern, text="好的", acting_user=officers.a_staff)
    with pytest.raises(PermissionDenied):
        voice.rate_concern(concern=concern, member=members.a2, rating=1)
    with pytest.raises(PermissionDenied):
        voice.reopen_concern(concern=concern, member=members.a2, reason="x")
    with pytest.raises(ValidationError):
        voice.rate_concern(concern=concern, member=members.a, rating=6)
    voice.rate_concern(concern=concern, member=members.a, rating=3)
    with pytest.raises(ValidationError, match="finished"):
        voice.reopen_concern(concern=concern, member=members.a, reason="again")


def test_staff_close_an_open_concern_and_the_member_can_reopen_it(
    tree, officers, members, committed
):
    concern = raise_for(members.a)
    with committed():
        voice.close_concern(concern=concern, acting_user=officers.a_staff, note="重复")
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.CLOSED and concern.closed_at is not None
    assert value(tree.union_a, "open") == 0
    assert inbox(members.a.user, "services.voice.closed").count() == 1
    with pytest.raises(ValidationError):
        voice.close_concern(concern=concern, acting_user=officers.a_staff)
    voice.reopen_concern(concern=concern, member=members.a, reason="并不重复")
    assert value(tree.union_a, "open") == 1
    assert_counters_exact()


def test_sibling_union_staff_cannot_act_on_a_concern(tree, officers, members):
    concern = raise_for(members.a)
    for do in (
        lambda: voice.reply_to_concern(concern=concern, text="x", acting_user=officers.b_admin),
        lambda: voice.close_concern(concern=concern, acting_user=officers.b_admin),
        lambda: voice.grade_concern(concern=concern, grade="complex", acting_user=officers.b_admin),
        lambda: voice.hand_over_concern(
            concern=concern, to_organization=tree.union_b, reason="x", acting_user=officers.b_admin
        ),
    ):
        with pytest.raises(PermissionDenied):
            do()
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.OPEN and concern.organization == tree.union_a
    assert kinds_of(concern) == [ConcernStepKind.RAISED]


# --- Hand over to an industry union -------------------------------------------------------


@pytest.fixture
def industry(tree):
    return OrganizationFactory(name="浙江省机械冶金工会", level=Level.INDUSTRY, parent=tree.zj)


def test_hand_over_to_an_industry_union_with_its_own_due_time(
    tree, officers, members, clock, industry, make_officer, committed
):
    industry_staff = make_officer("industry_staff", industry, "staff")
    ServiceSettings.objects.create(organization=industry, concern_days_general=5)
    concern = raise_for(members.a, hide_name=True)
    clock.advance(DAY)

    with committed():
        voice.hand_over_concern(
            concern=concern,
            to_organization=industry,
            reason="行业工资集体协商问题",
            acting_user=officers.a_staff,
        )

    concern.refresh_from_db()
    assert concern.organization == industry and concern.due_at == clock.now + 5 * DAY
    step = concern.steps.get(kind=ConcernStepKind.HANDED_OVER)
    assert (step.from_organization, step.to_organization) == (tree.union_a, industry)
    note = inbox(industry_staff, "services.voice.handed_over").get()
    assert note.context["member"] == "Anonymous worker"
    assert members.a.name not in str(note.context)
    assert inbox(members.a.user, "services.voice.handed_over_member").count() == 1
    # The industry union answers it.
    voice.reply_to_concern(concern=concern, text="已纳入协商。", acting_user=industry_staff)
    # The original union keeps seeing it but no longer handles it.
    with pytest.raises(PermissionDenied):
        voice.close_concern(concern=concern, acting_user=officers.a_staff)
    assert_counters_exact()


def test_hand_over_needs_a_reason_and_an_active_other_union(tree, officers, members, industry):
    concern = raise_for(members.a)
    with pytest.raises(ValidationError) as error:
        voice.hand_over_concern(
            concern=concern, to_organization=industry, reason=" ", acting_user=officers.a_staff
        )
    assert "reason" in error.value.message_dict
    with pytest.raises(ValidationError):
        voice.hand_over_concern(
            concern=concern,
            to_organization=tree.union_a,
            reason="x",
            acting_user=officers.a_staff,
        )
    industry.status = OrgStatus.DISSOLVED
    industry.save(update_fields=["status"])
    with pytest.raises(ValidationError, match="active"):
        voice.hand_over_concern(
            concern=concern, to_organization=industry, reason="x", acting_user=officers.a_staff
        )


# --- Hiding the name ----------------------------------------------------------------------


def test_hide_name_hides_the_member_from_county_staff_but_not_from_their_own_union(
    tree, officers, members, clock, make_officer, committed
):
    xihu_staff = make_officer("xihu_staff", tree.xihu, "staff")
    with committed():
        hidden = raise_for(members.a, hide_name=True)
        shown = raise_for(members.a2)

    assert member_label(hidden, officers.a_staff) == members.a.name
    assert member_label(hidden, xihu_staff) == "Anonymous worker"
    assert member_label(shown, xihu_staff) == members.a2.masked_name != members.a2.name

    clock.advance(3 * DAY)
    with committed():
        voice.escalate_overdue_concerns()
    escalated = inbox(xihu_staff, "services.voice.escalated").values_list("context", flat=True)
    assert sorted(c["member"] for c in escalated) == sorted(
        ["Anonymous worker", members.a2.masked_name]
    )
    raised = inbox(officers.a_staff, "services.voice.raised").values_list("context", flat=True)
    assert {c["member"] for c in raised} == {members.a.masked_name, members.a2.masked_name}


def test_counters_match_the_ground_truth_after_every_kind_of_change(tree, officers, members, clock):
    a = raise_for(members.a)
    b = raise_for(members.b)
    c = raise_for(members.c)
    clock.advance(3 * DAY)
    voice.escalate_overdue_concerns()
    voice.reply_to_concern(concern=a, text="ok", acting_user=officers.hz_admin)
    voice.close_concern(concern=b, acting_user=officers.hz_admin)
    voice.rate_concern(concern=a, member=members.a, rating=2)
    assert value(tree.union_c, "overdue") == 1 and value(tree.union_b, "overdue") == 0
    assert value(tree.union_a, "escalations") == 1
    assert c.pk
    assert_counters_exact()
