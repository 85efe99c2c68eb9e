"""Settings of a live test server that also serves the test-only views of tests/reliability/urls.py."""

from tests.settings import *  # noqa: F401,F403

ROOT_URLCONF = "tests.reliability.urls"
