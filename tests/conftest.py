"""Test database set-up and the shared tenant world.

The owner role creates and migrates the test database (the runtime role cannot run DDL,
by design); the runtime alias then points at it too. Django's own set-up would create it
through the `default` alias, which is the runtime role here.
"""

import os

import pytest
from django.conf import settings
from django.db import connections


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    with django_db_blocker.unblock():
        owner = connections["owner"]
        # One test database per pytest process, so concurrent runs never clobber each other.
        owner.settings_dict["TEST"]["NAME"] = f"test_{owner.settings_dict['NAME']}_{os.getpid()}"
        old_name = owner.settings_dict["NAME"]
        test_name = owner.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
        runtime = connections["default"]
        runtime.close()
        runtime.settings_dict["NAME"] = test_name
        settings.DATABASES["default"]["NAME"] = test_name
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
        owner.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
