"""Announcements (通知公告): a union's notice to the members of its subtree.

Staff write a draft (title, text, optional audience: child unions, union levels, employment
types) and publish it. Publishing plans the fan-out: the recipients, ordered by user id, are
cut into chunks of `CHUNK_SIZE` by one windowed query that returns only the chunks' first
ids, so a province of millions is never loaded into memory. Each chunk is one task: it
selects its members, writes their inbox rows and email/SMS deliveries in bulk through
`notifications.notify` (one dedupe key per announcement and member) and marks itself done,
all in one transaction; so a chunk redelivered after a worker died, or handed out again by
the sweeper, adds nothing. The sender sees the progress; the last chunk closes the
announcement and tells them.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from members.actions.permissions import require
from notifications.actions import link_for, notify, notify_on_commit
from organizations import scope
from organizations.models import Organization, Role

from ..models import Announcement, AnnouncementChunk, AnnouncementStatus
from ..selectors.announcements import recipients
from . import check_active_org, clean_audience, recorded_actor, required_text

__all__ = [
    "CHUNK_SIZE",
    "create_announcement",
    "deliver_chunk",
    "publish_announcement",
    "resume_stalled_chunks",
    "update_announcement",
]

# Members per chunk task: one bulk insert each, small enough to redo cheaply.
CHUNK_SIZE = settings.SERVICES_ANNOUNCEMENT_CHUNK_SIZE
# A chunk handed to a worker that has not finished it after this long is handed out again.
CHUNK_LEASE = datetime.timedelta(minutes=10)
KIND = "services.announcement"
P = "services.announcements."

ROLE_PERMISSIONS = {
    Role.ADMIN: {"view_announcement", "add_announcement", "change_announcement"},
    Role.STAFF: {"view_announcement", "add_announcement", "change_announcement"},
}

SCHEDULES = [
    {
        "name": "resume stalled announcement chunks",
        "task": "services.tasks.announcements.resume_stalled_chunks_task",
        "every_minutes": 5,
    }
]

NOTIFICATION_KINDS = [
    (KIND, gettext_lazy("%(union)s: %(title)s"), gettext_lazy("Open it to read the notice.")),
    (
        f"{P}sent",
        gettext_lazy("Your announcement “%(title)s” reached %(n)s members"),
        gettext_lazy("Every member it was addressed to has it in their inbox."),
    ),
]


# --- Drafts -----------------------------------------------------------------------------------


def clean_announcement(
    *, organization: Organization, title, body, levels=(), employment_types=(), unions=()
) -> dict:
    """The cleaned fields of an announcement of `organization`, or a ValidationError per field."""
    errors: dict[str, list] = {}
    values = {}
    for field, value, message, limit in (
        ("title", title, _("Give the announcement a title."), 120),
        ("body", body, _("Write the text of the announcement."), 5000),
    ):
        try:
            values[field] = required_text(value, field, message, limit)
        except ValidationError as error:
            errors.update(error.message_dict)
    levels, types = clean_audience(organization, levels, employment_types, unions, errors)
    if errors:
        raise ValidationError(errors)
    return {**values, "audience_levels": levels, "audience_employment_types": types}


def create_announcement(
    *,
    organization: Organization,
    title: str,
    body: str,
    levels=(),
    employment_types=(),
    unions=(),
    acting_user,
) -> Announcement:
    """A draft announcement of `organization` for the members of its subtree."""
    require(acting_user, scope.Access.HANDLE, organization)
    check_active_org(organization)
    unions = list(unions or ())
    values = clean_announcement(
        organization=organization,
        title=title,
        body=body,
        levels=levels,
        employment_types=employment_types,
        unions=unions,
    )
    with transaction.atomic():
        announcement = Announcement.objects.create(
            organization=organization, created_by=recorded_actor(acting_user), **values
        )
        announcement.audience_unions.set(unions)
        record_audit(
            actor=acting_user,
            action="announcement.created",
            obj=announcement,
            organization=organization,
            changes={"title": announcement.title},
        )
    return announcement


def update_announcement(
    *,
    announcement: Announcement,
    title,
    body,
    levels=(),
    employment_types=(),
    unions=(),
    acting_user,
) -> Announcement:
    """Change a draft; a published announcement stays as its members received it."""
    require(acting_user, scope.Access.HANDLE, announcement.organization)
    unions = list(unions or ())
    values = clean_announcement(
        organization=announcement.organization,
        title=title,
        body=body,
        levels=levels,
        employment_types=employment_types,
        unions=unions,
    )
    with transaction.atomic():
        locked = Announcement.objects.select_for_update().get(pk=announcement.pk)
        if locked.status != AnnouncementStatus.DRAFT:
            raise ValidationError(_("This announcement is published; it can no longer change."))
        for field, value in values.items():
            setattr(locked, field, value)
        locked.save(update_fields=list(values))
        locked.audience_unions.set(unions)
        record_audit(
            actor=acting_user,
            action="announcement.changed",
            obj=locked,
            organization=locked.organization,
            changes={"title": locked.title},
        )
    return locked


# --- Recipients and the fan-out ---------------------------------------------------------------


def _chunk_starts(announcement: Announcement) -> list[int]:
    """The first user id of every chunk: the 1st, (n+1)th, (2n+1)th… recipient by user id."""
    numbered = recipients(announcement).annotate(
        position=Window(RowNumber(), order_by=F("user_id").asc())
    )
    return list(
        numbered.annotate(offset=(F("position") - 1) % CHUNK_SIZE)
        .filter(offset=0)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def publish_announcement(*, announcement: Announcement, acting_user) -> Announcement:
    """Send a draft: plan its chunks and queue them once this commits."""
    require(acting_user, scope.Access.HANDLE, announcement.organization)
    check_active_org(announcement.organization)
    with transaction.atomic():
        locked = Announcement.objects.select_for_update().get(pk=announcement.pk)
        if locked.status != AnnouncementStatus.DRAFT:
            raise ValidationError(_("This announcement is already published."))
        starts = _chunk_starts(locked)
        now = timezone.now()
        chunks = [
            AnnouncementChunk(
                announcement=locked,
                number=n,
                first_user_id=first,
                end_user_id=starts[n + 1] if n + 1 < len(starts) else None,
                handed_out_at=now,
            )
            for n, first in enumerate(starts)
        ]
        AnnouncementChunk.objects.bulk_create(chunks, batch_size=1000)
        locked.status = AnnouncementStatus.SENDING if chunks else AnnouncementStatus.SENT
        locked.published_by = recorded_actor(acting_user)
        locked.published_at = now
        locked.chunks_total = len(chunks)
        locked.finished_at = None if chunks else now
        locked.save(
            update_fields=["status", "published_by", "published_at", "chunks_total", "finished_at"]
        )
        record_audit(
            actor=acting_user,
            action="announcement.published",
            obj=locked,
            organization=locked.organization,
            changes={"title": locked.title, "chunks": len(chunks)},
        )
        ids = list(
            AnnouncementChunk.objects.filter(announcement=locked).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: _enqueue(ids))
    return locked


def _enqueue(chunk_ids: list[int]) -> None:
    from ..tasks.announcements import deliver_announcement_chunk_task

    for chunk_id in chunk_ids:
        deliver_announcement_chunk_task.delay(chunk_id)


def deliver_chunk(*, chunk_id: int) -> int:
    """Deliver one chunk; returns the number of members it reached the first time, else 0.

    Run again for a chunk that is done (a task redelivered after its worker died between
    the commit and the acknowledgement), it writes nothing new but queues once more the
    email and SMS of its members that are still waiting, which that worker may not have
    queued. A chunk another worker holds is left to it.
    """
    with transaction.atomic():
        # Lock the chunk row only ("self"): the announcement row is shared by all chunks.
        chunk = (
            AnnouncementChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=chunk_id)
            .select_related("announcement__organization")
            .first()
        )
        if chunk is None:
            return 0
        announcement = chunk.announcement
        members = recipients(announcement).filter(user_id__gte=chunk.first_user_id)
        if chunk.end_user_id is not None:
            members = members.filter(user_id__lt=chunk.end_user_id)
        user_ids = list(members.order_by("user_id").values_list("user_id", flat=True))
        notify(
            user_ids,
            KIND,
            {"title": announcement.title, "union": announcement.organization.name},
            link_for("announcement-detail", announcement.pk),
            dedupe_key=f"announcement:{announcement.pk}",
        )
        if chunk.done_at is not None:
            return 0
        now = timezone.now()
        chunk.done_at = now
        chunk.recipients = len(user_ids)
        chunk.save(update_fields=["done_at", "recipients"])
        Announcement.objects.filter(pk=announcement.pk).update(
            chunks_done=F("chunks_done") + 1, recipients_done=F("recipients_done") + len(user_ids)
        )
        # The chunk whose count completes the announcement closes it: the row lock taken
        # by the increment above orders the chunks, so exactly one of them gets here.
        finished = Announcement.objects.filter(
            pk=announcement.pk,
            status=AnnouncementStatus.SENDING,
            chunks_done=F("chunks_total"),
        ).update(status=AnnouncementStatus.SENT, finished_at=now)
        if finished:
            reached = Announcement.objects.values_list("recipients_done", flat=True).get(
                pk=announcement.pk
            )
            notify_on_commit(
                [announcement.published_by_id],
                f"{P}sent",
                {"title": announcement.title, "n": reached},
                link_for("admin:services_announcement_change", announcement.pk),
                dedupe_key=f"announcement:{announcement.pk}:sent",
            )
    return len(user_ids)


def resume_stalled_chunks(*, now: datetime.datetime | None = None) -> int:
    """Queue again the chunks handed out longer than the lease ago and still not done (their
    worker died, or their message was lost); returns how many."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        ids = list(
            AnnouncementChunk.objects.select_for_update(skip_locked=True)
            .filter(done_at__isnull=True, handed_out_at__lte=now - CHUNK_LEASE)
            .order_by("pk")
            .values_list("pk", flat=True)[:10000]
        )
        AnnouncementChunk.objects.filter(pk__in=ids).update(handed_out_at=now)
        if ids:
            transaction.on_commit(lambda: _enqueue(ids))
    return len(ids)
