"""Staff login for the browser pages (/scan, /judge, /admin): a plain HTML form.

It sets the same HttpOnly cookie as the API login; pages that need a login send
the browser here with `?next=` and it comes back after.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template
from litestar.security.jwt import Token

from events_service.auth.controllers import login_token
from events_service.auth.service import authenticate, revoke_token
from events_service.deps import JWTAuthDep, SettingsDep
from events_service.locale import in_language, other_locale, translatable, words
from events_service.web.i18n import pick_locale

LOGIN_PAGE = "/login"


class LoginForm(msgspec.Struct):
    email: Annotated[str, msgspec.Meta(max_length=320)] = ""
    password: Annotated[str, msgspec.Meta(max_length=256)] = ""
    next: Annotated[str, msgspec.Meta(max_length=2000)] = "/"


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def staff_page_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What every staff page needs to speak the request's language."""
    settings = request.app.state.settings
    locale = pick_locale(request, settings.default_locale)
    return {
        **words(locale).template_context(),
        "locale": locale,
        "other_locale": other_locale(locale),
        "path": request.url.path,
    }


def _login_page(
    request: Request[Any, Any, Any], next_path: str, error: str = "", status_code: int = 200
) -> Template:
    context = staff_page_context(request)
    return Template(
        "pages/login.html",
        context={**context, "next": next_path, "error": in_language(error, context["locale"])},
        status_code=status_code,
    )


WRONG_LOGIN = translatable("Wrong e-mail or password, or the account is deactivated.")


@get(LOGIN_PAGE, include_in_schema=False, opt={"exclude_from_auth": True})
async def login_page(request: Request[Any, Any, Any]) -> Template:
    return _login_page(request, safe_next(request.query_params.get("next")))


@post(LOGIN_PAGE, include_in_schema=False, opt={"exclude_from_auth": True}, status_code=303)
async def login_form(
    request: Request[Any, Any, Any],
    data: URLEncodedBody[LoginForm],
    jwt_auth: JWTAuthDep,
    settings: SettingsDep,
) -> Response[Any]:
    target = safe_next(data.next)
    user = await authenticate(data.email[:254], data.password[:256])
    if user is None:
        return _login_page(request, target, WRONG_LOGIN, 401)
    _, cookie, _ = login_token(jwt_auth, settings, user)
    return Redirect(target, status_code=303, cookies=[cookie])


def to_login(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    """Exception handler for pages: no (valid) login cookie -> the login form, then back."""
    return Redirect(f"{LOGIN_PAGE}?next={request.url.path}")


def wrong_role(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    context = staff_page_context(request)
    locale = context["locale"]
    detail = getattr(exc, "detail", None) or str(exc)
    return Template(
        "pages/staff_message.html",
        context={
            **context,
            "title": words(locale).gettext("Not allowed"),
            "message": in_language(detail, locale),
        },
        status_code=403,
    )


PAGE_EXCEPTION_HANDLERS = {
    NotAuthorizedException: to_login,
    PermissionDeniedException: wrong_role,
}


@post(
    "/logout", include_in_schema=False, status_code=303, exception_handlers=PAGE_EXCEPTION_HANDLERS
)
async def logout_form(request: Request[Any, Token, Any], jwt_auth: JWTAuthDep) -> Response[Any]:
    """The pages' "Log out": the token is revoked (as the API's logout does) and the
    cookie dropped, so a shared laptop at the venue keeps no session."""
    if request.auth.jti:
        await revoke_token(request.auth.jti, request.auth.exp)
    response = Redirect(LOGIN_PAGE, status_code=303)
    response.delete_cookie(jwt_auth.key, path="/")
    return response
