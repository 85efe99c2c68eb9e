"""Embed the patterns that have no embedding (or, with --reembed, another embedder's)."""

import uuid

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from patterns.embedders import EmbeddingError
from patterns.services import pattern_embeddings_backfill, patterns_pending_embedding


class Command(BaseCommand):
    help = (
        "Fill agent_discovered_patterns.embedding with the configured embedder, per client account, "
        "one transaction per batch: safe to interrupt and re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=100, help="Rows per batch and transaction (default 100).")
        parser.add_argument("--client-account", help="Only this client account (UUID).")
        parser.add_argument("--reembed", action="store_true", help="Also redo rows embedded by another embedding model.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be embedded; write nothing.")

    def handle(self, *args, batch_size, client_account, reembed, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if client_account is not None:
            try:
                client_account = str(uuid.UUID(client_account))
            except ValueError:
                raise CommandError(f"--client-account {client_account!r} is not a UUID.") from None

        if dry_run:
            pending = patterns_pending_embedding(reembed=reembed, client_account_id=client_account)
            for client_id, rows in pending.items():
                self.stdout.write(f"  {client_id}: {rows} rows")
            self.stdout.write(f"Dry run: {sum(pending.values())} rows of {len(pending)} client accounts would be embedded.")
            return

        total = sum(patterns_pending_embedding(reembed=reembed, client_account_id=client_account).values())
        with tqdm(total=total, unit="rows", desc="Embedding", disable=total == 0, file=self.stderr) as bar:
            try:
                summary = pattern_embeddings_backfill(
                    batch_size=batch_size,
                    client_account_id=client_account,
                    reembed=reembed,
                    on_tenant=lambda client_id, rows: bar.set_postfix_str(client_id[:8]),
                    on_batch=bar.update,
                )
            except EmbeddingError as exc:
                raise CommandError(f"The embedder failed ({exc}); re-run the command to resume where it stopped.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Embedded {summary.rows} rows of {summary.tenants} client accounts in {summary.batches} batches, "
                f"{summary.seconds:.1f}s ({summary.rows_per_second:.0f} rows/s) with {summary.embedding_model}."
            )
        )
