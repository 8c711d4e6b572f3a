"""Staff accounts in the console: the list, opening an account (with a password or a
set-password link by e-mail), roles, deactivation and password resets.

Every rule is the auth service's (auth/service.py) and the API's schemas
(auth/schemas.py): the same password length, roles and self-lockout refusal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from events_service.auth import service
from events_service.auth.schemas import Email, Name, NewPassword, Roles
from events_service.console.layout import console_page, done
from events_service.errors import Conflict, DomainError
from events_service.events.schemas import EventCreate
from events_service.identity import checked_email
from events_service.locale import N_, Message, translatable
from events_service.locale.dates import format_instant
from events_service.web.forms import FORM_ERROR, domain_errors, parse_form
from events_service.web.login import staff_page_context
from models import StaffUser
from models.enums import Role

ROLE_LABELS = {
    Role.ADMIN.value: N_("Organiser"),
    Role.STAFF.value: N_("Door staff"),
    Role.JUDGE.value: N_("Judge"),
}
ROLE_HINTS = {
    Role.ADMIN.value: N_("The whole console, accounts included"),
    Role.STAFF.value: N_("The door scanner"),
    Role.JUDGE.value: N_("Scoring their assigned entries"),
}
# Accounts and messages have no time zone of their own: their times read as at the
# base's events (an event's default zone).
DISPLAY_ZONE: str = {f.name: f.default for f in msgspec.structs.fields(EventCreate)}["timezone"]
BAD_EMAIL = translatable("Enter one e-mail address, such as name@example.org.")
SHORT_PASSWORD = translatable(
    "A password needs at least %(MIN_PASSWORD_LENGTH)s characters.",
    MIN_PASSWORD_LENGTH=service.MIN_PASSWORD_LENGTH,
)
NO_ROLE = translatable("A staff user needs at least one role.")
PASSWORD_FIELDS = (
    "password",
    "password_again",
    "current_password",
    "new_password",
    "new_password_again",
)


class AccountForm(msgspec.Struct):
    """The typed fields of a new account: the API's own types (StaffUserCreate)."""

    email: Email
    name: Name = ""
    password: NewPassword | None = None


class NameForm(msgspec.Struct):
    name: Name = ""


class PasswordForm(msgspec.Struct):
    password: NewPassword | None = None


def password_error(errors: dict[str, str], raw: Mapping[str, str], *names: str) -> None:
    """A too-short password reads as such, not as "Required." (msgspec's min_length)."""
    for name in names:
        if name in errors and raw.get(name, "").strip():
            errors[name] = SHORT_PASSWORD


def typed_back(values: Mapping[str, str]) -> dict[str, str]:
    """What to fill the form with again: never a password."""
    return {k: v for k, v in values.items() if k not in PASSWORD_FIELDS}


def _checked_roles(form: Mapping[str, str]) -> tuple[list[Role], Message | None]:
    wanted = [role.value for role in Role if form.get(f"role_{role.value}")]
    try:
        return msgspec.convert(wanted, Roles), None
    except msgspec.ValidationError:
        return [], NO_ROLE


def _form_of(raw: Any) -> dict[str, str]:
    return {key: value for key, value in raw.items() if isinstance(value, str)}


def _base_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {
        "role_labels": ROLE_LABELS,
        "role_hints": ROLE_HINTS,
        "roles": [role.value for role in Role],
        "zone": DISPLAY_ZONE,
        "instant": format_instant,
        "me": request.user.id,
        "link_hours": service.SET_PASSWORD_LINK_HOURS,
        "min_password": service.MIN_PASSWORD_LENGTH,
    }


@get("/staff", name="console:staff")
async def staff_list(request: Request[Any, Any, Any]) -> Template:
    role = request.query_params.get("role") or None
    role = role if role in ROLE_LABELS else None
    active_text = request.query_params.get("active") or ""
    active = {"yes": True, "no": False}.get(active_text)
    # Accounts are a few dozen people; the service filters roles (a JSON list) itself.
    users = await service.list_staff_users(role=role, active=active)
    return console_page(
        request,
        "pages/console/staff/list.html",
        section="staff",
        title=translatable("Staff accounts"),
        users=users,
        filters={"role": role or "", "active": active_text if active is not None else ""},
        **_base_context(request),
    )


def _new_page(
    request: Request[Any, Any, Any],
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status_code: int = 200,
) -> Template:
    return console_page(
        request,
        "pages/console/staff/new.html",
        section="staff",
        title=translatable("New staff account"),
        crumbs=[(translatable("Staff accounts"), "/admin/staff")],
        status_code=status_code,
        values=typed_back(values),
        errors=errors,
        **_base_context(request),
    )


@get("/staff/new", name="console:staff-new")
async def staff_new(request: Request[Any, Any, Any]) -> Template:
    return _new_page(request, {"setup": "link", f"role_{Role.STAFF.value}": "on"}, {})


@post("/staff/new", name="console:staff-create", status_code=303)
async def staff_create(request: Request[Any, Any, Any]) -> Response[Any]:
    raw = _form_of(await request.form())
    by_link = raw.get("setup", "link") != "password"
    shown = ["email", "name"] if by_link else ["email", "name", "password"]
    result = parse_form(raw, AccountForm, only=shown)
    errors = dict(result.errors)
    if "email" in errors and raw.get("email", "").strip():
        errors["email"] = BAD_EMAIL
    elif "email" not in errors and checked_email(raw.get("email", "")) is None:
        errors["email"] = BAD_EMAIL
    password_error(errors, raw, "password")
    if not by_link and "password" not in errors and not raw.get("password"):
        errors["password"] = translatable("Required.")
    roles, role_error = _checked_roles(raw)
    if role_error:
        errors["roles"] = role_error
    if errors or result.value is None:
        return _new_page(request, result.values, errors, 422)
    form = result.value
    try:
        if by_link:
            locale = staff_page_context(request)["locale"]
            user = await service.create_staff_user_with_link(
                form.email, roles, form.name, locale=locale
            )
        else:
            user = await service.create_staff_user(
                form.email, form.password or "", roles, form.name
            )
    except Conflict as refusal:  # the address has an account already
        return _new_page(request, result.values, {"email": refusal.detail}, 409)
    except DomainError as refusal:
        return _new_page(request, result.values, domain_errors(refusal), refusal.status_code)
    if by_link:
        message = translatable(
            "Account %(email)s opened: a link to choose a password is on its way to it.",
            email=user.email,
        )
    else:
        message = translatable(
            "Account %(email)s opened with the password you chose.", email=user.email
        )
    return done(request, f"/admin/staff/{user.id}", message)


def _user_page(
    request: Request[Any, Any, Any],
    user: StaffUser,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    password_values: Mapping[str, str] | None = None,
    password_errors: Mapping[str, str] | None = None,
    refusal: str = "",
    status_code: int = 200,
) -> Template:
    if values is None:
        values = {"name": user.name, **{f"role_{role}": "on" for role in user.roles}}
    return console_page(
        request,
        "pages/console/staff/user.html",
        section="staff",
        title=user.name or user.email,
        crumbs=[(translatable("Staff accounts"), "/admin/staff")],
        status_code=status_code,
        user=user,
        values=typed_back(values),
        errors=errors or {},
        password_values=typed_back(password_values or {"setup": "link"}),
        password_errors=password_errors or {},
        refusal=refusal,
        **_base_context(request),
    )


@get("/staff/{user_id:int}", name="console:staff-user")
async def staff_user(request: Request[Any, Any, Any], user_id: FromPath[int]) -> Template:
    return _user_page(request, await service.get_staff_user(user_id))


@post("/staff/{user_id:int}/roles", name="console:staff-roles", status_code=303)
async def staff_roles(request: Request[Any, Any, Any], user_id: FromPath[int]) -> Response[Any]:
    user = await service.get_staff_user(user_id)
    raw = _form_of(await request.form())
    result = parse_form(raw, NameForm)
    errors = dict(result.errors)
    roles, role_error = _checked_roles(raw)
    if role_error:
        errors["roles"] = role_error
    if errors or result.value is None:
        return _user_page(request, user, values=raw, errors=errors, status_code=422)
    try:
        user = await service.update_staff_user(
            user_id, acting_user_id=request.user.id, roles=roles, name=result.value.name
        )
    except DomainError as refusal:  # above all: removing one's own admin role
        errors = {FORM_ERROR: refusal.detail}
        return _user_page(request, user, values=raw, errors=errors, status_code=refusal.status_code)
    return done(
        request,
        f"/admin/staff/{user.id}",
        translatable("The roles of %(email)s are saved.", email=user.email),
    )


async def _set_active(request: Request[Any, Any, Any], user_id: int, active: bool) -> Response[Any]:
    user = await service.get_staff_user(user_id)
    try:
        user = await service.update_staff_user(
            user_id, acting_user_id=request.user.id, active=active
        )
    except DomainError as refusal:  # deactivating oneself
        return _user_page(request, user, refusal=refusal.detail, status_code=refusal.status_code)
    if active:
        message = translatable("%(email)s can log in again.", email=user.email)
    else:
        message = translatable(
            "%(email)s is deactivated: their sessions have ended and they cannot log in.",
            email=user.email,
        )
    return done(request, f"/admin/staff/{user.id}", message)


@post("/staff/{user_id:int}/deactivate", name="console:staff-deactivate", status_code=303)
async def staff_deactivate(
    request: Request[Any, Any, Any], user_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, user_id, False)


@post("/staff/{user_id:int}/reactivate", name="console:staff-reactivate", status_code=303)
async def staff_reactivate(
    request: Request[Any, Any, Any], user_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, user_id, True)


@post("/staff/{user_id:int}/password", name="console:staff-password", status_code=303)
async def staff_password(request: Request[Any, Any, Any], user_id: FromPath[int]) -> Response[Any]:
    user = await service.get_staff_user(user_id)
    raw = _form_of(await request.form())
    if raw.get("setup", "link") != "password":
        locale = staff_page_context(request)["locale"]
        try:
            user = await service.reset_password_with_link(user_id, locale=locale)
        except DomainError as refusal:  # a deactivated account
            errors = {"setup": refusal.detail}
            return _user_page(
                request, user, password_values=raw, password_errors=errors, status_code=409
            )
        message = translatable(
            "The sessions of %(email)s have ended; a link to choose a new password "
            "is on its way to them.",
            email=user.email,
        )
        return done(request, f"/admin/staff/{user.id}", message)
    result = parse_form(raw, PasswordForm)
    errors = dict(result.errors)
    password_error(errors, raw, "password")
    if result.value is not None and not result.value.password and not errors:
        errors["password"] = translatable("Required.")
    if errors or result.value is None or not result.value.password:
        return _user_page(
            request, user, password_values=raw, password_errors=errors, status_code=422
        )
    user = await service.update_staff_user(
        user_id, acting_user_id=request.user.id, password=result.value.password
    )
    message = translatable(
        "The password of %(email)s is changed and their sessions have ended.", email=user.email
    )
    return done(request, f"/admin/staff/{user.id}", message)


ROUTES = [
    staff_list,
    staff_new,
    staff_create,
    staff_user,
    staff_roles,
    staff_deactivate,
    staff_reactivate,
    staff_password,
]
