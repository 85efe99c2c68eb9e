"""Show row-level security per table; exit 1 when a tenant table is not covered."""

import json

from django.core.management.base import BaseCommand, CommandError

from tenancy.selectors import rls_status_rows


class Command(BaseCommand):
    help = "Row-level security status of every table (tenant table, enabled, forced, policies, covered)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    def handle(self, *args, **options):
        rows = rls_status_rows()
        uncovered = [r["table"] for r in rows if r["tenant_table"] and not r["covered"]]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
        else:
            width = max(len(r["table"]) for r in rows)
            self.stdout.write(f"{'table':<{width}}  tenant  enabled  forced  covered  policies")
            for r in rows:
                policies = ", ".join(f"{p['name']}({p['command']} to {'/'.join(p['roles'])})" for p in r["policies"]) or "-"
                covered = "-" if r["covered"] is None else ("yes" if r["covered"] else "NO")
                self.stdout.write(
                    f"{r['table']:<{width}}  {'yes' if r['tenant_table'] else 'no':<6}  {'yes' if r['rls_enabled'] else 'no':<7}  "
                    f"{'yes' if r['rls_forced'] else 'no':<6}  {covered:<7}  {policies}"
                )
            tenant_count = sum(1 for r in rows if r["tenant_table"])
            self.stdout.write(f"\n{tenant_count - len(uncovered)} of {tenant_count} tenant tables covered.")
        if uncovered:
            raise CommandError(f"Tenant tables without row-level security: {', '.join(uncovered)}; run `manage.py migrate` or add EnableTenantRLS.")
