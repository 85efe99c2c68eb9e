import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modernize.settings")
application = get_asgi_application()

from tenancy.guards import ensure_runtime_role_is_safe  # noqa: E402  (needs apps loaded)

ensure_runtime_role_is_safe()
