"""Installs ModernizeAdminSite as the default admin site (``admin.site``, ``@admin.register``).

Kept apart from tenancy.admin_site, which imports the admin's models: an AppConfig module
is imported before the app registry is ready.
"""

from django.contrib.admin.apps import AdminConfig


class ModernizeAdminConfig(AdminConfig):
    default_site = "tenancy.admin_site.ModernizeAdminSite"
