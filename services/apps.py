from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = _("Member services")

    def ready(self):
        from django.db.models.signals import post_migrate

        from notifications import kinds
        from organizations.models import Role
        from organizations.scope import register_role_permissions

        # Importing the action modules registers their counter sources and notification
        # kinds; each module lists its own.
        from .actions import activities, aid, menu, stations, voice
        from .schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="services-schedules")
        for module in (menu, activities, aid, voice, stations):
            for role, perms in getattr(module, "ROLE_PERMISSIONS", {}).items():
                register_role_permissions(role, {f"services.{p}" for p in perms})
            for kind, title, body in getattr(module, "NOTIFICATION_KINDS", []):
                kinds.register(kind, title, body)
        register_role_permissions(
            Role.ADMIN, {"services.view_servicesettings", "services.change_servicesettings"}
        )
