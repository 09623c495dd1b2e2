"""The feature modules of the services app, in one list: each declares its role permissions,
notification kinds and scheduled jobs (`ROLE_PERMISSIONS`, `NOTIFICATION_KINDS`,
`SCHEDULES`), which `apps.py` and `schedules.py` read from here."""


def modules() -> tuple:
    """The action modules of the features (importing one registers its counter keys)."""
    from .actions import (
        activities,
        aid,
        announcements,
        menu,
        reminders,
        requests,
        stations,
        voice,
        wishes,
    )

    return (menu, requests, wishes, activities, aid, voice, stations, announcements, reminders)
