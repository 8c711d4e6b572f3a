"""The console's door: who gets in, what its home shows, the layout every page shares."""

from __future__ import annotations

import re

import httpx
from litestar import Litestar
from tortoise import timezone

from models import OutboxMessage
from models.enums import OutboxStatus
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.factories import make_event, make_link
from tests.visible_text import page_text


async def test_anonymous_people_are_sent_to_the_login_form_and_back(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/admin")
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/login?next=/admin"


async def test_door_staff_and_judges_get_a_403_page(client: httpx.AsyncClient) -> None:
    for role in ("staff", "judge"):
        await log_in_to_pages(client, role)
        response = await client.get("/admin", headers={"accept-language": "zh-CN"})
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "不允许" in response.text or "无权" in response.text, response.text[:500]


async def test_the_home_shows_the_next_events_with_their_figures(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, title="Battery Day", capacity=1, waitlist_enabled=True)
    link = await make_link(client, admin, event["id"])
    for name in ("Li Wei", "Wang Fang"):
        response = await client.post(
            f"/api/v1/register/{link['slug']}",
            json={"name": name, "email": f"{name.split()[0]}@example.org", "consent": True},
        )
        assert response.status_code in (200, 201), response.text
    await log_in_to_pages(client, "admin")

    page = await client.get("/admin")

    assert page.status_code == 200
    text = page_text(page.text)
    assert "Battery Day" in text
    row = page.text.split(f'data-event="{event["id"]}"', 1)[1].split("</tr>", 1)[0]
    # registered, confirmed, waitlisted, admitted
    assert [cell for cell in page_text(row).split() if cell.isdigit()][-4:] == ["2", "1", "1", "0"]
    assert 'aria-current="page"' in page.text


async def test_the_home_speaks_chinese(client: httpx.AsyncClient) -> None:
    await log_in_to_pages(client, "admin")
    page = await client.get("/admin?lang=zh-Hans")
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    assert "活动" in page_text(page.text)


async def test_logging_out_ends_the_session(client: httpx.AsyncClient) -> None:
    await log_in_to_pages(client, "admin")
    assert (await client.get("/admin")).status_code == 200
    token_cookie = client.cookies.get("events_token")
    response = await post_form(client, "/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    # The old token is revoked, not only forgotten by this browser.
    client.cookies.set("events_token", token_cookie)
    again = await client.get("/admin")
    assert again.status_code in (302, 307)


async def test_a_form_post_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await log_in_to_pages(client, "admin")
    await client.get("/admin")
    response = await client.post("/logout", data={})
    assert response.status_code == 403
    assert (await client.get("/admin")).status_code == 200  # still logged in


async def test_unknown_console_pages_are_a_console_404(client: httpx.AsyncClient) -> None:
    await log_in_to_pages(client, "admin")
    response = await client.get("/admin/events/999999/nothing-here")
    assert response.status_code == 404


__all__ = ["follow"]


def _console_paths(app: Litestar) -> list[tuple[str, str]]:
    """Every console route (method, path) with its path parameters filled in: the guard
    answers before any handler looks the thing up, so made-up ids do."""
    found = []
    for route in app.routes:
        if not route.path.startswith("/admin"):
            continue
        path = route.path
        for name, kind in ((p.name, p.type) for p in route.path_parameters.values()):
            filler = "1" if kind is int else "x"
            path = re.sub(r"\{" + name + r":[^}]+\}", filler, path)
        for method in sorted(getattr(route, "methods", ()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


async def test_every_console_page_is_for_organisers_only(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    paths = _console_paths(app)
    assert ("GET", "/admin") in paths and len(paths) >= 2
    for role in ("staff", "judge"):
        await log_in_to_pages(client, role)
        for method, path in paths:
            response = (
                await post_form(client, path)
                if method == "POST"
                else (await client.request(method, path))
            )
            assert response.status_code == 403, (role, method, path, response.status_code)
    client.cookies.clear()
    for method, path in paths:
        response = await client.request(method, path)
        if method == "GET":
            assert response.status_code in (302, 307), (method, path)
            assert response.headers["location"].startswith("/login?next=")
        else:  # no login cookie: nothing to forge a request with, and no authority
            assert response.status_code in (401, 302, 307), (method, path, response.status_code)


async def test_the_home_counts_undeliverable_messages_in_each_language(
    client: httpx.AsyncClient,
) -> None:
    for n in (1, 2):
        await OutboxMessage.create(
            kind="registration.confirmed",
            dedupe_key=f"test:failed:{n}",
            recipient=f"gone{n}@example.org",
            status=OutboxStatus.FAILED,
            due_at=timezone.now(),
            last_error="recipient 'x' is not one plain e-mail address",
        )
    await log_in_to_pages(client, "admin")
    english = await client.get("/admin?lang=en")
    assert "2 messages could not be delivered." in page_text(english.text)
    chinese = await client.get("/admin?lang=zh-Hans")
    assert "有 2 封邮件无法送达。" in page_text(chinese.text)


async def test_a_language_switch_is_remembered_for_the_next_pages(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    await client.get("/admin?lang=zh-Hans")
    page = await client.get("/admin")  # no ?lang= any more: a link followed, a redirect
    assert '<html lang="zh-Hans">' in page.text
