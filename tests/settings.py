"""Test settings: the project's settings with test-only secrets and a fast hasher."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("MODERNIZE_TESTING", "1")
os.environ.setdefault("PASSWORD_HASHERS", "django.contrib.auth.hashers.MD5PasswordHasher")

from modernize.settings import *  # noqa: E402,F401,F403
