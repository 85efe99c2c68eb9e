"""`manage.py runserver` serves the app (the command `make run` ends with)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tenancy.management.commands.database_url import libpq_uri
from tests.live import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_runserver_serves_healthz_and_the_admin_login(world, django_db_blocker):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DEBUG": "1",
        "DATABASE_URL": libpq_uri(settings.DATABASES["owner"]),
        "DATABASE_RUNTIME_URL": libpq_uri(settings.DATABASES["default"]),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        import httpx

        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", timeout=60)
        except RuntimeError:
            process.kill()
            pytest.fail(process.stdout.read()[-3000:])
        assert httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(10)
