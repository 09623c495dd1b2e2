"""Portal URLs of the members app, collected from each feature's views module."""

from .views import dues, joining, portal, privacy, spreadsheets, transfers

urlpatterns = [
    *portal.urlpatterns,
    *joining.urlpatterns,
    *transfers.urlpatterns,
    *dues.urlpatterns,
    *spreadsheets.urlpatterns,
    *privacy.urlpatterns,
]
