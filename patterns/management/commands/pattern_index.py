"""Inspect or rebuild the vector index of agent_discovered_patterns."""

from django.core.management.base import BaseCommand, CommandError

from patterns.selectors import embedding_index_status
from patterns.services import INDEX_METHODS, IndexRebuildError, embedding_index_rebuild


def _size(size_bytes: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size_bytes < 1024 or unit == "GB":
            return f"{size_bytes:.0f} {unit}" if unit == "B" else f"{size_bytes:.1f} {unit}"
        size_bytes /= 1024
    return str(size_bytes)


class Command(BaseCommand):
    help = "status: list the vector indexes; rebuild: replace the vector index concurrently (no write lock)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "rebuild"])
        parser.add_argument("--method", choices=INDEX_METHODS, default="hnsw")
        parser.add_argument("--m", type=int, default=16, help="HNSW: links per node (default 16).")
        parser.add_argument("--ef-construction", type=int, default=64, help="HNSW: candidate list while building (default 64).")
        parser.add_argument("--lists", type=int, help="IVFFlat: number of lists (default: embedded rows / 1000).")
        parser.add_argument("--maintenance-work-mem", help="For this build only, e.g. 2GB (an HNSW graph built in memory is much faster).")

    def handle(self, *args, action, method, m, ef_construction, lists, maintenance_work_mem, **options):
        if action == "rebuild":
            try:
                embedding_index_rebuild(
                    method=method, m=m, ef_construction=ef_construction, lists=lists, maintenance_work_mem=maintenance_work_mem
                )
            except IndexRebuildError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(self.style.SUCCESS(f"Rebuilt the vector index as {method}."))
        self._print_status()

    def _print_status(self):
        status = embedding_index_status()
        self.stdout.write(f"Rows: {status.rows}, embedded: {status.embedded_rows}")
        if status.main is None:
            self.stdout.write(self.style.WARNING("No vector index with the model's name: searches fall back to exact scans."))
        for index in status.indexes:
            state = "valid" if index.valid else "INVALID (a failed concurrent build: rebuild to replace it)"
            self.stdout.write(f"{index.name}: {index.method}, {_size(index.size_bytes)}, {state}")
            self.stdout.write(f"  {index.definition}")
