"""Scheduled jobs of the members app, kept in django-celery-beat (editable in the admin).

Created after every migrate if missing; an operator's edits are never overwritten.
"""


def ensure_schedules(sender=None, using="default", **kwargs):
    """(Being built: transfer expiry.)"""
