"""Installs ModernizeAdminSite as the default admin site (``admin.site``, ``@admin.register``).

Kept apart from tenancy.admin_site, which imports the admin's models: an AppConfig module
is imported before the app registry is ready.
"""

from django.contrib.admin.apps import AdminConfig


class ModernizeAdminConfig(AdminConfig):
    default_site = "tenancy.admin_site.ModernizeAdminSite"

    def ready(self):
        super().ready()
        from django.contrib import admin
        from django.contrib.auth.models import Group

        # Admin permissions come from roles (tenancy.admin_site), not from Django's
        # groups; django.contrib.auth registers them after tenancy's admin has loaded.
        if admin.site.is_registered(Group):
            admin.site.unregister(Group)
