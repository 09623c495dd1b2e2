"""Portal URLs of the members app, collected from each feature's views module."""

from .views import dues, joining, portal, privacy, transfers

urlpatterns = [
    *portal.urlpatterns,
    *joining.urlpatterns,
    *transfers.urlpatterns,
    *dues.urlpatterns,
    *privacy.urlpatterns,
]
