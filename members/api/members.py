"""API: members."""

ROUTES: list = []
