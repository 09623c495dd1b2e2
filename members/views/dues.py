"""Portal views: dues. (Being built.)"""

urlpatterns: list = []
