"""Outgoing messages, written in the transaction of the change that causes them."""

from tortoise import fields
from tortoise.models import Model

from models.enums import OutboxStatus


class OutboxMessage(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=60)
    # The same cause never queues twice: e.g. "ticket:confirmed:<registration id>".
    dedupe_key = fields.CharField(max_length=200, unique=True)
    recipient = fields.CharField(max_length=254)
    locale = fields.CharField(max_length=10, default="en")
    payload = fields.JSONField(default=dict)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    # Claims that found the previous attempt's lease expired: that attempt may have
    # sent the message already, so this one may be a duplicate (same Message-ID).
    # db_default: the outbox is written by raw INSERTs that do not name the column.
    redeliveries = fields.SmallIntField(default=0, db_default=0)
    due_at = fields.DatetimeField()
    last_error = fields.TextField(null=True)
    message_id = fields.CharField(max_length=200, null=True)
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_message"
        # recipient: erasure finds a person's messages by their address.
        indexes = (("status", "due_at"), ("kind", "status"), ("recipient",))
