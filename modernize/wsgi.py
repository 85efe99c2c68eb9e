import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modernize.settings")
application = get_wsgi_application()

from tenancy.guards import ensure_runtime_role_is_safe  # noqa: E402  (needs apps loaded)

ensure_runtime_role_is_safe()
