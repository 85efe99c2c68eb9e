"""Find the factory of a model, so tests can be generated from the model registry."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from factory.django import DjangoModelFactory


@cache
def _factories() -> dict:
    import seeding.factories as package

    found = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, DjangoModelFactory) and not value._meta.abstract:
                found.setdefault(value._meta.model, value)
    return found


def factory_for(model):
    """The factory-boy factory of ``model``; KeyError naming the model when there is none."""
    try:
        return _factories()[model]
    except KeyError:
        raise KeyError(f"No factory for {model._meta.label}: add one to seeding/factories/.") from None
