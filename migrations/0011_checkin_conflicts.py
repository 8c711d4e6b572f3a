from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# The offline door (issue 19): conflicts (a second offline entry of an admitted
# ticket), the event's permission to put names in the door bundle, and the index the
# bundle's delta reads an event's changed registrations by.


class Migration(migrations.Migration):
    dependencies = [('models', '0010_person_key')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CheckinConflict',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('registration', fields.ForeignKeyField('models.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='checkin_conflicts', on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='checkin_conflicts', on_delete=OnDelete.CASCADE)),
                ('gate', fields.CharField(max_length=40)),
                ('staff', fields.ForeignKeyField('models.StaffUser', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name='checkin_conflicts', on_delete=OnDelete.SET_NULL)),
                ('scanned_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('scan_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('admission_gate', fields.CharField(max_length=40)),
                ('admission_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reviewed_by', fields.ForeignKeyField('models.StaffUser', source_field='reviewed_by_id', null=True, db_constraint=True, to_field='id', related_name='reviewed_conflicts', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'checkin_conflict', 'app': 'models', 'indexes': [Index(fields=['event_id', 'reviewed_at']), Index(fields=['registration_id', 'scanned_at'])], 'pk_attr': 'id', 'table_description': 'A second entry of an admitted ticket, made by a door that was offline: the'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Event',
            name='door_names_offline',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['event_id', 'updated_at']),
        ),
    ]
