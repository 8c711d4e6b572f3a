"""HTTP routes of staff login and of account management (admins only)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.security.jwt import Token
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from events_service.auth import service
from events_service.auth.guards import SESSION_CLAIM, admin_only
from events_service.auth.schemas import (
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    PreferencesIn,
    StaffUserCreate,
    StaffUserOut,
    StaffUserPatch,
)
from events_service.deps import JWTAuthDep, SettingsDep
from events_service.errors import DomainError
from events_service.locale import N_, translatable
from models import StaffUser
from models.enums import Role


class InvalidCredentials(DomainError):
    status_code = 401  # type: ignore[assignment]
    slug = "invalid-credentials"
    title = N_("Wrong e-mail or password")


def login_token(
    jwt_auth: JWTAuthDep, settings: SettingsDep, user: StaffUser
) -> tuple[str, Cookie, datetime]:
    """A fresh token for the user, the HttpOnly cookie carrying it, and its expiry."""
    lifetime = timedelta(minutes=settings.token_lifetime_minutes)
    token = jwt_auth.create_token(
        identifier=str(user.id),
        token_expiration=lifetime,
        token_unique_jwt_id=secrets.token_hex(16),
        # The account's session generation now: a password change moves it on and so
        # ends this token (auth.service.end_sessions).
        token_extras={SESSION_CLAIM: user.session_generation},
    )
    cookie = Cookie(
        key=jwt_auth.key,
        value=token,
        path="/",
        httponly=True,
        max_age=int(lifetime.total_seconds()),
        secure=jwt_auth.secure,
        samesite=jwt_auth.samesite,
    )
    return token, cookie, datetime.now(UTC) + lifetime


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=HTTP_200_OK, summary="Log in with e-mail and password")
    async def login(
        self,
        data: JSONBody[LoginIn],
        jwt_auth: JWTAuthDep,
        settings: SettingsDep,
    ) -> Response[LoginOut]:
        user = await service.authenticate(data.email, data.password)
        if user is None:
            raise InvalidCredentials(
                translatable("Wrong e-mail or password, or the account is deactivated.")
            )
        token, cookie, expires_at = login_token(jwt_auth, settings, user)
        body = LoginOut(
            access_token=token,
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            roles=list(user.roles),
            expires_at=expires_at,
        )
        return Response(body, cookies=[cookie])

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Revoke the current token")
    async def logout(
        self, request: Request[StaffUser, Token, Any], jwt_auth: JWTAuthDep
    ) -> Response[None]:
        token = request.auth
        if token.jti:
            await service.revoke_token(token.jti, token.exp)
        response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
        response.delete_cookie(jwt_auth.key, path="/")
        return response

    @post(
        "/password",
        status_code=HTTP_204_NO_CONTENT,
        summary="Change my password; ends every session of the account, this one included",
    )
    async def change_password(
        self,
        data: JSONBody[PasswordChangeIn],
        request: Request[StaffUser, Token, Any],
        jwt_auth: JWTAuthDep,
    ) -> Response[None]:
        changed = await service.change_own_password(
            request.user.id, data.current_password, data.new_password
        )
        if not changed:
            raise InvalidCredentials(translatable("The current password is wrong."))
        response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
        response.delete_cookie(jwt_auth.key, path="/")
        return response

    @get("/me", summary="The logged-in staff user")
    async def me(self, request: Request[StaffUser, Token, Any]) -> StaffUserOut:
        return StaffUserOut.of(request.user)

    @patch("/me", summary="Change my own settings: the language of my pages")
    async def update_me(
        self, data: JSONBody[PreferencesIn], request: Request[StaffUser, Token, Any]
    ) -> StaffUserOut:
        user = await service.set_preferred_locale(request.user.id, data.preferred_locale)
        return StaffUserOut.of(user)


class StaffUserController(Controller):
    path = "/api/v1/staff-users"
    tags = ["staff users"]
    guards = [admin_only]

    @get("/", summary="List staff users")
    async def list_users(
        self,
        role: FromQuery[Role | None] = None,
        active: FromQuery[bool | None] = None,
    ) -> list[StaffUserOut]:
        users = await service.list_staff_users(role=role, active=active)
        return [StaffUserOut.of(u) for u in users]

    @post("/", summary="Create a staff user")
    async def create_user(self, data: JSONBody[StaffUserCreate]) -> StaffUserOut:
        user = await service.create_staff_user(data.email, data.password, data.roles, data.name)
        return StaffUserOut.of(user)

    @get("/{user_id:int}", summary="One staff user")
    async def get_user(self, user_id: FromPath[int]) -> StaffUserOut:
        return StaffUserOut.of(await service.get_staff_user(user_id))

    @patch("/{user_id:int}", summary="Change roles, name, password; deactivate or reactivate")
    async def update_user(
        self,
        user_id: FromPath[int],
        data: JSONBody[StaffUserPatch],
        request: Request[StaffUser, Token, Any],
    ) -> StaffUserOut:
        user = await service.update_staff_user(
            user_id,
            acting_user_id=request.user.id,
            roles=data.roles,
            active=data.active,
            name=data.name,
            password=data.password,
        )
        return StaffUserOut.of(user)
