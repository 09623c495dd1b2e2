from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and sign-in")

    def ready(self):
        from core.demo import register_seeder
        from notifications import channels

        # privacy and officers register their parts, first_login its notification kind
        from . import demo, first_login, officers, phones, privacy, signals  # noqa: F401

        register_seeder("accounts", demo.seed, demo.reset)
        channels.register_resolver(channels.SMS, phones.phones_of)
