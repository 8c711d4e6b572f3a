from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Retention (privacy/service.py) asks, for every person of a batch, whether any of
# their competition entries belongs to an event inside its window: an index of entry
# members by person (the unique (entry_id, person_id) one leads with the entry).
# Registrations need none: their unique (person_id, event_id) index leads with the
# person.


class Migration(migrations.Migration):
    dependencies = [('models', '0012_badge_prints')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='EntryMember',
            index=Index(fields=['person_id']),
        ),
    ]
