"""Background jobs: announcements. Thin: a chunk id in, the action does the rest."""

from celery import shared_task

from core.retry import RETRY_POLICY

from ..actions import announcements

__all__ = ["deliver_announcement_chunk_task", "resume_stalled_chunks_task"]


@shared_task(**RETRY_POLICY)
def deliver_announcement_chunk_task(chunk_id: int) -> int:
    """Write one chunk of an announcement into its members' inboxes (idempotent)."""
    return announcements.deliver_chunk(chunk_id=chunk_id)


@shared_task(**RETRY_POLICY)
def resume_stalled_chunks_task() -> int:
    """Every five minutes: queue again chunks whose worker died before finishing them."""
    return announcements.resume_stalled_chunks()
