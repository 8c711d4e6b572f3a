"""Types of the objects the app injects into handlers (built once in create_app).

`skip_validation` because these are our own objects, not client input: msgspec
would otherwise try to rebuild them field by field on every request.
"""

from typing import Annotated

from litestar.params import Dependency
from litestar.security.jwt import JWTCookieAuth, Token

from events_service.settings import Settings
from models import StaffUser

SettingsDep = Annotated[Settings, Dependency(skip_validation=True)]
JWTAuthDep = Annotated[JWTCookieAuth[StaffUser, Token], Dependency(skip_validation=True)]
