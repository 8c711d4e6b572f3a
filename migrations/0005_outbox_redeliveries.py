from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_staff_trust')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='redeliveries',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
    ]
