import factory
from django.utils.text import slugify

from seeding.factories.base import ModernizeFactory
from tenancy.models import ClientAccount, ClientMembership, Engagement, EngagementAssignment, Role, User

INDUSTRIES = ["technology", "retail", "financial_services", "healthcare", "manufacturing", "logistics", "energy", "telecommunications"]
ENGAGEMENT_NAMES = [
    "Data Center Exit to AWS",
    "Mainframe COBOL Modernization",
    "Oracle to PostgreSQL Migration",
    "SAP S/4HANA Lift and Shift to Azure",
    "VMware Estate Rehost to GCP",
    "Kubernetes Replatforming",
    "Legacy .NET Framework to .NET 8",
    "Hadoop to Databricks Lakehouse",
]


class ClientAccountFactory(ModernizeFactory):
    class Meta:
        model = ClientAccount
        django_get_or_create = ("slug",)

    name = factory.Faker("company")
    slug = factory.LazyAttributeSequence(lambda o, n: f"{slugify(o.name)[:80]}-{n}")
    industry = factory.Faker("random_element", elements=INDUSTRIES)
    company_size = factory.Faker("random_element", elements=["small", "medium", "large", "enterprise"])
    subscription_tier = factory.Faker("random_element", elements=["standard", "professional", "enterprise"])
    max_users = factory.Faker("random_int", min=25, max=500)
    max_engagements = factory.Faker("random_int", min=5, max=50)
    features_enabled = factory.LazyFunction(lambda: {"pattern_search": True, "agent_learning": True})
    settings = factory.LazyFunction(lambda: {"timezone": "UTC", "data_residency": "eu-west-1"})
    agent_preferences = factory.LazyFunction(lambda: {"confidence_threshold": 0.7, "max_parallel_agents": 4})
    business_objectives = factory.LazyFunction(lambda: ["reduce infrastructure cost by 30%", "exit data center by Q4"])


class EngagementFactory(ModernizeFactory):
    class Meta:
        model = Engagement

    client_account = factory.SubFactory(ClientAccountFactory)
    name = factory.Faker("random_element", elements=ENGAGEMENT_NAMES)
    slug = factory.LazyAttributeSequence(lambda o, n: f"{slugify(o.name)[:80]}-{n}")
    engagement_type = "migration"
    status = factory.Faker("random_element", elements=["planning", "active", "active", "on_hold", "completed"])
    priority = factory.Faker("random_element", elements=["low", "medium", "high", "critical"])
    start_date = factory.Faker("date_between", start_date="-2y", end_date="-30d")
    target_completion_date = factory.LazyAttribute(lambda o: o.start_date and o.start_date.replace(year=o.start_date.year + 1))
    migration_scope = factory.LazyFunction(lambda: {"applications": 42, "servers": 310, "databases": 57, "target_cloud": "aws"})


class UserFactory(ModernizeFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_active = True
    password = factory.django.Password("correct horse battery staple")


class ClientMembershipFactory(ModernizeFactory):
    class Meta:
        model = ClientMembership

    client_account = factory.SubFactory(ClientAccountFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER


class EngagementAssignmentFactory(ModernizeFactory):
    class Meta:
        model = EngagementAssignment

    engagement = factory.SubFactory(EngagementFactory)
    client_account = factory.SelfAttribute("engagement.client_account")
    user = factory.SubFactory(UserFactory)
