"""Settings for bench/portal_load.py: the project's own, with bench/bare_urls.py as the URL
configuration (the project's pages plus one bare view to compare them with)."""

from unionhub.settings import *  # noqa: F403

ROOT_URLCONF = "bare_urls"
