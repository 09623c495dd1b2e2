from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = _("Member services")

    def ready(self):
        from django.core.exceptions import ImproperlyConfigured
        from django.db.models.signals import post_migrate

        from core.demo import SEEDERS, register_seeder
        from notifications import kinds
        from organizations.counters import register_dated_source
        from organizations.models import Role
        from organizations.scope import register_role_permissions

        # Importing the action modules registers their counter sources and notification
        # kinds; each module lists its own.
        from . import demo, features
        from .actions import privacy as privacy_eraser  # noqa: F401 - registers the eraser
        from .schedules import ensure_schedules
        from .selectors import periods
        from .selectors import privacy as privacy_sections  # noqa: F401 - and the sections
        from .selectors import todo as todo_sources

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="services-schedules")
        # Seeders run in registration order (and reset in reverse): the services demo uses
        # the demo members, so "members" must be registered first, i.e. listed before
        # "services" in INSTALLED_APPS.
        if "members" not in SEEDERS:
            raise ImproperlyConfigured("List 'members' before 'services' in INSTALLED_APPS.")
        register_seeder("services", demo.seed, demo.reset)
        todo_sources.register()  # what waits on officers (core.todo)
        register_dated_source(periods.recorded_by_day)  # grassroots period figures
        for module in features.modules():
            for role, perms in getattr(module, "ROLE_PERMISSIONS", {}).items():
                register_role_permissions(role, {f"services.{p}" for p in perms})
            for kind, title, body in getattr(module, "NOTIFICATION_KINDS", []):
                kinds.register(kind, title, body)
        register_role_permissions(
            Role.ADMIN, {"services.view_servicesettings", "services.change_servicesettings"}
        )
        # What a member must not miss reaches their phone too, unless they turn it off.
        for kind in SMS_BY_DEFAULT:
            kinds.set_defaults(kind, sms=True)
        kinds.mark_work(*WORK)


# Work waiting on officers: gathered into the daily digest for those who chose it.
WORK = (
    "services.menu.request_new",
    "services.menu.wish_new",
    "services.due_soon",
    "services.voice.raised",
    "services.voice.reopened",
    "services.voice.handed_over",
    "services.voice.escalated",
    "services.voice.still_open",
    "services.aid.applied",
    "services.aid.to_approve",
    "services.aid.objection",
    "services.aid.notice_ended",
)

SMS_BY_DEFAULT = (
    "services.voice.replied",
    "services.activities.promoted",
    "services.activities.cancelled",
    "services.activities.reminder",
    "services.activities.reminder_online",
    "services.menu.request_rejected",
)
