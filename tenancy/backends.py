"""Email login whose user lookups run inside ``authentication_lookup`` (users are under RLS)."""

from django.contrib.auth.backends import ModelBackend

from tenancy.context import authentication_lookup


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        with authentication_lookup():
            return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        with authentication_lookup():
            return super().get_user(user_id)
