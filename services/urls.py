"""Portal URLs of the services app, collected from each feature's views module."""

from .views import activities, aid, announcements, home, menu, stations, voice

urlpatterns = [
    *home.urlpatterns,
    *menu.urlpatterns,
    *activities.urlpatterns,
    *aid.urlpatterns,
    *voice.urlpatterns,
    *stations.urlpatterns,
    *announcements.urlpatterns,
]
