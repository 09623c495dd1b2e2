"""API: transfers. (Being built.)"""

ROUTES: list = []
