"""The public page of a set-password link (/password/set?token=...): the person named
by the link chooses their password, twice, and goes on to the login form.

The link's rules (signed, expiring, once) are auth.service's. The token travels in
the address (as every such link does), so the page is never cached and never sends
it on as a Referer; nothing here logs it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from events_service.auth import service
from events_service.auth.schemas import NewPassword
from events_service.locale import in_language, translatable
from events_service.web.forms import parse_form
from events_service.web.login import LOGIN_PAGE, staff_page_context

UNUSABLE = translatable(
    "This link has expired or has been used already. Ask an organiser for a new one."
)
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class SetPasswordForm(msgspec.Struct):
    token: Annotated[str, msgspec.Meta(max_length=200)]
    password: NewPassword
    password_again: Annotated[str, msgspec.Meta(max_length=256)]


def _page(
    request: Request[Any, Any, Any],
    *,
    token: str = "",
    email: str = "",
    errors: dict[str, str] | None = None,
    refusal: str = "",
    status_code: int = 200,
) -> Template:
    context = staff_page_context(request)
    locale = context["locale"]
    # The layout's language switch would drop the token: the page has its own.
    switch_to = context.pop("other_locale")
    return Template(
        "pages/password_set.html",
        context={
            **context,
            "switch_to": switch_to,
            "token": token,
            "email": email,
            "errors": {k: in_language(v, locale) for k, v in (errors or {}).items()},
            "refusal": in_language(refusal, locale),
            "min_password": service.MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
        headers=PRIVATE,
    )


@get(service.SET_PASSWORD_PATH, include_in_schema=False, opt={"exclude_from_auth": True})
async def set_password_page(request: Request[Any, Any, Any]) -> Template:
    token = request.query_params.get("token") or ""
    user = await service.usable_link(request.app.state.settings.secret_key, token)
    if user is None:
        return _page(request, refusal=UNUSABLE, status_code=410)
    return _page(request, token=token, email=user.email)


@post(
    service.SET_PASSWORD_PATH,
    include_in_schema=False,
    opt={"exclude_from_auth": True},
    status_code=303,
)
async def set_password_form(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    raw = {key: value for key, value in form.items() if isinstance(value, str)}
    secret = request.app.state.settings.secret_key
    token = raw.get("token", "")[:200]
    user = await service.usable_link(secret, token)
    if user is None:
        return _page(request, refusal=UNUSABLE, status_code=410)
    result = parse_form(raw, SetPasswordForm)
    errors = dict(result.errors)
    if "password" in errors and raw.get("password"):
        errors["password"] = translatable(
            "A password needs at least %(MIN_PASSWORD_LENGTH)s characters.",
            MIN_PASSWORD_LENGTH=service.MIN_PASSWORD_LENGTH,
        )
    if not errors and raw.get("password") != raw.get("password_again"):
        errors["password_again"] = translatable("The two passwords differ.")
    if errors or result.value is None:
        return _page(request, token=token, email=user.email, errors=errors, status_code=422)
    if await service.set_password_with_link(secret, token, result.value.password) is None:
        return _page(request, refusal=UNUSABLE, status_code=410)
    return Redirect(f"{LOGIN_PAGE}?next=/", status_code=303, headers=PRIVATE)


ROUTES = [set_password_page, set_password_form]
