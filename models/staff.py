"""Staff accounts (organisers, door staff, judges) and revoked login tokens."""

from tortoise import fields
from tortoise.models import Model


class StaffUser(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=120, default="")
    password_hash = fields.CharField(max_length=200)
    # Subset of models.enums.Role values.
    roles = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    # Every login token carries the generation it was issued under; changing the
    # password (or deactivating) moves it on, which ends every session at once, in
    # every process: the number is read with the account on each request.
    session_generation = fields.IntField(default=0, db_default=0)
    # The language the member's pages speak unless they switch (None: the browser's).
    preferred_locale = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "staff_user"


class RevokedToken(Model):
    """A logged-out JWT id, kept until the token would have expired anyway."""

    jti = fields.CharField(max_length=64, primary_key=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "revoked_token"
