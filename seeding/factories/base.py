"""Base factory: ids from the seeded Faker (reproducible), database chosen by the router.

factory-boy's DjangoModelFactory writes through the model's manager without `.using()`
when `database` is the default, so the tenancy router decides: the runtime connection in
a tenant context, the owner connection in a platform context.
"""

import factory
from factory.django import DjangoModelFactory


class ModernizeFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    id = factory.Faker("uuid4", cast_to=None)
