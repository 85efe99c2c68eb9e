"""`runserver` that refuses to serve when the runtime role would bypass RLS."""

from django.contrib.staticfiles.management.commands import runserver
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError

from tenancy.guards import ensure_runtime_role_is_safe


class Command(runserver.Command):
    def inner_run(self, *args, **options):
        try:
            ensure_runtime_role_is_safe()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        return super().inner_run(*args, **options)
