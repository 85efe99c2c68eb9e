from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenancy import checks, schema  # noqa: F401  (register system checks and OpenAPI extensions)
