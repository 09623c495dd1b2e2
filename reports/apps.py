from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Statistics and reports")

    def ready(self):
        from django.core import checks
        from django.db.models.signals import post_migrate

        from core.demo import register_seeder
        from notifications import kinds

        from . import actions, demo
        from .checks import check_pdf_font
        from .schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="reports-schedules")
        register_seeder("reports", demo.seed, demo.reset)
        for kind, title, body in actions.NOTIFICATION_KINDS:
            kinds.register(kind, title, body)
        checks.register(check_pdf_font)
