"""Helpers of the admin tests: rows of every admin's model, and form data read back from a page."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse

from seeding.factories.registry import factory_for
from tenancy.models import ClientAccount, User


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def rows_of(model, tenant, n: int) -> list:
    """``n`` rows of ``model`` in ``tenant`` through its factory (call inside a context that may write them).

    Foreign keys to users get the tenant's committed users (users are global: a tenant
    context cannot create them); unique keys that involve a user get a distinct one each.
    """
    make = factory_for(model)
    fields = {f.name: f for f in model._meta.concrete_fields}
    kwargs = {"client_account": tenant.account}
    if "engagement" in fields:
        kwargs["engagement"] = tenant.engagements[0]
    user_fields = [name for name, f in fields.items() if f.is_relation and f.related_model is User and not f.null]
    people = list(tenant.users.values())
    rows = []
    for i in range(n):
        people_kwargs = {name: people[(i + j) % len(people)] for j, name in enumerate(user_fields)}
        rows.append(make(**kwargs, **people_kwargs))
    return rows


def tenant_models() -> list:
    """Models of the admin that belong to a tenant (every one but the tenant root and the global tables)."""
    return sorted(
        (m for m in admin.site._registry if m is not ClientAccount and any(f.name == "client_account" for f in m._meta.concrete_fields)),
        key=lambda m: m._meta.label,
    )


def form_data(response) -> dict:
    """The POST data of the admin form on ``response``, as the browser would send it unchanged."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = value
        if field.show_hidden_initial:
            # Fields with a callable default carry their initial value along (has_changed).
            data[f"initial-{name}"] = value
    return data
