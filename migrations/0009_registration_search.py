from tortoise import migrations
from tortoise.migrations import operations as ops

# The console searches an event's registrations by name, e-mail and organisation
# (events.service.people_matching_sql: `LOWER(name) LIKE '%text%'`). On PostgreSQL
# trigram indexes answer such a search without reading every person: one per column
# searched, on the very expression the search uses, and an index of people by
# organisation for the organisation branch. The registrations of the people found are
# read from an index holding their ids (`person_id, event_id` INCLUDE `id`), so a page
# of a search is an index-only nested loop, not a scan of the event. These are
# PostgreSQL's own (pg_trgm GIN indexes on expressions, INCLUDE), so they are not in
# the models' Meta, which describes what both engines build; SQLite, the embedded
# default, reads its table instead.

INDEXES = {
    "person_name_trgm": "person USING gin (LOWER(name) gin_trgm_ops)",
    "person_email_trgm": "person USING gin (email gin_trgm_ops)",
    "organisation_name_trgm": "organisation USING gin (LOWER(name) gin_trgm_ops)",
    "person_organisation_idx": "person (organisation_id)",
    "registration_person_event_id_idx": "registration (person_id, event_id) INCLUDE (id)",
}


def _postgres(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "postgres"


async def create(apps, schema_editor) -> None:
    if not _postgres(schema_editor):
        return
    await schema_editor.client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in INDEXES.items():
        await schema_editor.client.execute_script(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


async def drop(apps, schema_editor) -> None:
    if not _postgres(schema_editor):
        return
    for name in INDEXES:
        await schema_editor.client.execute_script(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [('models', '0008_announcements')]

    initial = False

    operations = [
        ops.RunPython(create, reverse_code=drop),
    ]
