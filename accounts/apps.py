from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and sign-in")

    def ready(self):
        from core.demo import register_seeder

        from . import demo, privacy, signals  # noqa: F401 - privacy registers its parts

        register_seeder("accounts", demo.seed, demo.reset)
