from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# The programme's counters get structure: one sharded `reach_counter` table of string
# keys ("total", "month:2026-11", "kind:summit", "day:2026-11-24", "event:42", read
# by key ranges) becomes four tallies whose rows are picked by typed columns, with the
# figures one admission moves side by side in one row (models/programme.py).
#
# The tallies are filled from the admissions themselves, as `events-service
# reach-rebuild` would: the old keys counted the day and the kind of a person's
# first admission apart, and the new talent tally needs the two together. Shards are
# ids modulo 16, as events_service.reach.counter had it when this was written. On the
# way back, the old keys are filled from the tallies.
SHARDS = 16

_DAY = {
    "postgres": "(a.admitted_at AT TIME ZONE 'UTC')::date",
    # SQLite holds the ORM's ISO text with its offset; date() reads it as UTC.
    "sqlite": "date(a.admitted_at)",
}
# (`WHERE true` lets SQLite tell an upsert's ON from a join's; these tables are new
# and empty, so plain inserts.)
FILL = [
    f"""INSERT INTO programme_tally (shard, admissions, talents)
    SELECT person_id % {SHARDS}, COUNT(*), COUNT(DISTINCT person_id) FROM admission
    GROUP BY person_id % {SHARDS}""",
    f"""INSERT INTO event_tally (event_id, shard, admissions)
    SELECT event_id, person_id % {SHARDS}, COUNT(*) FROM admission
    GROUP BY event_id, person_id % {SHARDS}""",
    f"""INSERT INTO company_tally (shard, companies)
    SELECT id % {SHARDS}, COUNT(*) FROM organisation WHERE first_benefitted_at IS NOT NULL
    GROUP BY id % {SHARDS}""",
    f"""INSERT INTO talent_tally (day, event_kind, shard, talents)
    SELECT day, kind, person_id % {SHARDS}, COUNT(*) FROM (
        SELECT a.person_id, {{day}} AS day, e.kind,
               ROW_NUMBER() OVER (PARTITION BY a.person_id ORDER BY a.admitted_at, a.id) AS n
        FROM admission a JOIN event e ON e.id = a.event_id
    ) firsts
    WHERE n = 1
    GROUP BY day, kind, person_id % {SHARDS}""",
]
_MONTH = {"postgres": "to_char(day, 'YYYY-MM')", "sqlite": "strftime('%Y-%m', day)"}
_DAY_TEXT = {"postgres": "to_char(day, 'YYYY-MM-DD')", "sqlite": "day"}
UNFILL = [
    """INSERT INTO reach_counter (key, shard, value)
    SELECT 'total', shard, talents FROM programme_tally
    UNION ALL SELECT 'admissions', shard, admissions FROM programme_tally
    UNION ALL SELECT 'companies', shard, companies FROM company_tally
    UNION ALL SELECT 'event:' || event_id, shard, admissions FROM event_tally""",
    """INSERT INTO reach_counter (key, shard, value)
    SELECT key, shard, SUM(talents) FROM (
        SELECT 'month:' || {month} AS key, shard, talents FROM talent_tally
        UNION ALL SELECT 'kind:' || event_kind, shard, talents FROM talent_tally
        UNION ALL SELECT 'day:' || {day}, shard, talents FROM talent_tally
    ) keyed GROUP BY key, shard""",
]


def _engine(schema_editor) -> str:
    return "postgres" if schema_editor.client.capabilities.dialect == "postgres" else "sqlite"


async def fill(apps, schema_editor) -> None:
    engine = _engine(schema_editor)
    for sql in FILL:
        await schema_editor.client.execute_script(sql.format(day=_DAY[engine]))


async def unfill(apps, schema_editor) -> None:
    engine = _engine(schema_editor)
    for sql in UNFILL:
        await schema_editor.client.execute_script(
            sql.format(month=_MONTH[engine], day=_DAY_TEXT[engine])
        )


class Migration(migrations.Migration):
    dependencies = [('models', '0005_outbox_redeliveries')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CompanyTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('shard', fields.SmallIntField(unique=True)),
                ('companies', fields.BigIntField(default=0)),
            ],
            options={'table': 'company_tally', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One shard of the organisations benefitted, sharded by organisation.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EventTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event_id', fields.IntField()),
                ('shard', fields.SmallIntField()),
                ('admissions', fields.BigIntField(default=0)),
            ],
            options={'table': 'event_tally', 'app': 'models', 'unique_together': (('event_id', 'shard'),), 'pk_attr': 'id', 'table_description': "One shard of an event's admissions, for the live attendance."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProgrammeTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('shard', fields.SmallIntField(unique=True)),
                ('admissions', fields.BigIntField(default=0)),
                ('talents', fields.BigIntField(default=0)),
            ],
            options={'table': 'programme_tally', 'app': 'models', 'pk_attr': 'id', 'table_description': "One shard of the programme's people figures, sharded by person."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TalentTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
                ('event_kind', fields.CharField(max_length=16)),
                ('shard', fields.SmallIntField()),
                ('talents', fields.BigIntField(default=0)),
            ],
            options={'table': 'talent_tally', 'app': 'models', 'unique_together': (('day', 'event_kind', 'shard'),), 'pk_attr': 'id', 'table_description': 'One shard of the people first reached on a day (UTC) at a kind of event.'},
            bases=['Model'],
        ),
        ops.RunPython(fill, reverse_code=unfill),
        ops.DeleteModel(name='ReachCounter'),
    ]
