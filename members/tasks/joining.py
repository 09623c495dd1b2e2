"""Background jobs: joining online."""

from celery import shared_task

from ..actions import joining, link_recovery

__all__ = ["purge_unsuccessful_join_applications_task", "send_link_recovery_code_task"]


@shared_task(acks_late=True)
def purge_unsuccessful_join_applications_task() -> int:
    """Daily: delete rejected and withdrawn applications past their retention period, and
    requests to recover a status link a day after they expired."""
    link_recovery.purge()
    return joining.purge_unsuccessful_applications()


@shared_task(acks_late=True)
def send_link_recovery_code_task(recovery_id: int) -> bool:
    """Text the one-time code of a status-link recovery, if an application matches (id only
    in the task's arguments; the ID and phone numbers are never passed)."""
    return link_recovery.send_code(recovery_id)
