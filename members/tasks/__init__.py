"""Celery tasks of the members app (autodiscovered as `members.tasks`). Tasks are thin."""

from .dues import *  # noqa: F403
from .joining import *  # noqa: F403
from .spreadsheets import *  # noqa: F403
from .transfers import *  # noqa: F403
