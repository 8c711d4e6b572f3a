from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import OrganisationKind
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Organisation',
            name='kind',
            field=fields.CharEnumField(default=OrganisationKind.UNSPECIFIED, description='UNSPECIFIED: unspecified\nCOMPANY: company\nSTARTUP: startup\nINSTITUTION: institution', enum_type=OrganisationKind, max_length=16),
        ),
        ops.AlterField(
            model_name='Person',
            name='name',
            field=fields.CharField(max_length=200),
        ),
        ops.AlterModelOptions(
            name='ReachCounter',
            options={'table': 'reach_counter', 'app': 'models', 'unique_together': (('key', 'shard'),), 'pk_attr': 'id', 'table_description': 'One shard of one talent-reach figure: the figure is the sum over its shards.'},
        ),
        ops.AlterField(
            model_name='ReachCounter',
            name='shard',
            field=fields.SmallIntField(),
        ),
        ops.AddField(
            model_name='ReachCounter',
            name='key',
            field=fields.CharField(max_length=40),
        ),
        ops.AddConstraint(
            model_name='ReachCounter',
            constraint=UniqueConstraint(fields=('key', 'shard'), name=None),
        ),
        ops.RemoveIndex(
            model_name='Registration',
            name=None,
            fields=['event_id', 'status', 'created_at'],
        ),
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['event_id', 'status', 'id']),
        ),
        ops.RenameField(
            model_name='RegistrationLink',
            old_name='confirmed_count',
            new_name='used_count',
        ),
    ]
