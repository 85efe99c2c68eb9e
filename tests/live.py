"""Real servers for tests that need committed data and real connections: gunicorn running
the app against the test database, and PgBouncer in transaction pooling mode.

Everything listens on 127.0.0.1 only and is stopped by the context managers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings

from tenancy.management.commands.database_url import libpq_uri

ROOT = Path(__file__).resolve().parents[1]
PGBOUNCER_USER = "pgserver"  # PgBouncer refuses to run as root; the embedded server's user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy in {timeout}s: {last}")


@contextmanager
def gunicorn_server(*, runtime_db: dict | None = None, threads: int = 1, env: dict | None = None):
    """gunicorn (1 worker, ``threads`` threads) serving the app on the test database."""
    port = free_port()
    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": libpq_uri(settings.DATABASES["owner"]),
        "DATABASE_RUNTIME_URL": libpq_uri(runtime_db or settings.DATABASES["default"]),
        "CONN_MAX_AGE": "600",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        **(env or {}),
    }
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "modernize.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "5"],
        cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(f"{base}/healthz")
        except RuntimeError:
            process.kill()
            raise RuntimeError(Path(log.name).read_text()[-3000:])
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        os.unlink(log.name)


@contextmanager
def pgbouncer(*, pool_size: int = 3, options: dict | None = None):
    """PgBouncer in transaction pooling mode in front of the test database.

    ``options``: more [pgbouncer] settings (e.g. query_wait_timeout). Yields the runtime
    DATABASES entry that goes through it.
    """
    if shutil.which("pgbouncer") is None:
        raise RuntimeError("pgbouncer is not installed: run `make system-deps` (Debian package pgbouncer).")
    runtime = settings.DATABASES["default"]
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    (workdir / "userlist.txt").write_text(f'"{runtime["USER"]}" "{runtime["PASSWORD"]}"\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{runtime['NAME']} = host={runtime['HOST']} port={runtime['PORT']} dbname={runtime['NAME']}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = scram-sha-256\nauth_file = {workdir / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {workdir / 'pgbouncer.log'}\npidfile = {workdir / 'pgbouncer.pid'}\n"
        + "".join(f"{name} = {value}\n" for name, value in (options or {}).items())
    )
    os.chmod(workdir, 0o755)
    for name in ("userlist.txt", "pgbouncer.ini"):
        os.chmod(workdir / name, 0o644)
    command = ["pgbouncer", str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", PGBOUNCER_USER]
        shutil.chown(workdir, PGBOUNCER_USER)
    # A file, not a pipe: nobody reads a pipe while the server runs, and once its buffer
    # is full (PgBouncer logs every refused client during a database outage) PgBouncer
    # blocks on the write and stops answering.
    console = open(workdir / "pgbouncer.out", "wb")
    process = subprocess.Popen(command, stdout=console, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = (workdir / "pgbouncer.out").read_text()
                    log = (workdir / "pgbouncer.log").read_text() if (workdir / "pgbouncer.log").exists() else ""
                    raise RuntimeError(f"pgbouncer did not start: {output} {log}")
                time.sleep(0.1)
        yield {**runtime, "HOST": "127.0.0.1", "PORT": str(port)}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        console.close()
        shutil.rmtree(workdir, ignore_errors=True)
