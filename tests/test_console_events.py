"""The console's events: the list, the create and edit forms, an event's page and its
status changes, as an organiser's browser sees them (both backends)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from models import Event, OutboxMessage
from notifications.outbox import Kind
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.factories import attendee, make_event, make_link, register, token_of
from tests.visible_text import page_text

NEXT_YEAR = datetime.now(UTC).year + 1
FORM = {
    "kind": "summit",
    "title": "Battery Day",
    "description": "Cells, packs and the grid.",
    "venue": "Hall B, Innovation Base",
    "timezone": "Asia/Shanghai",
    "starts_at": f"{NEXT_YEAR}-03-14T09:30",
    "ends_at": f"{NEXT_YEAR}-03-14T17:00",
    "capacity": "120",
    "waitlist_enabled": "on",
    "registration_opens_at": "",
    "registration_closes_at": f"{NEXT_YEAR}-03-13T18:00",
    "checkin_opens_at": "",
    "checkin_closes_at": "",
}


def field_error(html: str, name: str) -> str:
    """The error message shown under the field `name` ('' if none)."""
    found = re.search(rf'<p class="error" id="e-{name}">(.*?)</p>', html, re.S)
    return page_text(found.group(1)) if found else ""


def field_value(html: str, name: str) -> str:
    found = re.search(rf'id="f-{name}" name="{name}"[^>]*value="([^"]*)"', html)
    if found:
        return found.group(1)
    textarea = re.search(rf'<textarea id="f-{name}"[^>]*>(.*?)</textarea>', html, re.S)
    return textarea.group(1) if textarea else ""


def row_of(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</tr>", 1)[0]


def numbers_in(html: str) -> list[str]:
    return [cell for cell in page_text(html).split() if cell.isdigit()]


async def test_an_organiser_creates_an_event_through_the_form_and_sees_it_listed(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    form = await client.get("/admin/events/new")
    assert form.status_code == 200
    assert 'type="datetime-local"' in form.text
    assert '<option value="Asia/Shanghai" selected>' in form.text

    created = await post_form(client, "/admin/events/new", FORM)
    page = await follow(client, created)

    assert page.status_code == 200
    event = await Event.get(title="Battery Day")
    assert created.headers["location"] == f"/admin/events/{event.id}"
    assert "“Battery Day” was created as a draft." in page_text(page.text)
    # Typed on the Shanghai clock, stored as the instant, shown on that clock again.
    assert event.starts_at == datetime(NEXT_YEAR, 3, 14, 1, 30, tzinfo=UTC)
    assert event.registration_closes_at == datetime(NEXT_YEAR, 3, 13, 10, 0, tzinfo=UTC)
    assert event.capacity == 120 and event.waitlist_enabled and event.status.value == "draft"
    assert "09:30–17:00" in page_text(page.text) and "Asia/Shanghai" in page.text
    listed = await client.get("/admin/events")
    assert "Battery Day" in page_text(row_of(listed.text, f'data-event="{event.id}"'))


async def test_datetime_inputs_are_read_in_the_events_own_zone(client: httpx.AsyncClient) -> None:
    await log_in_to_pages(client, "admin")
    london = {**FORM, "title": "London Meetup", "timezone": "Europe/London"}
    response = await post_form(client, "/admin/events/new", london)
    assert response.status_code == 303
    event = await Event.get(title="London Meetup")
    assert event.starts_at == datetime(NEXT_YEAR, 3, 14, 9, 30, tzinfo=UTC)  # GMT in March
    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert field_value(edit.text, "starts_at") == f"{NEXT_YEAR}-03-14T09:30"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Required."),
        ({"capacity": "0"}, "capacity", "At least 1."),
        ({"capacity": "many"}, "capacity", "Enter a whole number."),
        ({"ends_at": f"{NEXT_YEAR}-03-14T08:00"}, "ends_at", "The end must be after the start."),
        (
            {
                "registration_opens_at": f"{NEXT_YEAR}-03-10T09:00",
                "registration_closes_at": f"{NEXT_YEAR}-03-01T09:00",
            },
            "registration_closes_at",
            "Registration must close after it opens.",
        ),
        ({"timezone": "Mars/Olympus"}, "timezone", "Not a time zone"),
    ],
)
async def test_form_errors_show_next_to_their_field_with_what_was_typed(
    client: httpx.AsyncClient, changes: dict[str, str], field: str, message: str
) -> None:
    await log_in_to_pages(client, "admin")
    typed = {**FORM, "title": "Typed title", **changes}

    response = await post_form(client, "/admin/events/new", typed)

    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert 'aria-invalid="true"' in response.text.split(f'id="f-{field}"', 1)[1].split(">", 1)[0]
    others = [name for name in FORM if name not in (field, "kind", "waitlist_enabled")]
    assert all(field_error(response.text, name) == "" for name in others)
    for name in ("title", "venue", "starts_at", "capacity"):
        assert field_value(response.text, name) == typed[name]
    assert "Please correct the fields marked below." in page_text(response.text)
    assert await Event.all().count() == 0


async def test_form_errors_speak_chinese(client: httpx.AsyncClient) -> None:
    await log_in_to_pages(client, "admin")
    typed = {**FORM, "ends_at": f"{NEXT_YEAR}-03-14T08:00", "capacity": "0"}
    response = await post_form(client, "/admin/events/new?lang=zh-Hans", typed)
    assert response.status_code == 422
    assert field_error(response.text, "capacity") == "至少为 1。"
    assert '<html lang="zh-Hans">' in response.text


async def test_an_organiser_edits_an_event(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, title="Old title", capacity=50)
    await log_in_to_pages(client, "admin")

    form = await client.get(f"/admin/events/{event['id']}/edit")
    assert form.status_code == 200
    assert field_value(form.text, "title") == "Old title"
    assert field_value(form.text, "capacity") == "50"
    values = {name: field_value(form.text, name) for name in FORM if name != "kind"}
    values["timezone"] = "Asia/Shanghai"

    emptied = await post_form(client, f"/admin/events/{event['id']}/edit", {**values, "title": ""})
    assert emptied.status_code == 422 and field_error(emptied.text, "title") == "Required."

    saved = await post_form(
        client,
        f"/admin/events/{event['id']}/edit",
        {**values, "title": "New title", "capacity": "", "venue": "Hall C"},
    )
    page = await follow(client, saved)
    assert "Your changes to “New title” were saved." in page_text(page.text)
    stored = await Event.get(id=event["id"])
    assert (stored.title, stored.capacity, stored.venue) == ("New title", None, "Hall C")
    # Times shown to the minute and sent back unchanged are left as they were.
    assert stored.starts_at == datetime.fromisoformat(event["starts_at"])


async def test_the_edit_form_says_who_a_change_of_time_or_place_e_mails(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await _arrange_people(client, admin)
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{event['id']}/edit"

    form = await client.get(path)
    shown = re.search(r"the venue, (\d+) people holding a place will be e-mailed", form.text)
    assert shown is not None
    values = {name: field_value(form.text, name) for name in FORM if name != "kind"}
    values |= {"timezone": "Asia/Shanghai", "venue": "Hall Z"}
    await follow(client, await post_form(client, path, values))

    told = await OutboxMessage.filter(kind=str(Kind.EVENT_CHANGED)).count()
    assert told == int(shown.group(1)) == 4
    draft = await make_event(client, admin, publish=False)
    await log_in_to_pages(client, "admin")
    assert 'id="told"' not in (await client.get(f"/admin/events/{draft['id']}/edit")).text


async def test_the_list_filters_searches_and_pages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for n in range(23):
        await make_event(client, admin, title=f"Summit {n:02d}", publish=n % 2 == 0)
    await make_event(
        client, admin, kind="competition", title="Robot Challenge", publish=False,
        starts_at=f"{NEXT_YEAR + 1}-06-01T09:00:00+08:00",
        ends_at=f"{NEXT_YEAR + 1}-06-01T17:00:00+08:00",
    )  # fmt: skip
    await log_in_to_pages(client, "admin")

    first = await client.get("/admin/events")
    assert first.status_code == 200
    assert first.text.count("data-event=") == 20
    assert "1–20 of 24" in page_text(first.text)
    assert 'href="/admin/events?offset=20" rel="next"' in first.text
    second = await client.get("/admin/events?offset=20")
    assert second.text.count("data-event=") == 4

    found = await client.get("/admin/events?q=robot")
    assert page_text(found.text).count("Robot Challenge") == 1
    assert found.text.count("data-event=") == 1
    competitions = await client.get("/admin/events?kind=competition")
    assert competitions.text.count("data-event=") == 1
    drafts = await client.get("/admin/events?status=draft&q=Summit")
    assert drafts.text.count("data-event=") == 11
    year = NEXT_YEAR + 1
    later = await client.get(f"/admin/events?from={year}-06-01&to={year}-06-01")
    assert later.text.count("data-event=") == 1 and "Robot Challenge" in later.text
    none = await client.get(f"/admin/events?from={year}-06-02")
    assert "No event matches these filters." in page_text(none.text)
    # The pager keeps the filters.
    paged = await client.get("/admin/events?q=Summit")
    assert 'href="/admin/events?q=Summit&amp;offset=20"' in paged.text
    # Past events are out of the default list, there on request, latest first.
    await Event.create(
        kind="summit", title="Last Year's Summit", timezone="Asia/Shanghai",
        starts_at=datetime(NEXT_YEAR - 2, 5, 1, 1, tzinfo=UTC),
        ends_at=datetime(NEXT_YEAR - 2, 5, 1, 9, tzinfo=UTC),
    )  # fmt: skip
    assert "Last Year's Summit" not in (await client.get("/admin/events?q=Summit")).text
    past = await client.get("/admin/events?when=past")
    assert past.text.count("data-event=") == 1 and "Last Year" in page_text(past.text)
    everything = await client.get("/admin/events?when=all&q=Summit")
    assert "1–20 of 24" in page_text(everything.text)  # 23 coming, 1 past
    # Nonsense in the query is ignored, not an error.
    odd = await client.get("/admin/events?kind=party&from=yesterday&offset=-5")
    assert odd.status_code == 200 and odd.text.count("data-event=") == 20


async def test_each_row_shows_its_figures_and_its_time_in_the_events_zone(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(
        client, admin, title="Figures Day", capacity=1, waitlist_enabled=True,
        timezone="Europe/London",
        starts_at=f"{NEXT_YEAR}-01-10T10:00:00+00:00", ends_at=f"{NEXT_YEAR}-01-10T12:00:00+00:00",
    )  # fmt: skip
    link = await make_link(client, admin, event["id"])
    first = (await register(client, link["slug"], attendee(1))).json()
    await register(client, link["slug"], attendee(2))
    await register(client, link["slug"], attendee(3))
    await client.post(f"/t/{token_of(first)}/cancel")  # the first waitlisted moves up
    await log_in_to_pages(client, "admin")

    listed = await client.get("/admin/events")

    row = row_of(listed.text, f'data-event="{event["id"]}"')
    assert "10:00–12:00" in page_text(row) and "Europe/London" in row
    # registered, confirmed, waitlisted, cancelled, admitted
    assert numbers_in(row)[-5:] == ["3", "1", "1", "1", "0"]


async def _arrange_people(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """An event with 2 confirmed, 2 waitlisted and 1 cancelled registration."""
    event = await make_event(client, admin, title="Cancel Me", capacity=2, waitlist_enabled=True)
    link = await make_link(client, admin, event["id"])
    made = [(await register(client, link["slug"], attendee(n))).json() for n in range(5)]
    await client.post(f"/t/{token_of(made[4])}/cancel")
    return event


async def test_cancelling_says_how_many_people_will_be_e_mailed_and_then_e_mails_them(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await _arrange_people(client, admin)
    await log_in_to_pages(client, "admin")

    page = await client.get(f"/admin/events/{event['id']}")
    text = page_text(page.text)
    assert "Cancel “Cancel Me”? This is final." in text
    shown = re.search(r"(\d+) people will be e-mailed that the event is cancelled", text)
    assert shown is not None
    chinese = await client.get(f"/admin/events/{event['id']}?lang=zh-Hans")
    assert f"将向 {shown.group(1)} 人发送活动取消邮件" in page_text(chinese.text)
    await client.get(f"/admin/events/{event['id']}?lang=en")  # the switch back is remembered

    # Without the confirmation nothing happens.
    unconfirmed = await post_form(client, f"/admin/events/{event['id']}/cancel", {})
    assert "Nothing was changed." in page_text((await follow(client, unconfirmed)).text)
    assert (await Event.get(id=event["id"])).status.value == "published"

    cancelled = await post_form(client, f"/admin/events/{event['id']}/cancel", {"confirm": "yes"})
    after = await follow(client, cancelled)

    told = await OutboxMessage.filter(kind=str(Kind.EVENT_CANCELLED)).count()
    assert told == int(shown.group(1)) == 4
    assert "“Cancel Me” is cancelled" in page_text(after.text)
    assert "This event is cancelled: its status cannot change any more." in page_text(after.text)
    assert "/cancel" not in after.text and "/publish" not in after.text


async def test_publish_close_and_a_refused_change(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, title="Draft Day", publish=False)
    base = f"/admin/events/{event['id']}"
    await log_in_to_pages(client, "admin")

    draft = await client.get(base)
    assert f'action="{base}/publish"' in draft.text and f'action="{base}/close"' not in draft.text
    assert "Nobody holds a place, so nobody will be e-mailed." in page_text(draft.text)
    refused = await follow(client, await post_form(client, f"{base}/close", {"confirm": "yes"}))
    assert "publish it before closing its registration" in page_text(refused.text)

    published = await follow(client, await post_form(client, f"{base}/publish", {"confirm": "yes"}))
    assert "“Draft Day” is published" in page_text(published.text)
    assert (await Event.get(id=event["id"])).status.value == "published"
    closed = await follow(client, await post_form(client, f"{base}/close", {"confirm": "yes"}))
    assert "Registration for “Draft Day” is closed." in page_text(closed.text)
    assert "Reopen registration" in page_text(closed.text)

    await post_form(client, f"{base}/cancel", {"confirm": "yes"})
    again = await follow(client, await post_form(client, f"{base}/publish", {"confirm": "yes"}))
    assert "cancelling is final" in page_text(again.text)
    assert (await Event.get(id=event["id"])).status.value == "cancelled"
    chinese = await post_form(client, f"{base}/publish?lang=zh-Hans", {"confirm": "yes"})
    assert "取消是最终的" in page_text((await follow(client, chinese)).text)


async def test_the_event_page_shows_facts_figures_links_and_the_way_on(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, title="Page Day", capacity=10, venue="Hall D")
    chat = await make_link(client, admin, event["id"], label="WeChat group A", quota=5)
    await make_link(client, admin, event["id"], label="Partner mailing")
    for n in range(3):
        await register(client, chat["slug"], attendee(n))
    await log_in_to_pages(client, "admin")

    page = await client.get(f"/admin/events/{event['id']}")

    text = page_text(page.text)
    assert "Page Day" in text and "Hall D" in text
    figures = page.text.split('id="figures"', 1)[1].split("</ul>", 1)[0]
    assert numbers_in(figures) == ["3", "3", "0", "0", "0"]
    row = row_of(page.text, f'data-link="{chat["slug"]}"')
    assert "WeChat group A" in row and f"http://testserver/r/{chat['slug']}" in row
    assert numbers_in(row) == ["3", "3", "0", "0", "0", "3", "5"]
    for target in ("registrations", "door", "message", "edit", "links/new"):
        assert f'href="/admin/events/{event["id"]}/{target}"' in page.text


async def test_a_missing_event_is_a_console_404(client: httpx.AsyncClient) -> None:
    await log_in_to_pages(client, "admin")
    for path in ("/admin/events/999999", "/admin/events/999999/edit"):
        response = await client.get(path)
        assert response.status_code == 404 and "No event 999999." in page_text(response.text)


async def test_staff_and_judges_get_403_on_every_events_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    pages = ["/admin/events", "/admin/events/new", f"/admin/events/{event['id']}",
             f"/admin/events/{event['id']}/edit"]  # fmt: skip
    posts = ["/admin/events/new", f"/admin/events/{event['id']}/edit"] + [
        f"/admin/events/{event['id']}/{action}" for action in ("publish", "close", "cancel")
    ]
    for role in ("staff", "judge"):
        await log_in_to_pages(client, role)
        for path in pages:
            assert (await client.get(path)).status_code == 403, path
        for path in posts:
            assert (await post_form(client, path, {"confirm": "yes"})).status_code == 403, path
    assert (await Event.get(id=event["id"])).status.value == "published"
