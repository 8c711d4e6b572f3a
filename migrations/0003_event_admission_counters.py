from tortoise import migrations
from tortoise.migrations import operations as ops

# Each event's admissions become sharded reach_counter rows ("event:42", sharded by
# person id over 16 shards, as events_service.reach.counter had it when this was
# written); the live figures read them instead of counting admissions.
BACKFILL = """
INSERT INTO reach_counter (key, shard, value)
SELECT 'event:' || event_id, person_id % 16, COUNT(*) FROM admission
GROUP BY event_id, person_id % 16
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0002_programme_kpis")]

    initial = False

    operations = [
        ops.RunSQL(BACKFILL, reverse_sql="DELETE FROM reach_counter WHERE key LIKE 'event:%'"),
    ]
