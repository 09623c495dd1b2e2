"""Celery tasks of the services app (autodiscovered as `services.tasks`). Tasks are thin."""

from .activities import *  # noqa: F403
from .aid import *  # noqa: F403
from .announcements import *  # noqa: F403
from .reminders import *  # noqa: F403
from .voice import *  # noqa: F403
