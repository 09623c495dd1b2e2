"""The services API, one module per feature. Each module lists its router registrations."""

from . import activities, aid, menu, stations, voice

# (prefix, viewset, basename) tuples registered on the v1 router by unionhub.urls.
ROUTES = [*menu.ROUTES, *activities.ROUTES, *aid.ROUTES, *voice.ROUTES, *stations.ROUTES]
