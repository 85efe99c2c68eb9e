"""The list prices (USD per 1K tokens, standard tier, no batch or cache discounts) of the
models the agents call, from the providers' public price pages.

Superseded prices keep their row with ``effective_to`` set, so a call is always priced as
of its own time: OpenAI's ``gpt-4o`` alias moved to the cheaper 2024-08-06 snapshot on
2024-10-02; Google cut Gemini 1.5 Pro on 2024-10-01; Anthropic lowered Claude 3.5 Haiku a
month after launch; DeepInfra lowered Llama 3.1 70B. Gemini prices are those of prompts up
to 128K tokens. An empty model_version is the model's unversioned alias.

Loading is idempotent (rows already present by natural key are left alone). The reverse
keeps the rows: they go with the table when 0001 is reversed, and usage logs may still
reference them.
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


# (provider, model_name, model_version, input per 1K, output per 1K, effective_from, effective_to)
PRICES = [
    ("openai", "gpt-4o", "", "0.005", "0.015", "2024-05-13", "2024-10-02"),
    ("openai", "gpt-4o", "", "0.0025", "0.01", "2024-10-02", None),
    ("openai", "gpt-4o", "2024-05-13", "0.005", "0.015", "2024-05-13", None),
    ("openai", "gpt-4o", "2024-08-06", "0.0025", "0.01", "2024-08-06", None),
    ("openai", "gpt-4o-mini", "", "0.00015", "0.0006", "2024-07-18", None),
    ("openai", "gpt-4o-mini", "2024-07-18", "0.00015", "0.0006", "2024-07-18", None),
    ("openai", "gpt-4.1", "", "0.002", "0.008", "2025-04-14", None),
    ("openai", "gpt-4.1", "2025-04-14", "0.002", "0.008", "2025-04-14", None),
    ("openai", "gpt-4.1-mini", "", "0.0004", "0.0016", "2025-04-14", None),
    ("openai", "text-embedding-3-small", "", "0.00002", "0", "2024-01-25", None),
    ("openai", "text-embedding-3-large", "", "0.00013", "0", "2024-01-25", None),
    ("anthropic", "claude-3-5-sonnet", "", "0.003", "0.015", "2024-06-20", None),
    ("anthropic", "claude-3-5-sonnet", "20240620", "0.003", "0.015", "2024-06-20", None),
    ("anthropic", "claude-3-5-sonnet", "20241022", "0.003", "0.015", "2024-10-22", None),
    ("anthropic", "claude-3-5-haiku", "", "0.001", "0.005", "2024-11-04", "2024-12-05"),
    ("anthropic", "claude-3-5-haiku", "", "0.0008", "0.004", "2024-12-05", None),
    ("anthropic", "claude-3-5-haiku", "20241022", "0.001", "0.005", "2024-11-04", "2024-12-05"),
    ("anthropic", "claude-3-5-haiku", "20241022", "0.0008", "0.004", "2024-12-05", None),
    ("anthropic", "claude-sonnet-4", "", "0.003", "0.015", "2025-05-22", None),
    ("anthropic", "claude-sonnet-4", "20250514", "0.003", "0.015", "2025-05-22", None),
    ("google", "gemini-1.5-pro", "", "0.0035", "0.0105", "2024-05-14", "2024-10-01"),
    ("google", "gemini-1.5-pro", "", "0.00125", "0.005", "2024-10-01", None),
    ("google", "gemini-2.0-flash", "", "0.0001", "0.0004", "2025-02-05", None),
    ("deepinfra", "meta-llama/Meta-Llama-3.1-70B-Instruct", "", "0.00035", "0.0004", "2024-07-23", "2024-12-01"),
    ("deepinfra", "meta-llama/Meta-Llama-3.1-70B-Instruct", "", "0.00023", "0.0004", "2024-12-01", None),
    ("deepinfra", "meta-llama/Meta-Llama-3.1-8B-Instruct", "", "0.00003", "0.00005", "2024-07-23", None),
]


def load_prices(apps, schema_editor):
    Pricing = apps.get_model("llm", "LLMModelPricing")
    db = schema_editor.connection.alias
    for provider, model_name, version, input_cost, output_cost, start, end in PRICES:
        Pricing.objects.using(db).get_or_create(
            provider=provider,
            model_name=model_name,
            model_version=version,
            effective_from=_at(start),
            defaults={
                "input_cost_per_1k": Decimal(input_cost),
                "output_cost_per_1k": Decimal(output_cost),
                "currency": "USD",
                "effective_to": _at(end) if end else None,
                "is_active": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("llm", "0002_pricing_windows_do_not_overlap")]

    operations = [migrations.RunPython(load_prices, migrations.RunPython.noop)]
