from tortoise import migrations
from tortoise.migrations import operations as ops

# The door bundle's delta (checkin/offline.py) sends the tickets whose registration
# changed since the door's last version, found by registration(event_id, updated_at).
# What the bundle holds for a ticket is also its holder's name and organisation, and
# those change on the person's row: the attendee edits their details, the retention
# policy or an erasure on request blanks them, an erased person registers again. A
# trigger on each engine moves updated_at of every registration of that person when
# the name or the organisation really changes (an organisation renamed: of its
# people's), whoever writes the row, so no writer has to remember the door. A scan
# only sets first_admitted_at, which these triggers do not watch. Only registrations of
# events that have not ended (a day's margin for a late door) are moved: no door
# holds a bundle of a past event, and the retention run, which erases people whose
# events all ended long ago, then pays one index probe per person, not an update.
#
# SQLite keeps Tortoise's text form of a UTC time ('YYYY-MM-DD HH:MM:SS.ffffff+00:00').

_PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION registration_holder_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registration r SET updated_at = clock_timestamp() FROM event e
    WHERE r.person_id = NEW.id AND e.id = r.event_id AND e.ends_at > now() - interval '1 day';
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION registration_organisation_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registration r SET updated_at = clock_timestamp() FROM event e
    WHERE r.person_id IN (SELECT id FROM person WHERE organisation_id = NEW.id)
      AND e.id = r.event_id AND e.ends_at > now() - interval '1 day';
    RETURN NULL;
END $$;
"""
_PG_TRIGGERS = """
CREATE TRIGGER person_ticket_holder_changed
AFTER UPDATE OF name, organisation_id ON person FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.organisation_id IS DISTINCT FROM NEW.organisation_id)
EXECUTE FUNCTION registration_holder_changed();
CREATE TRIGGER organisation_renamed
AFTER UPDATE OF name ON organisation FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION registration_organisation_renamed();
"""
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00:00'"
_SQLITE_LIVE_EVENTS = "SELECT id FROM event WHERE ends_at > strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 day')"
_SQLITE_TRIGGERS = f"""
CREATE TRIGGER person_ticket_holder_changed
AFTER UPDATE OF name, organisation_id ON person FOR EACH ROW
WHEN OLD.name IS NOT NEW.name OR OLD.organisation_id IS NOT NEW.organisation_id
BEGIN
    UPDATE registration SET updated_at = {_SQLITE_NOW}
    WHERE person_id = NEW.id AND event_id IN ({_SQLITE_LIVE_EVENTS});
END;
CREATE TRIGGER organisation_renamed
AFTER UPDATE OF name ON organisation FOR EACH ROW
WHEN OLD.name IS NOT NEW.name
BEGIN
    UPDATE registration SET updated_at = {_SQLITE_NOW}
    WHERE person_id IN (SELECT id FROM person WHERE organisation_id = NEW.id)
      AND event_id IN ({_SQLITE_LIVE_EVENTS});
END;
"""
_DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS person_ticket_holder_changed{on_person};
DROP TRIGGER IF EXISTS organisation_renamed{on_organisation};
"""


def _postgres(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "postgres"


async def create(apps, schema_editor) -> None:
    if _postgres(schema_editor):
        await schema_editor.client.execute_script(_PG_FUNCTIONS + _PG_TRIGGERS)
    else:
        await schema_editor.client.execute_script(_SQLITE_TRIGGERS)


async def drop(apps, schema_editor) -> None:
    if _postgres(schema_editor):
        await schema_editor.client.execute_script(
            _DROP_TRIGGERS.format(on_person=" ON person", on_organisation=" ON organisation")
            + "DROP FUNCTION IF EXISTS registration_holder_changed();"
            + "DROP FUNCTION IF EXISTS registration_organisation_renamed();"
        )
    else:
        await schema_editor.client.execute_script(
            _DROP_TRIGGERS.format(on_person="", on_organisation="")
        )


class Migration(migrations.Migration):
    dependencies = [('models', '0014_search_indexes_held_only')]

    initial = False

    operations = [
        ops.RunPython(create, reverse_code=drop),
    ]
