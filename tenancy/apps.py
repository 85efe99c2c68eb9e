from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import models as auth_models
        from django.contrib.auth.signals import user_logged_in

        from tenancy import checks, schema  # noqa: F401  (register system checks and OpenAPI extensions)
        from tenancy.context import authentication_lookup

        # Django stamps last_login right after login, before any tenant is chosen; the
        # users table is under RLS, so the stamp runs inside the authentication lookup.
        def update_last_login(sender, user, **kwargs):
            with authentication_lookup():
                auth_models.update_last_login(sender, user, **kwargs)

        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(update_last_login, dispatch_uid="update_last_login", weak=False)
