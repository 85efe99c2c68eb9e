from django.apps import AppConfig


class SeedingConfig(AppConfig):
    name = "seeding"
    default_auto_field = "django.db.models.BigAutoField"
