from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The machinery every app uses; it imports no domain app (see the README)."""

    name = "core"
    verbose_name = _("Platform")

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        # Every app declares its statistics keys in its `statkeys` module (core.stats).
        autodiscover_modules("statkeys")
