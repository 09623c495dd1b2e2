"""Worker voice (职工之声): members raise concerns, unions answer them, and a concern left
unanswered past its due time escalates to the union above, one level per period.

A concern goes to the member's own grassroots union (`origin`), which is also where its
counters are kept, so a higher-level union's subtree sum is its members' figure. The union
handling it now (`organization`) replies, grades it, hands it to another union or closes it;
the member rates the answer (which closes it) or reopens it. Every step is a `ConcernStep`.

Due times come from the handling union's `ServiceSettings`, or the defaults in
`settings.SERVICES_CONCERN_DUE_DAYS`. Lock order: the concern row only.
"""

from __future__ import annotations

import datetime
import secrets
import zipfile

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from members.actions.permissions import require
from members.models import Member
from notifications.actions import link_for, notify_on_commit
from organizations import counters, scope
from organizations.models import Organization, OrgStatus, Role
from organizations.selectors import officers_of

from ..models import (
    Concern,
    ConcernCategory,
    ConcernGrade,
    ConcernStatus,
    ConcernStep,
    ConcernStepKind,
)
from ..selectors.voice import (
    ANSWERED,
    ESCALATIONS,
    HAND_OVER_TARGETS,
    OPEN,
    OVERDUE,
    PREFIX,
    RAISED,
    RATING_COUNT,
    RATING_SUM,
    RESPONSE_SECONDS,
    count_voice_counters,
    due_days,
    hand_over_targets,
    name_for_officers_of,
    whole_seconds,
)
from . import check_active_org, recorded_actor, require_current_member

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "close_concern",
    "escalate_overdue_concerns",
    "grade_concern",
    "hand_over_concern",
    "raise_concern",
    "rate_concern",
    "reopen_concern",
    "reply_to_concern",
]

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024

NOTIFICATION_KINDS = [
    (
        "services.voice.raised",
        gettext_lazy("New concern for %(union)s: %(title)s"),
        gettext_lazy("Raised by %(member)s. Please answer by %(due)s."),
    ),
    (
        "services.voice.replied",
        gettext_lazy("%(union)s answered your concern “%(title)s”"),
        gettext_lazy(
            "Read the answer. Rate it if your concern is solved, or reopen it if it is not."
        ),
    ),
    (
        "services.voice.escalated",
        gettext_lazy("A concern was not answered in time and now goes to %(union)s: %(title)s"),
        gettext_lazy("%(from)s did not answer by the due time. Please answer by %(due)s."),
    ),
    (
        "services.voice.escalated_member",
        gettext_lazy("Your concern “%(title)s” now goes to %(union)s"),
        gettext_lazy(
            "%(from)s did not answer in time, so the union above takes it over. "
            "The new answer is due by %(due)s."
        ),
    ),
    (
        "services.voice.still_open",
        gettext_lazy("A concern is still waiting for an answer from %(union)s: %(title)s"),
        gettext_lazy("There is no union above to take it over. Please answer by %(due)s."),
    ),
    (
        "services.voice.handed_over",
        gettext_lazy("A concern was handed over to %(union)s: %(title)s"),
        gettext_lazy("%(from)s handed it over. Please answer by %(due)s."),
    ),
    (
        "services.voice.handed_over_member",
        gettext_lazy("Your concern “%(title)s” is now handled by %(union)s"),
        gettext_lazy("%(from)s handed it over. The answer is due by %(due)s."),
    ),
    (
        "services.voice.reopened",
        gettext_lazy("A member reopened the concern “%(title)s”"),
        gettext_lazy("The answer did not solve it. Please answer again by %(due)s."),
    ),
    (
        "services.voice.closed",
        gettext_lazy("Your concern “%(title)s” was closed by %(union)s"),
        gettext_lazy("If it is not solved, you can reopen it from your concerns page."),
    ),
]

ROLE_PERMISSIONS = {
    Role.ADMIN: {"view_concern"},
    Role.STAFF: {"view_concern"},
}

SCHEDULES = [
    {
        "name": "services: escalate overdue concerns",
        "task": "services.tasks.voice.escalate_overdue_concerns_task",
        "every_minutes": 15,
    }
]


# --- Counters ----------------------------------------------------------------------------


counters.register_source(PREFIX, count_voice_counters)


def _leaves_open(concern: Concern) -> dict[tuple[int, str], int]:
    """Counter changes when an open concern stops waiting (answered or closed)."""
    changes = {(concern.origin_id, OPEN): -1}
    if concern.escalations:
        changes[(concern.origin_id, OVERDUE)] = -1
    return changes


# --- Helpers -----------------------------------------------------------------------------


def _due(org: Organization, grade: str, start: datetime.datetime) -> datetime.datetime:
    return start + datetime.timedelta(days=due_days(org, grade))


def _locked(concern: Concern) -> Concern:
    return (
        Concern.objects.select_for_update(of=("self",))
        .select_related("member", "origin", "organization")
        .get(pk=concern.pk)
    )


def _step(concern: Concern, kind: str, at, *, actor=None, text="", from_org=None, to_org=None):
    # `at` is always given: the field default was bound to the real clock at import.
    return ConcernStep.objects.create(
        concern=concern,
        kind=kind,
        at=at,
        actor=recorded_actor(actor),
        text=text,
        from_organization=from_org,
        to_organization=to_org,
    )


def _when(value: datetime.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _tell_officers(
    concern: Concern, org: Organization, kind: str, key: str, acting_user=None, **ctx
):
    recipients = [u for u in officers_of(org) if u != getattr(acting_user, "pk", None)]
    context = {
        "title": concern.title,
        "union": org.name,
        "member": name_for_officers_of(org, concern),
        "due": _when(concern.due_at),
        **ctx,
    }
    notify_on_commit(
        recipients,
        kind,
        context,
        link_for("admin:services_concern_change", concern.pk),
        dedupe_key=f"concern:{concern.pk}:{key}",
    )


def _tell_member(concern: Concern, kind: str, key: str, **ctx):
    if not concern.member.user_id:
        return
    context = {
        "title": concern.title,
        "union": concern.organization.name,
        "due": _when(concern.due_at),
        **ctx,
    }
    notify_on_commit(
        [concern.member.user_id],
        kind,
        context,
        link_for("voice-detail", concern.pk),
        dedupe_key=f"concern:{concern.pk}:{key}",
    )


def _require_handler(user, concern: Concern) -> None:
    """Staff work on a concern is for the union handling it now (and the unions above)."""
    require(
        user,
        scope.Access.HANDLE,
        concern.organization,
        _("Only the union handling this concern now can do this."),
    )


def _require_owner(member: Member | None, concern: Concern) -> None:
    if member is None or concern.member_id != member.pk:
        raise PermissionDenied(_("Only the member who raised this concern can do this."))


# --- Attachments -------------------------------------------------------------------------

# Extension → the file's first bytes, checked so a renamed file is refused.
_SIGNATURES = {
    "pdf": (b"%PDF-",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "docx": (b"PK\x03\x04",),
}


def check_attachment(attachment: UploadedFile) -> str:
    """ValidationError unless the file is a PDF, JPG, PNG or Word (.docx) file of at most
    5 MB whose content matches its name; returns its normalized extension."""
    name = attachment.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in _SIGNATURES:
        raise ValidationError(
            {"attachment": [_("Attach a PDF, JPG, PNG or Word (.docx) file.")]}, code="type"
        )
    if attachment.size is None or attachment.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            {"attachment": [_("The attachment is too large: at most 5 MB.")]}, code="size"
        )
    if not attachment.size:
        raise ValidationError({"attachment": [_("The attachment is empty.")]}, code="empty")
    attachment.seek(0)
    head = attachment.read(16)
    attachment.seek(0)
    matches = any(head.startswith(sig) for sig in _SIGNATURES[extension])
    if matches and extension == "docx":
        # A .docx is a zip archive holding a Word document; other zips are refused.
        try:
            with zipfile.ZipFile(attachment) as archive:
                matches = "word/document.xml" in archive.namelist()
        except zipfile.BadZipFile:
            matches = False
        attachment.seek(0)
    if not matches:
        raise ValidationError(
            {
                "attachment": [
                    _(
                        "The file's content is not a %(type)s file. Attach the original "
                        "document or photo."
                    )
                    % {"type": extension.upper()}
                ]
            },
            code="content",
        )
    return "jpg" if extension == "jpeg" else extension


# --- Raising -----------------------------------------------------------------------------


def _clean_concern(data) -> dict:
    errors: dict[str, list] = {}
    category = str(data.get("category") or "")
    if category not in ConcernCategory.values:
        errors["category"] = [_("Choose what your concern is about.")]
    title = str(data.get("title") or "").strip()
    if not title:
        errors["title"] = [_("Give your concern a short subject.")]
    elif len(title) > 120:
        errors["title"] = [_("The subject has at most 120 characters.")]
    text = str(data.get("text") or "").strip()
    if not text:
        errors["text"] = [_("Describe your concern.")]
    elif len(text) > 5000:
        errors["text"] = [_("The description has at most 5000 characters.")]
    if errors:
        raise ValidationError(errors)
    return {
        "category": category,
        "title": title,
        "text": text,
        "hide_name": bool(data.get("hide_name")),
        "share_name_outside": bool(data.get("share_name_outside")),
    }


def raise_concern(*, member: Member, data, attachment: UploadedFile | None = None) -> Concern:
    """A current member raises a concern; it goes to their own union, due as a general one."""
    require_current_member(member)
    cleaned = _clean_concern(data)
    extension = check_attachment(attachment) if attachment else ""
    with transaction.atomic():
        member = Member.objects.select_related("organization").get(pk=member.pk)
        union = member.organization
        check_active_org(union)
        now = timezone.now()
        concern = Concern(
            member=member,
            origin=union,
            organization=union,
            grade=ConcernGrade.GENERAL,
            due_at=_due(union, ConcernGrade.GENERAL, now),
            **cleaned,
        )
        if attachment:
            # A random name: the uploaded file's own name may carry personal data.
            attachment.name = f"{secrets.token_hex(12)}.{extension}"
            concern.attachment = attachment
        concern.save()
        _step(concern, ConcernStepKind.RAISED, now, actor=member.user, to_org=union)
        counters.adjust({(union.pk, RAISED): 1, (union.pk, OPEN): 1})
        record_audit(
            actor=member.user,
            action="concern.raised",
            obj=concern,
            organization=union,
            changes={
                "category": concern.category,
                "hide_name": concern.hide_name,
                "share_name_outside": concern.share_name_outside,
            },
        )
        _tell_officers(concern, union, "services.voice.raised", "raised")
    return concern


# --- Staff work --------------------------------------------------------------------------


def _assigned_at(concern: Concern) -> datetime.datetime:
    """When the handling union received the concern (raised, moved to it, or reopened)."""
    step = (
        concern.steps.filter(
            kind__in=[
                ConcernStepKind.RAISED,
                ConcernStepKind.ESCALATED,
                ConcernStepKind.HANDED_OVER,
                ConcernStepKind.REOPENED,
            ],
            to_organization=concern.organization_id,
        )
        .order_by("-at", "-pk")
        .first()
    )
    return step.at if step is not None else concern.created_at


def grade_concern(*, concern: Concern, grade: str, acting_user) -> Concern:
    """Grade an open concern; its due time is recomputed from when its union received it."""
    if grade not in ConcernGrade.values:
        raise ValidationError({"grade": [_("Choose general, difficult or complex.")]})
    with transaction.atomic(durable=True):
        concern = _locked(concern)
        _require_handler(acting_user, concern)
        if concern.status != ConcernStatus.OPEN:
            raise ValidationError(_("Only a concern waiting for an answer can be graded."))
        if concern.grade == grade:
            return concern
        before = concern.grade
        now = timezone.now()
        concern.grade = grade
        concern.due_at = _due(concern.organization, grade, _assigned_at(concern))
        concern.save(update_fields=["grade", "due_at"])
        _step(
            concern,
            ConcernStepKind.GRADED,
            now,
            actor=acting_user,
            text=ConcernGrade(grade).label,
        )
        record_audit(
            actor=acting_user,
            action="concern.graded",
            obj=concern,
            organization=concern.organization,
            changes={"grade": [before, grade], "due_at": concern.due_at.isoformat()},
        )
    return concern


def reply_to_concern(*, concern: Concern, text: str, acting_user) -> Concern:
    """The handling union answers; the member sees the reply and may rate it or reopen."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write the answer to the member.")]})
    if len(text) > 5000:
        raise ValidationError({"text": [_("The answer has at most 5000 characters.")]})
    with transaction.atomic():
        concern = _locked(concern)
        _require_handler(acting_user, concern)
        if concern.status == ConcernStatus.CLOSED:
            raise ValidationError(_("This concern is closed; it cannot be answered any more."))
        now = timezone.now()
        changes: dict[tuple[int, str], int] = {}
        if concern.status == ConcernStatus.OPEN:
            changes.update(_leaves_open(concern))
        if concern.answered_at is None:
            concern.answered_at = now
            changes[(concern.origin_id, ANSWERED)] = 1
            changes[(concern.origin_id, RESPONSE_SECONDS)] = whole_seconds(concern.created_at, now)
        concern.status = ConcernStatus.ANSWERED
        concern.save(update_fields=["status", "answered_at"])
        step = _step(
            concern,
            ConcernStepKind.REPLIED,
            now,
            actor=acting_user,
            text=text,
            from_org=concern.organization,
        )
        counters.adjust(changes)
        record_audit(
            actor=acting_user,
            action="concern.replied",
            obj=concern,
            organization=concern.organization,
        )
        _tell_member(concern, "services.voice.replied", f"replied:{step.pk}")
    return concern


def hand_over_concern(
    *, concern: Concern, to_organization: Organization, reason: str, acting_user
) -> Concern:
    """Pass an open concern to another union (e.g. an industry union), due by its settings.

    The union must be one of `hand_over_targets`: in the handling union's own tree, above
    it, or in the member's own line. One outside that line does not see who raised the
    concern unless the member agreed (`services.selectors.voice.named_to_handler`).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the other union should handle it.")]})
    if to_organization is None or to_organization.status != OrgStatus.ACTIVE:
        raise ValidationError({"to_organization": [_("Choose an active union.")]})
    with transaction.atomic():
        concern = _locked(concern)
        _require_handler(acting_user, concern)
        if concern.status != ConcernStatus.OPEN:
            raise ValidationError(_("Only a concern waiting for an answer can be handed over."))
        if concern.organization_id == to_organization.pk:
            raise ValidationError(
                {"to_organization": [_("This union already handles the concern.")]}
            )
        if not hand_over_targets(concern).filter(pk=to_organization.pk).exists():
            raise ValidationError({"to_organization": [str(HAND_OVER_TARGETS)]})
        now = timezone.now()
        previous = concern.organization
        concern.organization = to_organization
        concern.due_at = _due(to_organization, concern.grade, now)
        concern.save(update_fields=["organization", "due_at"])
        _step(
            concern,
            ConcernStepKind.HANDED_OVER,
            now,
            actor=acting_user,
            text=reason[:5000],
            from_org=previous,
            to_org=to_organization,
        )
        record_audit(
            actor=acting_user,
            action="concern.handed_over",
            obj=concern,
            organization=previous,
            changes={"from": previous.pk, "to": to_organization.pk},
        )
        key = f"handed_over:{to_organization.pk}:{now.timestamp()}"
        _tell_officers(
            concern,
            to_organization,
            "services.voice.handed_over",
            key,
            acting_user,
            **{"from": previous.name},
        )
        _tell_member(concern, "services.voice.handed_over_member", key, **{"from": previous.name})
    return concern


def close_concern(*, concern: Concern, acting_user, note: str = "") -> Concern:
    """The handling union closes the concern (answered or not); the member may reopen it."""
    with transaction.atomic():
        concern = _locked(concern)
        _require_handler(acting_user, concern)
        if concern.status == ConcernStatus.CLOSED:
            raise ValidationError(_("This concern is already closed."))
        now = timezone.now()
        if concern.status == ConcernStatus.OPEN:
            counters.adjust(_leaves_open(concern))
        concern.status = ConcernStatus.CLOSED
        concern.closed_at = now
        concern.save(update_fields=["status", "closed_at"])
        _step(
            concern,
            ConcernStepKind.CLOSED,
            now,
            actor=acting_user,
            text=(note or "").strip()[:5000],
            from_org=concern.organization,
        )
        record_audit(
            actor=acting_user,
            action="concern.closed",
            obj=concern,
            organization=concern.organization,
        )
        _tell_member(concern, "services.voice.closed", f"closed:{now.timestamp()}")
    return concern


# --- The member's answer -----------------------------------------------------------------


def rate_concern(*, concern: Concern, member: Member, rating: int, comment: str = "") -> Concern:
    """The member rates the answer (1 to 5), which closes the concern."""
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValidationError({"rating": [_("Choose from 1 to 5 stars.")]})
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ValidationError({"comment": [_("The comment has at most 500 characters.")]})
    with transaction.atomic():
        concern = _locked(concern)
        _require_owner(member, concern)
        if concern.status != ConcernStatus.ANSWERED:
            raise ValidationError(_("You can rate a concern once it has been answered."))
        now = timezone.now()
        concern.rating = rating
        concern.rating_comment = comment
        concern.status = ConcernStatus.CLOSED
        concern.closed_at = now
        concern.save(update_fields=["rating", "rating_comment", "status", "closed_at"])
        _step(
            concern,
            ConcernStepKind.RATED,
            now,
            actor=concern.member.user,
            text=f"{rating}/5" + (f" · {comment}" if comment else ""),
        )
        counters.adjust(
            {(concern.origin_id, RATING_SUM): rating, (concern.origin_id, RATING_COUNT): 1}
        )
        record_audit(
            actor=concern.member.user,
            action="concern.rated",
            obj=concern,
            organization=concern.organization,
            changes={"rating": rating},
        )
    return concern


def reopen_concern(*, concern: Concern, member: Member, reason: str) -> Concern:
    """The member says the answer did not solve it: open again at the same handling union."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say what is still not solved.")]})
    if len(reason) > 5000:
        raise ValidationError({"reason": [_("The text has at most 5000 characters.")]})
    with transaction.atomic():
        concern = _locked(concern)
        _require_owner(member, concern)
        if concern.status == ConcernStatus.OPEN:
            raise ValidationError(_("This concern is still waiting for an answer."))
        if concern.rating is not None:
            raise ValidationError(_("You rated the answer, so this concern is finished."))
        now = timezone.now()
        concern.status = ConcernStatus.OPEN
        concern.closed_at = None
        concern.due_at = _due(concern.organization, concern.grade, now)
        concern.save(update_fields=["status", "closed_at", "due_at"])
        step = _step(
            concern,
            ConcernStepKind.REOPENED,
            now,
            actor=concern.member.user,
            text=reason,
            to_org=concern.organization,
        )
        changes = {(concern.origin_id, OPEN): 1}
        if concern.escalations:
            changes[(concern.origin_id, OVERDUE)] = 1
        counters.adjust(changes)
        record_audit(
            actor=concern.member.user,
            action="concern.reopened",
            obj=concern,
            organization=concern.organization,
        )
        _tell_officers(
            concern, concern.organization, "services.voice.reopened", f"reopened:{step.pk}"
        )
    return concern


# --- Escalation --------------------------------------------------------------------------


def _next_up(org: Organization) -> Organization | None:
    """The nearest active union above `org` (the logical parent, across trees)."""
    parent = org.parent
    while parent is not None and parent.status != OrgStatus.ACTIVE:
        parent = parent.parent
    return parent


def _escalate_one(concern: Concern, now: datetime.datetime) -> bool:
    """Move one overdue concern (locked by the caller) up a level; False at the top."""
    current = concern.organization
    target = _next_up(current)
    if target is None:
        # Nobody above: it stays, with a reminder once per period rather than every run.
        concern.due_at = _due(current, concern.grade, now)
        concern.save(update_fields=["due_at"])
        step = _step(
            concern,
            ConcernStepKind.ESCALATED,
            now,
            text=_("Not answered in time; there is no union above."),
            from_org=current,
            to_org=current,
        )
        _tell_officers(concern, current, "services.voice.still_open", f"still_open:{step.pk}")
        return False
    concern.organization = target
    concern.due_at = _due(target, concern.grade, now)
    concern.escalations += 1
    concern.save(update_fields=["organization", "due_at", "escalations"])
    step = _step(concern, ConcernStepKind.ESCALATED, now, from_org=current, to_org=target)
    changes = {(concern.origin_id, ESCALATIONS): 1}
    if concern.escalations == 1:
        changes[(concern.origin_id, OVERDUE)] = 1
    counters.adjust(changes)
    record_audit(
        actor=None,
        action="concern.escalated",
        obj=concern,
        organization=target,
        changes={"from": current.pk, "to": target.pk},
    )
    key = f"escalated:{step.pk}"
    _tell_officers(concern, target, "services.voice.escalated", key, **{"from": current.name})
    _tell_member(concern, "services.voice.escalated_member", key, **{"from": current.name})
    return True


def escalate_overdue_concerns(now: datetime.datetime | None = None) -> int:
    """Move every open concern past its due time one level up; returns how many moved.

    The new due time lies in the future, so a concern climbs one level per period, not
    one per run. Concerns another transaction is working on are left for the next run.
    """
    now = now or timezone.now()
    moved = 0
    due_ids = list(
        Concern.objects.filter(status=ConcernStatus.OPEN, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:5000]
    )
    for pk in due_ids:
        # One transaction per concern: a failure leaves the others escalated.
        with transaction.atomic():
            concern = (
                Concern.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("member", "origin", "organization__parent")
                .filter(pk=pk, status=ConcernStatus.OPEN, due_at__lte=now)
                .first()
            )
            if concern is not None and _escalate_one(concern, now):
                moved += 1
    return moved
