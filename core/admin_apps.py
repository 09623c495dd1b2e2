from django.contrib.admin.apps import AdminConfig


class UnionAdminConfig(AdminConfig):
    """django.contrib.admin, with the site that admits union officers by their roles."""

    default_site = "core.admin_site.UnionAdminSite"
