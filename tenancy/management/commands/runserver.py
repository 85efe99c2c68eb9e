"""`runserver` for this project: refuses to serve when the runtime role would bypass RLS,
and checks for unapplied migrations through the owner (the runtime role cannot read
django_migrations)."""

from django.contrib.staticfiles.management.commands import runserver
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from tenancy.context import OWNER_ALIAS
from tenancy.guards import ensure_runtime_role_is_safe


class Command(runserver.Command):
    def inner_run(self, *args, **options):
        try:
            ensure_runtime_role_is_safe()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        return super().inner_run(*args, **options)

    def check_migrations(self):
        executor = MigrationExecutor(connections[OWNER_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            apps_waiting = sorted({migration.app_label for migration, backwards in plan})
            self.stdout.write(
                self.style.NOTICE(
                    f"\nYou have {len(plan)} unapplied migration(s) ({', '.join(apps_waiting)}): run `python manage.py migrate`."
                )
            )
