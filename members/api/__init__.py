"""The members API, one module per feature. Each module lists its router registrations."""

from . import dues, joining, members, transfers

# (prefix, viewset, basename) tuples registered on the v1 router by unionhub.urls.
ROUTES = [*members.ROUTES, *joining.ROUTES, *transfers.ROUTES, *dues.ROUTES]
