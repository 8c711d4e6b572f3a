from tortoise import migrations
from tortoise.migrations import operations as ops

# The people search's trigram indexes (0009) hold only the names and addresses still
# held: an erased person's NULL name and e-mail can never match a search, and leaving
# them out spares erasure two GIN insertions per person (a third to a half of the
# retention run's `UPDATE person`, measured at 100,000 people). A search's
# `LOWER(name) LIKE ...` / `email LIKE ...` implies the column is not NULL, so
# PostgreSQL still answers it from these partial indexes. PostgreSQL only, as in 0009.

HELD = {
    "person_name_trgm": "person USING gin (LOWER(name) gin_trgm_ops) WHERE name IS NOT NULL",
    "person_email_trgm": "person USING gin (email gin_trgm_ops) WHERE email IS NOT NULL",
}
ALL = {
    "person_name_trgm": "person USING gin (LOWER(name) gin_trgm_ops)",
    "person_email_trgm": "person USING gin (email gin_trgm_ops)",
}


def _replace_with(indexes):
    async def replace(apps, schema_editor) -> None:
        if schema_editor.client.capabilities.dialect != "postgres":
            return
        for name, target in indexes.items():
            await schema_editor.client.execute_script(f"DROP INDEX IF EXISTS {name}")
            await schema_editor.client.execute_script(f"CREATE INDEX {name} ON {target}")

    return replace


class Migration(migrations.Migration):
    dependencies = [('models', '0013_entry_member_person')]

    initial = False

    operations = [
        ops.RunPython(_replace_with(HELD), reverse_code=_replace_with(ALL)),
    ]
