from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Each staff member may choose the language of their pages (None: the browser's).


class Migration(migrations.Migration):
    dependencies = [('models', '0006_programme_tallies')]

    initial = False

    operations = [
        ops.AddField(
            model_name='StaffUser',
            name='preferred_locale',
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
