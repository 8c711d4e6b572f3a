from tortoise import migrations
from tortoise.migrations import operations as ops
from models.announcements import Audience
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Organisers' messages to an event's attendees, kept as sent (notifications/announcements.py).


class Migration(migrations.Migration):
    dependencies = [('models', '0007_staff_preferred_locale')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Announcement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='announcements', on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('models.StaffUser', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name='announcements', on_delete=OnDelete.SET_NULL)),
                ('audience', fields.CharEnumField(description='CONFIRMED: confirmed\nWAITLISTED: waitlisted\nADMITTED: admitted\nNOT_ADMITTED: not_admitted', enum_type=Audience, max_length=20)),
                ('subject_en', fields.CharField(max_length=200)),
                ('body_en', fields.TextField(unique=False)),
                ('subject_zh', fields.CharField(max_length=200)),
                ('body_zh', fields.TextField(unique=False)),
                ('recipients', fields.IntField(default=0)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'announcement', 'app': 'models', 'indexes': [Index(fields=['event_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "One message to an event's attendees, kept as it was sent: who sent it, when,"},
            bases=['Model'],
        ),
    ]
