"""Types of the objects the app injects into handlers (built once in create_app).

Marked as named dependencies (Litestar 3 style) and excluded from validation:
they are our own objects, not client input, and msgspec would otherwise try to
rebuild them field by field on every request.
"""

from typing import TypeAlias

from litestar.di import NamedDependency
from litestar.params import SkipValidation
from litestar.security.jwt import JWTCookieAuth, Token

from events_service.settings import Settings
from models import StaffUser

SettingsDep: TypeAlias = NamedDependency[SkipValidation[Settings]]
JWTAuthDep: TypeAlias = NamedDependency[SkipValidation[JWTCookieAuth[StaffUser, Token]]]
