"""`migrate` on the owner connection unless --database says otherwise.

The runtime role (the `default` alias) cannot run DDL by design, so Django's default
alias is the wrong target for migrations here.
"""

from django.core.management.commands import migrate


class Command(migrate.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(database="owner")
