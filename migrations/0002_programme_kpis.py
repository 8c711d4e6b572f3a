from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Milestone',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kpi', fields.CharField(max_length=40)),
                ('percent', fields.SmallIntField()),
                ('value', fields.IntField()),
                ('target', fields.IntField()),
                ('reached_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'milestone', 'app': 'models', 'unique_together': (('kpi', 'percent'),), 'pk_attr': 'id', 'table_description': 'A KPI crossing 25/50/75/100 % of its target, recorded exactly once.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Organisation',
            name='first_benefitted_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
    ]
