"""Active price windows of one model (provider, name, version) never overlap.

An exclusion constraint would say this declaratively, but it needs btree_gist for the
text columns, which the embedded server does not ship; a trigger does the same check.
The advisory lock serialises writers of one model, so two concurrent inserts cannot both
pass the check.
"""

from django.db import migrations

FORWARD = [
    r"""
CREATE FUNCTION llm_model_pricing_no_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.is_active THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(
        hashtextextended('llm_model_pricing:' || NEW.provider || '/' || NEW.model_name || '@' || NEW.model_version, 0)
    );
    IF EXISTS (
        SELECT 1 FROM llm_model_pricing p
        WHERE p.provider = NEW.provider
          AND p.model_name = NEW.model_name
          AND p.model_version = NEW.model_version
          AND p.is_active
          AND p.id <> NEW.id
          AND tstzrange(p.effective_from, p.effective_to) && tstzrange(NEW.effective_from, NEW.effective_to)
    ) THEN
        RAISE EXCEPTION 'llm_model_pricing: % / % @ % already has an active price overlapping [%, %)',
            NEW.provider, NEW.model_name, NEW.model_version, NEW.effective_from, coalesce(NEW.effective_to::text, 'open')
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'llm_model_pricing_no_overlap';
    END IF;
    RETURN NEW;
END
$$
""",
    """
CREATE TRIGGER llm_model_pricing_no_overlap
BEFORE INSERT OR UPDATE OF provider, model_name, model_version, effective_from, effective_to, is_active
ON llm_model_pricing FOR EACH ROW EXECUTE FUNCTION llm_model_pricing_no_overlap()
""",
]

REVERSE = [
    "DROP TRIGGER IF EXISTS llm_model_pricing_no_overlap ON llm_model_pricing",
    "DROP FUNCTION IF EXISTS llm_model_pricing_no_overlap()",
]


class Migration(migrations.Migration):
    dependencies = [("llm", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
