"""API: dues. (Being built.)"""

ROUTES: list = []
