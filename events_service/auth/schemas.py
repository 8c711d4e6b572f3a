"""Request and response bodies of staff authentication and account management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from models import StaffUser
from models.enums import Role

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
NewPassword = Annotated[str, msgspec.Meta(min_length=10, max_length=256)]
Name = Annotated[str, msgspec.Meta(max_length=120)]
Roles = Annotated[list[Role], msgspec.Meta(min_length=1, max_length=3)]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


# One of events_service.locale.LOCALES (a literal here, for the OpenAPI schema).
Locale = Literal["en", "zh-Hans"]


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    """The logged-in member's own settings; null: follow the browser's language."""

    preferred_locale: Locale | None


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: NewPassword


class LoginOut(msgspec.Struct):
    access_token: str
    token_type: str
    roles: list[str]
    expires_at: datetime


class StaffUserOut(msgspec.Struct):
    id: int
    email: str
    name: str
    roles: list[str]
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    preferred_locale: Locale | None = None

    @classmethod
    def of(cls, user: StaffUser) -> StaffUserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            roles=list(user.roles),
            active=user.active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            preferred_locale=user.preferred_locale,
        )


class StaffUserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: NewPassword
    roles: Roles
    name: Name = ""


class StaffUserPatch(msgspec.Struct, forbid_unknown_fields=True):
    roles: Roles | None = None
    active: bool | None = None
    name: Name | None = None
    password: NewPassword | None = None
