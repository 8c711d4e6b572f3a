from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Badge prints (checkin/badges.py): each print logged, a second one marked as a reprint.


class Migration(migrations.Migration):
    dependencies = [('models', '0011_checkin_conflicts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BadgePrint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('registration', fields.ForeignKeyField('models.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='badge_prints', on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='badge_prints', on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('models.StaffUser', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name='badge_prints', on_delete=OnDelete.SET_NULL)),
                ('source', fields.CharField(max_length=20)),
                ('reprint', fields.BooleanField(default=False)),
                ('printed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'badge_print', 'app': 'models', 'indexes': [Index(fields=['registration_id', 'printed_at']), Index(fields=['event_id', 'printed_at'])], 'pk_attr': 'id', 'table_description': "One print of an attendee's badge, by the kiosk or by a staff member."},
            bases=['Model'],
        ),
    ]
