"""Print the libpq URI of the owner (default) or the runtime role (--runtime)."""

from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand


def libpq_uri(db: dict) -> str:
    user = quote(db["USER"], safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    host = db.get("HOST") or ""
    port = db.get("PORT") or "5432"
    credentials = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        # A Unix-socket directory goes in the query string.
        return f"postgresql://{credentials}/{quote(db['NAME'], safe='')}?host={quote(host, safe='/')}&port={port}"
    return f"postgresql://{credentials}{host}:{port}/{quote(db['NAME'], safe='')}"


class Command(BaseCommand):
    help = "Print the database URI of the schema owner, or of the runtime role with --runtime."

    def add_arguments(self, parser):
        parser.add_argument("--runtime", action="store_true", help="the runtime (RLS-bound) role instead of the owner")

    def handle(self, *args, runtime=False, **options):
        self.stdout.write(libpq_uri(settings.DATABASES["default" if runtime else "owner"]))
