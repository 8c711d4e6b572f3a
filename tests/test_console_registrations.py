"""The console's registrations and people pages over HTTP, on both engines: the
per-event table (search, filters, pages, CSV), a person's page, and the actions
(cancel with the waitlist moving up, the ticket e-mailed again, an admission undone)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest
from litestar import Litestar

from models import OutboxMessage, Registration
from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.factories import attendee, make_event, make_link, register
from tests.visible_text import page_text

YES = {"confirm": "yes"}  # what a confirmation's button posts


async def registered(client: httpx.AsyncClient, slug: str, n: int | str, **fields: Any) -> int:
    response = await register(client, slug, attendee(n, **fields))
    assert response.status_code == 201, response.text
    return int(response.json()["registration_id"])


def table_names(html: str) -> list[str]:
    """The names in the registrations table, in order."""
    if 'id="registration-table"' not in html:
        return []
    table = html.split('id="registration-table"', 1)[1].split("</table>", 1)[0]
    return [
        page_text(cell)
        for cell in re.findall(r"<tr data-registration[^>]*>\s*<td>(.*?)</td>", table, re.S)
    ]


async def people_event(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """An event with two links and four people: confirmed, waitlisted, cancelled."""
    event = await make_event(client, admin, title="Battery Day", capacity=2, waitlist_enabled=True)
    wechat = await make_link(client, admin, event["id"], label="WeChat group")
    partners = await make_link(client, admin, event["id"], label="Partners")
    people = [
        ("li", wechat, "Li Wei", "ACME Motors"),
        ("wang", partners, "Wang Fang", "RoadLink"),
        ("zhang", wechat, "Zhang San", "acme labs"),
        ("zhao", partners, "Zhao Liu", None),
    ]
    ids = {}
    for key, link, name, organisation in people:
        fields = {"name": name} | ({"organisation": organisation} if organisation else {})
        ids[key] = await registered(client, link["slug"], key, **fields)
    return {"event": event, "wechat": wechat, "partners": partners, "ids": ids}


async def test_the_event_table_searches_filters_and_pages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = await people_event(client, admin)
    event_id = data["event"]["id"]
    await log_in_to_pages(client, "admin")
    url = f"/admin/events/{event_id}/registrations"

    page = await client.get(url)
    assert page.status_code == 200
    assert table_names(page.text) == ["Li Wei", "Wang Fang", "Zhang San", "Zhao Liu"]
    text = page_text(page.text)
    assert "Battery Day" in text and "WeChat group" in text and "Partners" in text
    assert "waitlisted" in text and "Export CSV" in text

    async def names(**params: str) -> list[str]:
        response = await client.get(url, params=params)
        assert response.status_code == 200
        return table_names(response.text)

    assert await names(q="wei") == ["Li Wei"]  # by name, any case
    assert await names(q="ATTENDEEWANG@") == ["Wang Fang"]  # by e-mail
    assert await names(q="acme") == ["Li Wei", "Zhang San"]  # by organisation, any case
    assert await names(q="100%") == []  # a wildcard is a character
    assert await names(status="waitlisted") == ["Zhang San", "Zhao Liu"]
    assert await names(status="confirmed", link=data["partners"]["slug"]) == ["Wang Fang"]
    assert await names(admitted="yes") == []
    assert await names(admitted="no") == ["Li Wei", "Wang Fang", "Zhang San", "Zhao Liu"]
    assert await names(status="nonsense") == ["Li Wei", "Wang Fang", "Zhang San", "Zhao Liu"]

    # htmx's live search asks for the table alone.
    live = await client.get(url, params={"q": "wang"}, headers={"HX-Request": "true"})
    assert live.status_code == 200 and "<html" not in live.text
    assert table_names(live.text) == ["Wang Fang"]
    assert "HX-Request" in live.headers["vary"]


async def test_the_table_comes_fifty_rows_a_page_and_the_pager_keeps_the_filter(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, title="Big Day")
    link = await make_link(client, admin, event["id"])
    for n in range(53):
        await registered(client, link["slug"], n, name=f"Person {n:02}")
    await log_in_to_pages(client, "admin")
    url = f"/admin/events/{event['id']}/registrations"

    first = await client.get(url, params={"status": "confirmed"})
    assert table_names(first.text) == [f"Person {n:02}" for n in range(50)]
    assert "1–50 of 53" in page_text(first.text)
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following is not None
    href = following.group(1).replace("&amp;", "&")
    assert "status=confirmed" in href and "offset=50" in href
    second = await client.get(href)
    assert table_names(second.text) == ["Person 50", "Person 51", "Person 52"]
    assert "51–53 of 53" in page_text(second.text)


async def test_the_csv_export_holds_exactly_what_the_filter_shows(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event = await event_now(client, admin, title="Door Day")
    slug = await link_for(client, admin, event)
    li = await ticket_for(app, client, event, slug, "li", name="Li Wei", organisation="ACME")
    await ticket_for(app, client, event, slug, "wang", name="Wang Fang", organisation="ACME")
    await ticket_for(app, client, event, slug, "zhao", name="Zhao Liu", organisation="Other")
    scanned = await client.post(
        "/api/v1/checkins",
        json={"event_id": event["id"], "gate": "B", "code": li.code},
        headers=door,
    )
    assert scanned.json()["verdict"] == "admitted"
    await log_in_to_pages(client, "admin")
    url = f"/admin/events/{event['id']}/registrations"

    for params in ({"q": "acme"}, {"q": "acme", "admitted": "no"}, {"admitted": "yes"}, {}):
        shown = table_names((await client.get(url, params=params)).text)
        exported = await client.get(f"{url}.csv", params=params)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert [row["name"] for row in rows] == shown, params
    admitted = await client.get(f"{url}.csv", params={"admitted": "yes"})
    (row,) = csv.DictReader(io.StringIO(admitted.content.decode("utf-8-sig")))
    assert row["name"] == "Li Wei" and row["admitted_at"]
    # The API's export takes the same filter.
    api = await client.get(
        f"/api/v1/events/{event['id']}/registrations.csv",
        params={"admitted": "true"},
        headers=admin,
    )
    assert [r["name"] for r in csv.DictReader(io.StringIO(api.content.decode("utf-8-sig")))] == [
        "Li Wei"
    ]
    assert (await client.get("/admin/events/999999/registrations.csv")).status_code == 404


async def test_the_registrations_home_lists_events_and_finds_people_everywhere(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = await people_event(client, admin)
    other = await make_event(client, admin, title="Solar Summit")
    link = await make_link(client, admin, other["id"])
    await register(client, link["slug"], attendee("li", name="Li Wei"))
    await log_in_to_pages(client, "admin")

    home = await client.get("/admin/registrations")
    assert home.status_code == 200
    text = page_text(home.text)
    assert "Battery Day" in text and "Solar Summit" in text
    assert f'href="/admin/events/{data["event"]["id"]}/registrations"' in home.text

    found = await client.get("/admin/registrations", params={"q": "ACME"})
    people = found.text.split('id="people"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<a href="/admin/people/\d+">([^<]+)</a>', people) == ["Li Wei", "Zhang San"]
    li_row = people.split("Li Wei", 1)[1].split("</tr>", 1)[0]
    assert page_text(li_row).split()[-1] == "2"  # registered at both events
    assert "2 people match." in page_text(found.text)
    by_mail = await client.get("/admin/registrations", params={"q": "attendeewang@example.org"})
    assert "Wang Fang" in page_text(by_mail.text)


async def test_a_persons_page_shows_registrations_admissions_and_e_mails(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event = await event_now(client, admin, title="Door Day")
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, "li", name="Li Wei", organisation="ACME")
    later = await make_event(client, admin, title="Solar Summit")
    later_link = await make_link(client, admin, later["id"], label="Newsletter")
    await register(client, later_link["slug"], attendee("li", name="Li Wei"))
    scanned = await client.post(
        "/api/v1/checkins",
        json={"event_id": event["id"], "gate": "North", "code": ticket.code},
        headers=door,
    )
    assert scanned.json()["verdict"] == "admitted"
    person_id = (await Registration.get(id=ticket.registration_id)).person_id  # type: ignore[attr-defined]
    await log_in_to_pages(client, "admin")

    page = await client.get(f"/admin/people/{person_id}")

    assert page.status_code == 200
    text = page_text(page.text)
    assert "Li Wei" in text and "attendeeli@example.org" in text and "ACME" in text
    registrations = page.text.split('id="person-registrations"', 1)[1].split("</table>", 1)[0]
    assert "Door Day" in registrations and "Solar Summit" in registrations
    assert "Newsletter" in registrations
    admissions = page_text(page.text.split('id="person-admissions"', 1)[1].split("</table>")[0])
    assert "Door Day" in admissions and "North" in admissions
    messages = page.text.split('id="person-messages"', 1)[1].split("</table>", 1)[0]
    assert messages.count('data-kind="registration.confirmed"') == 2
    assert "Ticket: registered" in page_text(messages)
    chinese = await client.get(f"/admin/people/{person_id}?lang=zh-Hans")
    assert "报名" in page_text(chinese.text)
    assert (await client.get("/admin/people/999999")).status_code == 404


async def test_cancelling_a_confirmed_registration_promotes_the_waitlist_and_mails_both(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, title="Full Day", capacity=1, waitlist_enabled=True)
    link = await make_link(client, admin, event["id"])
    li = await registered(client, link["slug"], "li", name="Li Wei")
    wang = await registered(client, link["slug"], "wang", name="Wang Fang")
    assert (await Registration.get(id=wang)).status.value == "waitlisted"
    await log_in_to_pages(client, "admin")
    person_id = (await Registration.get(id=li)).person_id  # type: ignore[attr-defined]
    back = f"/admin/people/{person_id}"

    response = await post_form(
        client, f"/admin/registrations/{li}/cancel", {"confirm": "yes", "next": back}
    )

    assert response.headers["location"] == back
    page = await follow(client, response)
    assert "Confirmed from the waitlist and told by e-mail: 1." in page_text(page.text)
    assert (await Registration.get(id=li)).status.value == "cancelled"
    assert (await Registration.get(id=wang)).status.value == "confirmed"
    kinds = {
        (m.kind, m.recipient)
        for m in await OutboxMessage.filter(
            kind__in=["registration.cancelled", "registration.promoted"]
        )
    }
    assert kinds == {
        ("registration.cancelled", "attendeeli@example.org"),
        ("registration.promoted", "attendeewang@example.org"),
    }
    figures = page_text(
        (await client.get(f"/admin/events/{event['id']}/registrations?status=confirmed")).text
    )
    assert "Wang Fang" in figures and "Li Wei" not in figures


async def test_cancelling_an_admitted_person_is_refused_with_the_services_words(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, "li", name="Li Wei")
    await client.post(
        "/api/v1/checkins",
        json={"event_id": event["id"], "gate": "A", "code": ticket.code},
        headers=door,
    )
    await log_in_to_pages(client, "admin")
    back = f"/admin/events/{event['id']}/registrations"

    unconfirmed = await post_form(
        client, f"/admin/registrations/{ticket.registration_id}/cancel", {"next": back}
    )
    assert "not confirmed" in page_text((await follow(client, unconfirmed)).text)
    response = await post_form(
        client, f"/admin/registrations/{ticket.registration_id}/cancel", YES | {"next": back}
    )

    page = await follow(client, response)
    assert "This ticket was used at the door; it cannot be cancelled." in page_text(page.text)
    assert 'class="notice bad"' in page.text
    assert (await Registration.get(id=ticket.registration_id)).status.value == "confirmed"
    client.headers["accept-language"] = "zh-CN"  # a browser in Chinese
    chinese = await post_form(
        client, f"/admin/registrations/{ticket.registration_id}/cancel", YES | {"next": back}
    )
    assert "此凭证已在入口使用，不能取消。" in page_text((await follow(client, chinese)).text)


async def test_resending_queues_a_ticket_mail_once_in_ten_minutes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    li = await registered(client, link["slug"], "li", name="Li Wei")
    await log_in_to_pages(client, "admin")
    before = await OutboxMessage.filter(kind="registration.confirmed").count()

    response = await post_form(client, f"/admin/registrations/{li}/resend")

    page = await follow(client, response)
    assert "The ticket e-mail is on its way again." in page_text(page.text)
    again = await OutboxMessage.filter(kind="registration.confirmed").order_by("-id").first()
    assert again is not None and again.recipient == "attendeeli@example.org"
    assert await OutboxMessage.filter(kind="registration.confirmed").count() == before + 1
    twice = await follow(client, await post_form(client, f"/admin/registrations/{li}/resend"))
    assert "No e-mail was queued" in page_text(twice.text)
    assert await OutboxMessage.filter(kind="registration.confirmed").count() == before + 1


async def test_undoing_an_admission_lowers_the_admitted_figure(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, "li", name="Li Wei")
    await client.post(
        "/api/v1/checkins",
        json={"event_id": event["id"], "gate": "A", "code": ticket.code},
        headers=door,
    )
    await log_in_to_pages(client, "admin")
    url = f"/admin/events/{event['id']}/registrations"

    def admitted(html: str) -> str:
        return html.split('id="admitted-figure">', 1)[1].split("<", 1)[0]

    assert admitted((await client.get(url)).text) == "1"
    response = await post_form(
        client, f"/admin/registrations/{ticket.registration_id}/undo-admission", YES | {"next": url}
    )
    page = await follow(client, response)
    assert "is undone" in page_text(page.text)
    assert admitted(page.text) == "0"
    again = await follow(
        client,
        await post_form(
            client, f"/admin/registrations/{ticket.registration_id}/undo-admission", YES
        ),
    )
    assert "has not been admitted" in page_text(again.text)


@pytest.mark.parametrize("role", ["staff", "judge"])
async def test_other_roles_get_403_on_every_page(
    client: httpx.AsyncClient, admin: dict[str, str], role: str
) -> None:
    data = await people_event(client, admin)
    event_id, li = data["event"]["id"], data["ids"]["li"]
    person_id = (await Registration.get(id=li)).person_id  # type: ignore[attr-defined]
    await log_in_to_pages(client, role)
    for path in (
        "/admin/registrations",
        "/admin/registrations?q=li",
        f"/admin/events/{event_id}/registrations",
        f"/admin/events/{event_id}/registrations.csv",
        f"/admin/people/{person_id}",
    ):
        assert (await client.get(path)).status_code == 403, path
    for action in ("cancel", "resend", "undo-admission"):
        response = await post_form(client, f"/admin/registrations/{li}/{action}", YES)
        assert response.status_code == 403, action
    assert (await Registration.get(id=li)).status.value == "confirmed"
