from tortoise import migrations
from tortoise.migrations import operations as ops

# Counter keys are read by ranges ("day:" up to "day;", "event:" up to "event;"), so
# they must sort byte by byte whatever the database's default collation: a language
# collation (en_US, zh_CN) ignores punctuation at first and sorts "day:2026-11-24"
# after "day;". SQLite's default (BINARY) already compares bytes.
BYTEWISE_KEYS = 'ALTER TABLE reach_counter ALTER COLUMN "key" TYPE VARCHAR(40) COLLATE "C"'
DEFAULT_KEYS = 'ALTER TABLE reach_counter ALTER COLUMN "key" TYPE VARCHAR(40) COLLATE "default"'

# Each event's admissions become sharded reach_counter rows ("event:42", sharded by
# person id over 16 shards, as events_service.reach.counter had it when this was
# written); the live figures read them instead of counting admissions. The count of
# the admissions is the truth: it replaces whatever a new worker started before this
# migration may have counted already. (`WHERE true` lets SQLite tell the upsert's ON
# from a join's.)
BACKFILL = """
INSERT INTO reach_counter (key, shard, value)
SELECT 'event:' || event_id, person_id % 16, COUNT(*) FROM admission WHERE true
GROUP BY event_id, person_id % 16
ON CONFLICT (key, shard) DO UPDATE SET value = excluded.value
"""


def _on_postgres(sql: str):
    async def run(apps, schema_editor) -> None:
        client = schema_editor.client
        if client.capabilities.dialect == "postgres":
            await client.execute_script(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("models", "0002_programme_kpis")]

    initial = False

    operations = [
        ops.RunPython(_on_postgres(BYTEWISE_KEYS), reverse_code=_on_postgres(DEFAULT_KEYS)),
        ops.RunSQL(BACKFILL, reverse_sql="DELETE FROM reach_counter WHERE key LIKE 'event:%'"),
    ]
