"""API: joining. (Being built.)"""

ROUTES: list = []
