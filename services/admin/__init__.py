"""The services admin, one module per feature; importing registers every ModelAdmin."""

from . import activities, aid, announcements, menu, stations, voice  # noqa: F401
