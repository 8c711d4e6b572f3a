"""The console's staff accounts, the set-password link and My account, over HTTP on
both backends: what an organiser does on the pages, and what it changes for the
account (can it log in, reach its pages, keep its sessions)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from tortoise import timezone

from events_service import signed
from events_service.auth import service
from events_service.auth.service import create_staff_user
from models import OutboxMessage, StaffUser
from notifications.messages import MessageBuilder, Queued
from notifications.outbox import Kind
from tests.conftest import PASSWORD
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.visible_text import page_text

NEW_PASSWORD = "a brand new passphrase"


@pytest_asyncio.fixture
async def other(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser: the account an organiser manages, with its own cookies."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        yield browser


async def log_in(
    browser: httpx.AsyncClient, email: str, password: str, target: str = "/admin"
) -> httpx.Response:
    """The login form, as a person fills it in."""
    browser.cookies.clear()
    await browser.get("/login")
    return await browser.post(
        "/login",
        data={"email": email, "password": password, "next": target,
              "_csrf_token": browser.cookies.get("csrftoken", "")},
    )  # fmt: skip


async def user_id_of(email: str) -> int:
    return (await StaffUser.get(email=email)).id


async def mailed_link(app: Litestar, recipient: str) -> str:
    """The set-password link of the newest mail to `recipient`, as the worker builds it."""
    row = (
        await OutboxMessage.filter(recipient=recipient, kind=Kind.STAFF_SET_PASSWORD)
        .order_by("-id")
        .first()
    )
    assert row is not None, f"no set-password mail to {recipient}"
    queued = Queued(row.id, row.kind, row.dedupe_key, row.recipient, row.locale, row.payload)
    message = await MessageBuilder(app.state.settings).build(queued)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"http://testserver(/password/set\?token=\S+)", text)
    assert found, text
    return found.group(1)


def table_text(page: httpx.Response) -> str:
    return page_text(page.text.split('<table id="staff"', 1)[1].split("</table>", 1)[0])


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="[\w-]*e-{name}">(.*?)</p>', html, re.S)
    return found.group(1).strip() if found else ""


async def test_the_list_shows_every_account_with_its_roles_and_filters(
    client: httpx.AsyncClient,
) -> None:
    await create_staff_user("judge@example.org", PASSWORD, ["judge"], "Jia Judge")
    gone = await create_staff_user("gone@example.org", PASSWORD, ["staff"], "Gao Gone")
    await StaffUser.filter(id=gone.id).update(active=False)
    me = await log_in_to_pages(client, "admin")

    page = await client.get("/admin/staff")
    assert page.status_code == 200
    text = page_text(page.text)
    for words in ("Jia Judge", "judge@example.org", "Gao Gone", me, "Judge", "Deactivated"):
        assert words in text
    assert 'href="/admin/account"' in page.text  # My account is one click away

    judges = table_text(await client.get("/admin/staff?role=judge"))
    assert "Jia Judge" in judges and "Gao Gone" not in judges and me not in judges
    inactive = table_text(await client.get("/admin/staff?active=no"))
    assert "Gao Gone" in inactive and "Jia Judge" not in inactive


async def test_an_account_opened_with_a_password_logs_in_and_reaches_the_door(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    await log_in_to_pages(client, "admin")
    response = await post_form(
        client,
        "/admin/staff/new",
        {"email": "Door.Person@Example.org", "name": "Du Door", "role_staff": "on",
         "setup": "password", "password": NEW_PASSWORD},
    )  # fmt: skip
    landed = await follow(client, response)
    assert "door.person@example.org" in page_text(landed.text)
    assert "opened with the password you chose" in page_text(landed.text)
    assert NEW_PASSWORD not in landed.text
    assert not await OutboxMessage.filter(recipient="door.person@example.org").exists()

    logged_in = await log_in(other, "door.person@example.org", NEW_PASSWORD, "/scan")
    assert logged_in.status_code == 303 and logged_in.headers["location"] == "/scan"
    assert (await other.get("/scan")).status_code == 200
    assert (await other.get("/admin")).status_code == 403


async def test_an_account_opened_with_a_link_chooses_its_password_once(
    app: Litestar, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    await log_in_to_pages(client, "admin")
    response = await post_form(
        client,
        "/admin/staff/new",
        {"email": "judge.ji@example.org", "name": "Ji", "role_judge": "on", "setup": "link"},
    )
    landed = await follow(client, response)
    assert "on its way" in page_text(landed.text)
    link = await mailed_link(app, "judge.ji@example.org")
    # Nobody knows the account's password until the link sets one.
    assert (await log_in(other, "judge.ji@example.org", "")).status_code == 401

    page = await other.get(link)
    assert page.status_code == 200
    assert "judge.ji@example.org" in page_text(page.text)
    assert page.headers["referrer-policy"] == "no-referrer"
    token = link.split("token=", 1)[1]
    await other.get("/login")  # the CSRF cookie, as a browser has it
    form = {"token": token, "_csrf_token": other.cookies.get("csrftoken", "")}

    mismatch = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "!"}
    differ = await other.post("/password/set", data={**form, **mismatch})
    assert differ.status_code == 422 and field_error(differ.text, "password_again")
    short = await other.post(
        "/password/set", data={**form, "password": "short", "password_again": "short"}
    )
    assert short.status_code == 422
    assert "at least 10 characters" in field_error(short.text, "password")

    chosen = await other.post(
        "/password/set",
        data={**form, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert chosen.status_code == 303 and chosen.headers["location"].startswith("/login")
    assert (await log_in(other, "judge.ji@example.org", NEW_PASSWORD, "/judge")).status_code == 303

    # Once only: the page and the form both refuse the used link.
    again = await other.get(link)
    assert again.status_code == 410
    assert "expired or has been used" in page_text(again.text)
    await other.get("/login")
    form["_csrf_token"] = other.cookies.get("csrftoken", "")
    reused = await other.post(
        "/password/set",
        data={**form, "password": "another passphrase", "password_again": "another passphrase"},
    )
    assert reused.status_code == 410
    assert (await log_in(other, "judge.ji@example.org", NEW_PASSWORD)).status_code == 303


async def test_a_link_expires_after_its_hours(
    app: Litestar,
    client: httpx.AsyncClient,
    other: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await log_in_to_pages(client, "admin")
    await post_form(
        client,
        "/admin/staff/new",
        {"email": "late@example.org", "role_staff": "on", "setup": "link"},
    )
    link = await mailed_link(app, "late@example.org")
    assert (await other.get(link)).status_code == 200

    later = timezone.now() + timedelta(hours=service.SET_PASSWORD_LINK_HOURS, minutes=1)

    class Later:
        @staticmethod
        def now() -> Any:
            return later

    monkeypatch.setattr(service, "timezone", Later)
    assert (await other.get(link)).status_code == 410
    # A forged token (the claims changed, the signature kept) is refused too.
    monkeypatch.undo()
    token = link.split("token=", 1)[1]
    claims, signature = token.split(".")
    forged = signed.b64(signed.unb64(claims).replace(b".0.", b".1.")) + "." + signature
    assert (await other.get(f"/password/set?token={forged}")).status_code == 410
    assert (await other.get("/password/set?token=nonsense")).status_code == 410


async def test_changed_roles_take_effect_at_once(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    await create_staff_user("second@example.org", PASSWORD, ["admin"], "Su Second")
    assert (await log_in(other, "second@example.org", PASSWORD)).status_code == 303
    assert (await other.get("/admin")).status_code == 200
    await log_in_to_pages(client, "admin")
    user_id = await user_id_of("second@example.org")

    page = await client.get(f"/admin/staff/{user_id}")
    assert page.status_code == 200 and "Su Second" in page_text(page.text)
    response = await post_form(
        client,
        f"/admin/staff/{user_id}/roles",
        {"name": "Su Second", "role_staff": "on", "role_judge": "on"},
    )
    landed = await follow(client, response)
    assert "roles of second@example.org are saved" in page_text(landed.text)
    assert (await StaffUser.get(id=user_id)).roles == ["staff", "judge"]
    # The former organiser's own session is now a door-staff one.
    assert (await other.get("/admin")).status_code == 403
    assert (await other.get("/scan")).status_code == 200

    none = await post_form(client, f"/admin/staff/{user_id}/roles", {"name": "Su"})
    assert none.status_code == 422
    assert "at least one role" in field_error(none.text, "roles")


async def test_deactivation_ends_the_sessions_at_once_and_reactivation_lets_them_back(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    await create_staff_user("leaving@example.org", PASSWORD, ["staff", "admin"])
    assert (await log_in(other, "leaving@example.org", PASSWORD)).status_code == 303
    assert (await other.get("/admin")).status_code == 200
    await log_in_to_pages(client, "admin")
    user_id = await user_id_of("leaving@example.org")

    page = await client.get(f"/admin/staff/{user_id}")
    assert f'action="/admin/staff/{user_id}/deactivate"' in page.text
    assert "Their sessions end at once" in page_text(page.text)  # the confirmation says so
    landed = await follow(client, await post_form(client, f"/admin/staff/{user_id}/deactivate"))
    assert "is deactivated" in page_text(landed.text)

    assert (await other.get("/admin")).status_code in (302, 307)  # the old cookie is dead
    assert (await other.get("/scan")).status_code in (302, 307, 401)
    assert (await log_in(other, "leaving@example.org", PASSWORD)).status_code == 401

    # A link to a deactivated account would not work: it is refused, not mailed.
    refused = await post_form(client, f"/admin/staff/{user_id}/password", {"setup": "link"})
    assert refused.status_code == 409 and "reactivate it" in field_error(refused.text, "setup")
    assert not await OutboxMessage.filter(recipient="leaving@example.org").exists()

    await follow(client, await post_form(client, f"/admin/staff/{user_id}/reactivate"))
    assert (await log_in(other, "leaving@example.org", PASSWORD)).status_code == 303


async def test_a_password_reset_ends_the_sessions_and_sets_the_new_one_or_mails_a_link(
    app: Litestar, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    await create_staff_user("forgetful@example.org", PASSWORD, ["admin"])
    assert (await log_in(other, "forgetful@example.org", PASSWORD)).status_code == 303
    await log_in_to_pages(client, "admin")
    user_id = await user_id_of("forgetful@example.org")

    short = await post_form(
        client, f"/admin/staff/{user_id}/password", {"setup": "password", "password": "tiny-pw"}
    )
    assert short.status_code == 422
    assert "at least 10 characters" in field_error(short.text, "password")
    assert "tiny-pw" not in short.text

    response = await post_form(
        client,
        f"/admin/staff/{user_id}/password",
        {"setup": "password", "password": NEW_PASSWORD},
    )
    assert "sessions have ended" in page_text((await follow(client, response)).text)
    assert (await other.get("/admin")).status_code in (302, 307)
    assert (await log_in(other, "forgetful@example.org", PASSWORD)).status_code == 401
    assert (await log_in(other, "forgetful@example.org", NEW_PASSWORD)).status_code == 303

    by_link = await post_form(client, f"/admin/staff/{user_id}/password", {"setup": "link"})
    assert "on its way" in page_text((await follow(client, by_link)).text)
    assert (await other.get("/admin")).status_code in (302, 307)
    link = await mailed_link(app, "forgetful@example.org")
    assert (await other.get(link)).status_code == 200


async def test_an_organiser_cannot_lock_themselves_out(client: httpx.AsyncClient) -> None:
    me = await log_in_to_pages(client, "admin")
    my_id = await user_id_of(me)
    own = await client.get(f"/admin/staff/{my_id}")
    assert f"/admin/staff/{my_id}/deactivate" not in own.text

    deactivated = await post_form(client, f"/admin/staff/{my_id}/deactivate")
    assert deactivated.status_code == 409
    assert "You cannot deactivate yourself" in page_text(deactivated.text)
    demoted = await post_form(client, f"/admin/staff/{my_id}/roles", {"role_staff": "on"})
    assert demoted.status_code == 409
    assert "remove your own admin role" in page_text(demoted.text)

    user = await StaffUser.get(id=my_id)
    assert user.active and "admin" in user.roles
    assert (await client.get("/admin/staff")).status_code == 200
    # Chinese too: the refusal is a translatable message.
    chinese = await post_form(client, f"/admin/staff/{my_id}/deactivate?lang=zh-Hans")
    assert chinese.status_code == 409 and "You cannot" not in page_text(chinese.text)


async def test_the_new_account_form_says_what_is_wrong_next_to_each_field(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    response = await post_form(
        client,
        "/admin/staff/new",
        {"email": "not-an-address", "name": "Wu", "setup": "password", "password": "tiny-pw"},
    )
    assert response.status_code == 422
    assert "e-mail address" in field_error(response.text, "email")
    assert "at least 10 characters" in field_error(response.text, "password")
    assert "at least one role" in field_error(response.text, "roles")
    assert 'value="not-an-address"' in response.text and 'value="Wu"' in response.text
    assert "tiny-pw" not in response.text
    assert await StaffUser.filter(name="Wu").count() == 0

    no_password = await post_form(
        client,
        "/admin/staff/new",
        {"email": "wu@example.org", "role_staff": "on", "setup": "password"},
    )
    assert no_password.status_code == 422 and field_error(no_password.text, "password")

    await create_staff_user("taken@example.org", PASSWORD, ["staff"])
    taken = await post_form(
        client, "/admin/staff/new", {"email": "taken@example.org", "role_staff": "on"}
    )
    assert taken.status_code == 409 and "already exists" in field_error(taken.text, "email")

    chinese = await post_form(
        client, "/admin/staff/new?lang=zh-Hans", {"email": "x", "setup": "link"}
    )
    assert chinese.status_code == 422
    assert field_error(chinese.text, "roles") and "role" not in field_error(chinese.text, "roles")


async def test_my_language_makes_the_console_speak_it_without_a_switch(
    client: httpx.AsyncClient,
) -> None:
    me = await log_in_to_pages(client, "admin")
    english = await client.get("/admin/account", headers={"accept-language": "en"})
    assert english.status_code == 200 and '<html lang="en">' in english.text
    assert me in page_text(english.text)

    response = await post_form(client, "/admin/account/language", {"preferred_locale": "zh-Hans"})
    landed = await follow(client, response)
    assert '<html lang="zh-Hans">' in landed.text
    assert "Your language is saved" not in page_text(landed.text)  # said in Chinese
    home = await client.get("/admin", headers={"accept-language": "en"})
    assert '<html lang="zh-Hans">' in home.text
    assert (await StaffUser.get(email=me)).preferred_locale == "zh-Hans"

    bad = await post_form(client, "/admin/account/language", {"preferred_locale": "fr"})
    assert bad.status_code == 422
    await post_form(client, "/admin/account/language", {"preferred_locale": ""})
    back = await client.get("/admin", headers={"accept-language": "en"})
    assert '<html lang="en">' in back.text


async def test_changing_my_password_asks_for_the_current_one_and_logs_me_out(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    me = await log_in_to_pages(client, "admin")
    assert (await log_in(other, me, PASSWORD)).status_code == 303  # a second session
    form = {"current_password": "wrong one", "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD}  # fmt: skip

    wrong = await post_form(client, "/admin/account/password", form)
    assert wrong.status_code == 422
    assert "current password is wrong" in field_error(wrong.text, "current_password")
    assert NEW_PASSWORD not in wrong.text and "wrong one" not in wrong.text
    differ = await post_form(
        client,
        "/admin/account/password",
        {**form, "current_password": PASSWORD, "new_password_again": "something else"},
    )
    assert differ.status_code == 422 and field_error(differ.text, "new_password_again")
    short = await post_form(
        client,
        "/admin/account/password",
        {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
    )
    assert "at least 10 characters" in field_error(short.text, "new_password")

    changed = await post_form(
        client, "/admin/account/password", {**form, "current_password": PASSWORD}
    )
    assert changed.status_code == 303
    assert changed.headers["location"].startswith("/login")
    assert (await client.get("/admin")).status_code in (302, 307)
    assert (await other.get("/admin")).status_code in (302, 307)  # every session ended
    assert (await log_in(other, me, PASSWORD)).status_code == 401
    assert (await log_in(other, me, NEW_PASSWORD)).status_code == 303


async def test_door_staff_get_a_403_on_every_page_of_this_area(client: httpx.AsyncClient) -> None:
    target = await create_staff_user("someone@example.org", PASSWORD, ["judge"])
    message = await OutboxMessage.create(
        kind=Kind.REACH_MILESTONE, dedupe_key="m:1", recipient="o@example.org",
        payload={}, due_at=timezone.now(),
    )  # fmt: skip
    await log_in_to_pages(client, "staff")
    for path in (
        "/admin/staff",
        "/admin/staff/new",
        f"/admin/staff/{target.id}",
        "/admin/account",
        "/admin/outbox",
        f"/admin/outbox/{message.id}",
    ):
        response = await client.get(path)
        assert response.status_code == 403, path
    for path in (
        f"/admin/staff/{target.id}/deactivate",
        f"/admin/staff/{target.id}/password",
        "/admin/staff/new",
        f"/admin/outbox/{message.id}/retry",
    ):
        response = await post_form(client, path, {"setup": "password", "password": "x" * 12})
        assert response.status_code == 403, path
    assert (await StaffUser.get(id=target.id)).active
