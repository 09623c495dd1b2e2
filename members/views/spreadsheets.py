"""Portal views: spreadsheets. (Being built.)"""

urlpatterns: list = []
