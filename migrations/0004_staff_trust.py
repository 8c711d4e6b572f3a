from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Staff trust: the attendee look-up audit (who searched which event, how many people
# it showed; never the query itself) and each account's session generation, which a
# password change moves on to end every login token issued before it. Existing
# accounts start at generation 0, the generation of every token issued until now.


class Migration(migrations.Migration):
    dependencies = [('models', '0003_event_admission_counters')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AttendeeLookup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff', fields.ForeignKeyField('models.StaffUser', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name='lookups', on_delete=OnDelete.SET_NULL)),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='lookups', on_delete=OnDelete.CASCADE)),
                ('query_hash', fields.CharField(max_length=16)),
                ('results', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'attendee_lookup', 'app': 'models', 'indexes': [Index(fields=['event_id', 'created_at']), Index(fields=['staff_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One staff look-up of attendees, for organisers to review: who, where, how many.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='StaffUser',
            name='session_generation',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
