"""The console's registration links: create, edit, deactivate, their figures, the QR
image and the poster, as an organiser's browser sees them (both backends)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import httpx
import zxingcpp
from PIL import Image

from models import Admission, Registration, RegistrationLink
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.factories import attendee, make_event, make_link, register, token_of
from tests.test_console_events import field_error, field_value, numbers_in
from tests.visible_text import page_text

NEXT_YEAR = datetime.now(UTC).year + 1


async def test_an_organiser_creates_a_link_and_finds_it_on_the_event(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, title="Link Day", timezone="Asia/Shanghai")
    await log_in_to_pages(client, "admin")
    form = await client.get(f"/admin/events/{event['id']}/links/new")
    assert form.status_code == 200 and "Asia/Shanghai" in page_text(form.text)

    created = await post_form(
        client,
        f"/admin/events/{event['id']}/links/new",
        {"label": "WeChat group A", "quota": "30", "opens_at": f"{NEXT_YEAR}-01-05T08:00"},
    )
    page = await follow(client, created)

    link = await RegistrationLink.get(label="WeChat group A")
    assert created.headers["location"] == f"/admin/links/{link.slug}"
    assert (link.quota, link.active) == (30, True)
    assert link.opens_at == datetime(NEXT_YEAR, 1, 5, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    text = page_text(page.text)
    assert "The link “WeChat group A” was created." in text
    assert f'value="http://testserver/r/{link.slug}"' in page.text
    assert f"5 Jan {NEXT_YEAR}, 08:00" in text
    event_page = await client.get(f"/admin/events/{event['id']}")
    assert f'href="/admin/links/{link.slug}"' in event_page.text


async def test_link_form_errors_show_next_to_their_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{event['id']}/links/new"

    empty = await post_form(client, path, {"label": "", "quota": "0"})
    assert empty.status_code == 422
    assert field_error(empty.text, "label") == "Required."
    assert field_error(empty.text, "quota") == "At least 1."
    assert field_value(empty.text, "quota") == "0"

    backwards = await post_form(
        client,
        path,
        {"label": "Poster", "opens_at": f"{NEXT_YEAR}-02-01T09:00",
         "closes_at": f"{NEXT_YEAR}-01-01T09:00"},
    )  # fmt: skip
    assert backwards.status_code == 422
    assert field_error(backwards.text, "closes_at") == "The link must close after it opens."
    assert field_value(backwards.text, "label") == "Poster"
    assert await RegistrationLink.all().count() == 0


async def test_an_organiser_edits_a_link_and_cannot_lower_its_quota_below_use(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"], label="Chat", quota=5)
    for n in range(2):
        await register(client, link["slug"], attendee(n))
    await log_in_to_pages(client, "admin")
    path = f"/admin/links/{link['slug']}/edit"

    form = await client.get(path)
    assert field_value(form.text, "label") == "Chat" and field_value(form.text, "quota") == "5"

    too_low = await post_form(client, path, {"label": "Chat", "quota": "1"})
    assert too_low.status_code == 422
    assert "2 people already registered through this link." in field_error(too_low.text, "quota")
    emptied = await post_form(client, path, {"label": "", "quota": "5"})
    assert emptied.status_code == 422 and field_error(emptied.text, "label") == "Required."

    saved = await follow(client, await post_form(client, path, {"label": "Chat B", "quota": ""}))
    assert "Your changes to the link “Chat B” were saved." in page_text(saved.text)
    stored = await RegistrationLink.get(slug=link["slug"])
    assert (stored.label, stored.quota) == ("Chat B", None)


async def test_deactivating_a_link_asks_first_and_stops_registrations(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"], label="Chat")
    await log_in_to_pages(client, "admin")
    base = f"/admin/links/{link['slug']}"

    page = await client.get(base)
    assert f'action="{base}/deactivate"' in page.text
    assert "Nobody can register through it any more" in page_text(page.text)
    unconfirmed = await follow(client, await post_form(client, f"{base}/deactivate", {}))
    assert "Nothing was changed." in page_text(unconfirmed.text)
    assert (await RegistrationLink.get(slug=link["slug"])).active

    off = await follow(client, await post_form(client, f"{base}/deactivate", {"confirm": "yes"}))
    assert "The link “Chat” no longer takes registrations." in page_text(off.text)
    assert not (await RegistrationLink.get(slug=link["slug"])).active
    client.cookies.clear()
    refused = await register(client, link["slug"], attendee(1))
    assert refused.status_code >= 400

    await log_in_to_pages(client, "admin")
    on = await follow(client, await post_form(client, f"{base}/reactivate"))
    assert "The link “Chat” takes registrations again." in page_text(on.text)
    assert (await RegistrationLink.get(slug=link["slug"])).active


async def test_a_links_page_shows_its_own_figures(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=2, waitlist_enabled=True)
    chat = await make_link(client, admin, event["id"], label="Chat", quota=10)
    other = await make_link(client, admin, event["id"], label="Other")
    made = [(await register(client, chat["slug"], attendee(n))).json() for n in range(4)]
    await register(client, other["slug"], attendee(9))
    await client.post(f"/t/{token_of(made[0])}/cancel")
    admitted = await Registration.get(id=made[1]["registration_id"])
    await Admission.create(
        registration=admitted, person_id=admitted.person_id, event_id=event["id"], gate="A",
        admitted_at=admitted.created_at,
    )  # fmt: skip
    await log_in_to_pages(client, "admin")

    page = await client.get(f"/admin/links/{chat['slug']}")

    figures = page.text.split('id="figures"', 1)[1].split("</ul>", 1)[0]
    # registrations, confirmed, waitlisted, cancelled, admitted: 4 made, 1 cancelled,
    # the first waitlisted moved up (2 seats: one to Chat, one to Other's registration).
    expected = await Registration.filter(link__slug=chat["slug"]).count()
    confirmed = await Registration.filter(link__slug=chat["slug"], status="confirmed").count()
    waitlisted = await Registration.filter(link__slug=chat["slug"], status="waitlisted").count()
    assert numbers_in(figures) == [str(expected), str(confirmed), str(waitlisted), "1", "1"]
    assert expected == 4 and confirmed + waitlisted == 3
    settings = page.text.split('id="settings"', 1)[1].split("</dl>", 1)[0]
    assert "3 of 10 places used" in page_text(settings)


async def test_the_qr_image_decodes_to_the_exact_public_link(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    await log_in_to_pages(client, "admin")

    png = await client.get(f"/admin/links/{link['slug']}/qr.png")

    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [code.text for code in decoded] == [f"http://testserver/r/{link['slug']}"]
    assert decoded[0].text == link["url"]


async def test_the_poster_shows_the_event_the_time_the_venue_and_the_address(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(
        client, admin, title="Poster Day", venue="Hall E, Innovation Base",
        starts_at=f"{NEXT_YEAR}-05-20T01:00:00+00:00", ends_at=f"{NEXT_YEAR}-05-20T09:00:00+00:00",
    )  # fmt: skip
    link = await make_link(client, admin, event["id"])
    await log_in_to_pages(client, "admin")

    poster = await client.get(f"/admin/links/{link['slug']}/poster")
    chinese = await client.get(f"/admin/links/{link['slug']}/poster?lang=zh-Hans")

    assert poster.status_code == 200
    text = page_text(poster.text.split('id="poster"', 1)[1])
    assert "Poster Day" in text and "Hall E, Innovation Base" in text
    assert "09:00–17:00" in text and "Asia/Shanghai" in text  # the event's clock
    assert f"testserver/r/{link['slug']}" in text
    assert "<svg" in poster.text and "@page" not in poster.text  # the print rules: the CSS
    assert "扫码报名" in page_text(chinese.text)
    assert f"{NEXT_YEAR}年5月20日" in page_text(chinese.text)
    css = await client.get("/static/console-events.css")
    assert "size: A4" in css.text and "@media print" in css.text


async def test_staff_and_judges_get_403_on_every_links_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    slug = link["slug"]
    pages = [f"/admin/events/{event['id']}/links/new", f"/admin/links/{slug}",
             f"/admin/links/{slug}/edit", f"/admin/links/{slug}/qr.png",
             f"/admin/links/{slug}/poster"]  # fmt: skip
    posts = [f"/admin/events/{event['id']}/links/new", f"/admin/links/{slug}/edit",
             f"/admin/links/{slug}/deactivate", f"/admin/links/{slug}/reactivate"]  # fmt: skip
    for role in ("staff", "judge"):
        await log_in_to_pages(client, role)
        for path in pages:
            assert (await client.get(path)).status_code == 403, path
        for path in posts:
            response = await post_form(client, path, {"confirm": "yes", "label": "x"})
            assert response.status_code == 403, path
    assert (await RegistrationLink.get(slug=slug)).active
    assert await RegistrationLink.all().count() == 1


async def test_a_missing_link_is_a_console_404(client: httpx.AsyncClient) -> None:
    await log_in_to_pages(client, "admin")
    for path in ("/admin/links/nope", "/admin/links/nope/qr.png", "/admin/links/nope/poster"):
        assert (await client.get(path)).status_code == 404, path
