"""Portal views: transfers. (Being built.)"""

urlpatterns: list = []
