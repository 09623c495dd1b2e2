"""API: spreadsheets. (Being built.)"""

ROUTES: list = []
