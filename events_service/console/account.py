"""My account: the language of one's pages, and one's own password.

The language is `auth.service.set_preferred_locale` (as PATCH /api/v1/auth/me), the
password `auth.service.change_own_password` (as POST /api/v1/auth/password): a new
password ends every session, this one included, so the organiser logs in again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from events_service.auth import service
from events_service.auth.schemas import PasswordChangeIn, PreferencesIn
from events_service.auth.tokens import AUTH_COOKIE
from events_service.console.layout import console_page, done
from events_service.console.staff import password_error, typed_back
from events_service.locale import LANGUAGE_NAMES, LOCALES, translatable
from events_service.web.forms import parse_form
from events_service.web.i18n import LOCALE_COOKIE
from events_service.web.login import LOGIN_PAGE

WRONG_CURRENT = translatable("The current password is wrong.")
DIFFERENT = translatable("The two new passwords differ.")


def _account_page(
    request: Request[Any, Any, Any],
    *,
    language_values: Mapping[str, str] | None = None,
    language_errors: Mapping[str, str] | None = None,
    password_values: Mapping[str, str] | None = None,
    password_errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    user = request.user
    return console_page(
        request,
        "pages/console/account/account.html",
        section="staff",
        title=translatable("My account"),
        crumbs=[(translatable("Staff accounts"), "/admin/staff")],
        status_code=status_code,
        me=user,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        language_values=language_values or {"preferred_locale": user.preferred_locale or ""},
        language_errors=language_errors or {},
        password_values=typed_back(password_values or {}),
        password_errors=password_errors or {},
        min_password=service.MIN_PASSWORD_LENGTH,
    )


@get("/account", name="console:account")
async def account(request: Request[Any, Any, Any]) -> Template:
    return _account_page(request)


@post("/account/language", name="console:account-language", status_code=303)
async def account_language(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    raw = {key: value for key, value in form.items() if isinstance(value, str)}
    result = parse_form(raw, PreferencesIn)
    if not result.ok or result.value is None:
        return _account_page(
            request, language_values=result.values, language_errors=result.errors, status_code=422
        )
    user = await service.set_preferred_locale(request.user.id, result.value.preferred_locale)
    # The message and every page from now on speak the chosen language: the account's
    # preference is read with each request, and a remembered switch would outrank it.
    request.scope["user"] = user
    response = done(request, "/admin/account", translatable("Your language is saved."))
    response.delete_cookie(LOCALE_COOKIE, path="/")
    return response


@post("/account/password", name="console:account-password", status_code=303)
async def account_password(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    raw = {key: value for key, value in form.items() if isinstance(value, str)}
    result = parse_form(raw, PasswordChangeIn)
    errors = dict(result.errors)
    password_error(errors, raw, "new_password")
    if not errors and raw.get("new_password") != raw.get("new_password_again"):
        errors["new_password_again"] = DIFFERENT
    if errors or result.value is None:
        return _account_page(request, password_values=raw, password_errors=errors, status_code=422)
    changed = await service.change_own_password(
        request.user.id, result.value.current_password, result.value.new_password
    )
    if not changed:
        return _account_page(
            request,
            password_values=raw,
            password_errors={"current_password": WRONG_CURRENT},
            status_code=422,
        )
    # Every session ended with the old password, this one too: log in with the new one.
    response = Redirect(f"{LOGIN_PAGE}?next=/admin/account", status_code=303)
    response.delete_cookie(AUTH_COOKIE, path="/")
    return response


ROUTES = [account, account_language, account_password]
