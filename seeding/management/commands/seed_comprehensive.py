"""Seed realistic, interconnected, reproducible data for every model (demo or large profile)."""

from django.core.management.base import BaseCommand, CommandError

from seeding.constants import DEFAULT_SEED, DEMO_PASSWORD, PLATFORM_ADMIN_EMAIL, PROFILES, ROLE_LOGINS, tenant_specs
from seeding.selectors import client_accounts_exist, seeded_data_digest, seeded_tenant_visibility
from seeding.services import SeedRefused, seed_comprehensive, seed_profile


class Command(BaseCommand):
    help = (
        "Seed the demo (or large) profile: tenants, users of every role, engagements, master flows, agent tasks, "
        "LLM usage, roll-ups, security events, credentials and embedded patterns. Same seed and profile, same data; "
        "re-running replaces the seeded tenants' rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--profile", choices=sorted(PROFILES), default="demo", help="Sizes to seed (default demo).")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"Random seed (default {DEFAULT_SEED}).")
        parser.add_argument("--tenants", type=int, help="Number of tenants (default: the profile's).")
        parser.add_argument("--patterns", type=int, help="Number of discovered patterns across all tenants (default: the profile's).")
        parser.add_argument("--reset", action="store_true", help="Also remove every tenant an earlier run seeded; other tenants are untouched.")
        parser.add_argument("--dry-run", action="store_true", help="Generate everything, write nothing (embeddings skipped).")
        parser.add_argument("--if-empty", action="store_true", help="Seed only when no client account exists; print the logins either way.")
        parser.add_argument(
            "--allow-demo-users", action="store_true", help="Create the known-password login users even with DEBUG off."
        )
        parser.add_argument("--digest", action="store_true", help="Print a digest of the seeded tenants' content (for reproducibility checks).")

    def handle(self, *args, profile, seed, tenants, patterns, reset, dry_run, if_empty, allow_demo_users, digest, **options):
        try:
            chosen = seed_profile(profile, tenants=tenants, patterns=patterns)
        except SeedRefused as exc:
            raise CommandError(str(exc)) from exc
        specs = tenant_specs(chosen.tenants)
        if if_empty and client_accounts_exist():
            self.stdout.write("Client accounts exist already: not seeding (--if-empty).")
            self._print_logins(specs)
            return

        self.stdout.write(
            f"Seeding profile {chosen.name} with seed {seed}: {chosen.tenants} tenants, {chosen.patterns:,} patterns"
            + (" (dry run)" if dry_run else "")
        )
        try:
            report = seed_comprehensive(
                profile=profile,
                seed=seed,
                tenants=tenants,
                patterns=patterns,
                reset=reset,
                dry_run=dry_run,
                allow_demo_users=allow_demo_users,
                progress=self.stdout.write if options["verbosity"] >= 1 else None,
            )
        except SeedRefused as exc:
            raise CommandError(str(exc)) from exc

        self._print_table(report)
        if not dry_run:
            self.stdout.write("Visible through RLS (runtime role, tenant_context):")
            for spec in specs:
                seen = seeded_tenant_visibility(client_account_ids=[spec.id])[str(spec.id)]
                self.stdout.write(
                    f"  {spec.name}: {seen['engagements']} engagements, {seen['agent_task_history']:,} agent tasks, "
                    f"{seen['agent_discovered_patterns']:,} patterns"
                )
        if digest and not dry_run:
            self.stdout.write(f"Digest: {seeded_data_digest(client_account_ids=[s.id for s in specs])}")
        self._print_logins(specs)

    def _print_table(self, report):
        self.stdout.write("")
        self.stdout.write(f"Reference time {report.reference_time.isoformat()}; removed {report.removed_rows:,} previous rows.")
        self.stdout.write(f"{'model':<32} {'rows':>10} {'seconds':>9} {'rows/s':>10}")
        for table, stat in report.stats.items():
            self.stdout.write(f"{table:<32} {stat.rows:>10,} {stat.seconds:>9.2f} {stat.rows_per_second:>10,.0f}")
        total_seconds = report.seconds
        self.stdout.write(f"{'total':<32} {report.total_rows:>10,} {total_seconds:>9.2f} {report.total_rows / max(total_seconds, 1e-9):>10,.0f}")
        for phase, seconds in report.phases.items():
            self.stdout.write(f"  {phase}: {seconds:.2f} s")
        self.stdout.write("  (seconds per model: generation + load; the next tenant is generated while one loads, so they overlap)")
        if report.dry_run:
            self.stdout.write("  (dry run: no embeddings, no roll-ups; nothing was written)")
        verb = "Would write" if report.dry_run else "Wrote"
        self.stdout.write(self.style.SUCCESS(f"{verb} {report.total_rows:,} rows in {total_seconds:.1f} s (seed {report.seed})."))

    def _print_logins(self, specs):
        self.stdout.write("")
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(f"  {PLATFORM_ADMIN_EMAIL:<36} platform_admin (superuser)")
        for spec in specs:
            for role in ROLE_LOGINS:
                self.stdout.write(f"  {spec.login_email(role):<36} {role:<20} {spec.name}")
