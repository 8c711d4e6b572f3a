from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Personal data (events_service/privacy/): the pseudonymous person key beside each
# person (unique; filled in by the app for existing rows, see
# events_service/privacy/keys.py and backfill_person_keys: a migration cannot know
# the secret), e-mail and name nullable for erased people, when they were erased,
# the per-event retention override, the audit of erasures, and an index of outbox
# messages by recipient (erasure finds a person's messages by their address).




# SQLite changes a column's nullability by rebuilding the table, which drops `person`
# under the foreign keys of registrations and admissions: the checks are off while
# this migration runs (PRAGMA foreign_keys has no effect inside a transaction, hence
# atomic = False) and the rebuilt table is checked once they are back on.
async def _foreign_keys_off(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "sqlite":
        await schema_editor.client.execute_script("PRAGMA foreign_keys = OFF")


async def _foreign_keys_on(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "sqlite":
        # The rebuild keeps the constraints, not the plain indexes: the reach's one back.
        await schema_editor.client.execute_script(
            'CREATE INDEX IF NOT EXISTS "idx_person_first_a_307e73" ON "person" ("first_admitted_at")'
        )
        await schema_editor.client.execute_script("PRAGMA foreign_keys = ON")
        broken = await schema_editor.client.execute_query_dict("PRAGMA foreign_key_check")
        if broken:
            raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")


class Migration(migrations.Migration):
    dependencies = [('models', '0009_registration_search')]

    initial = False
    atomic = False

    operations = [
        ops.RunPython(_foreign_keys_off, reverse_code=_foreign_keys_on),
        ops.CreateModel(
            name='ErasureRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.CharField(max_length=20)),
                ('staff', fields.ForeignKeyField('models.StaffUser', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name='erasures', on_delete=OnDelete.SET_NULL)),
                ('reason', fields.CharField(max_length=40)),
                ('people', fields.IntField()),
                ('erased_fields', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'erasure_record', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One erasure, for the audit: who or which policy, when, how many people, which'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Event',
            name='retention_days',
            field=fields.IntField(null=True),
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['recipient']),
        ),
        ops.AlterModelOptions(
            name='Person',
            options={'table': 'person', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One human, identified by the normalised e-mail (NFKC, case-folded, trimmed),'},
        ),
        ops.AlterField(
            model_name='Person',
            name='email',
            field=fields.CharField(null=True, unique=True, max_length=254),
        ),
        ops.AlterField(
            model_name='Person',
            name='name',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='Person',
            name='erased_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Person',
            name='person_key',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.RunPython(_foreign_keys_on, reverse_code=_foreign_keys_off),
    ]
