"""Portal views: joining. (Being built.)"""

urlpatterns: list = []
