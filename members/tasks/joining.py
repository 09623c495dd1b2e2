"""Background jobs: joining online."""

from celery import shared_task

from ..actions import joining

__all__ = ["purge_unsuccessful_join_applications_task"]


@shared_task(acks_late=True)
def purge_unsuccessful_join_applications_task() -> int:
    """Daily: delete rejected and withdrawn applications past their retention period."""
    return joining.purge_unsuccessful_applications()
