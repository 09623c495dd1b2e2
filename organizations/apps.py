from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = _("Union organizations")

    def ready(self):
        from core.admin_site import register_officer_check

        from . import scope
        from .models import Role
        from .schedules import ensure_schedules
        from .scope import register_role_permissions

        # The audit log lives in core; the tree's administrators read their subtree's part.
        register_role_permissions(Role.ADMIN, {"core.view_auditentry"})
        # Union officers enter the admin by their roles.
        register_officer_check(scope.is_union_officer)

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="org-schedules")
