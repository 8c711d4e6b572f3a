"""The console's door: live figures after real scans, the arrivals chart, the latest
scans with their verdicts, the undo of an admission, and who may see it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from litestar import Litestar

from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.test_checkin import scan
from tests.visible_text import page_text


def _slot_ago(minutes: int) -> datetime:
    """The start of the 5-minute slot `minutes` ago (UTC, whole minutes)."""
    moment = (datetime.now(UTC) - timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return moment.replace(minute=moment.minute - moment.minute % 5)


def _by_id(html: str, element_id: str) -> str:
    """The text of the element with this id (a figure)."""
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, element_id
    return found.group(1).strip()


def _bars(html: str) -> list[tuple[str, int, float]]:
    """The chart's bars: (slot start, admitted, height)."""
    return [
        (start, int(n), float(height))
        for height, start, n in re.findall(
            r'<rect class="bar"[^>]* height="([\d.]+)" data-start="([^"]+)" data-admitted="(\d+)"',
            html,
        )
    ]


async def _arranged(app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict) -> tuple:
    """Four confirmed tickets; three admitted (two at gate A, one at gate B) in two
    slots, one of them scanned again, and a forged code."""
    event = await event_now(client, admin, title="Battery Day", capacity=10)
    slug = await link_for(client, admin, event)
    tickets = [await ticket_for(app, client, event, slug, n, name=f"Person {n}") for n in range(4)]
    base = _slot_ago(30)
    later = (base + timedelta(minutes=6)).isoformat()
    await scan(client, door, event["id"], tickets[0].code, gate="A", scanned_at=base.isoformat())
    await scan(client, door, event["id"], tickets[1].code, gate="A", scanned_at=later)
    await scan(client, door, event["id"], tickets[2].code, gate="B", scanned_at=later)
    again = await scan(client, door, event["id"], tickets[2].code, gate="C")
    assert again["verdict"] == "already_admitted"
    forged = await scan(client, door, event["id"], tickets[3].code[:-4] + "AAAA", gate="C")
    assert forged["verdict"] in ("forged", "unknown")
    return event, tickets, base


async def test_the_door_shows_admitted_of_registered_and_each_gate_after_real_scans(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")

    page = await client.get(f"/admin/events/{event['id']}/door?lang=en")

    assert page.status_code == 200
    assert _by_id(page.text, "admitted") == "3"
    assert _by_id(page.text, "not-yet") == "1"
    text = page_text(page.text)
    assert "admitted of 4 registered" in text
    gates = re.findall(r'data-gate="(\w+)"><td>\w+</td><td class="num">(\d+)</td>', page.text)
    assert gates == [("A", "2"), ("B", "1")]
    # The live fragment holds the same figures, without the layout.
    live = await client.get(f"/admin/events/{event['id']}/door/live")
    assert live.status_code == 200 and "<html" not in live.text
    assert _by_id(live.text, "admitted") == "3"
    assert 'hx-trigger="every 5s' in page.text


async def test_the_chart_has_a_bar_per_five_minutes_as_high_as_its_admissions(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _, base = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")

    page = await client.get(f"/admin/events/{event['id']}/door")

    bars = _bars(page.text)
    assert datetime.fromisoformat(bars[0][0]) == base
    assert datetime.fromisoformat(bars[1][0]) == base + timedelta(minutes=5)
    # One bar per slot up to now (empty ones included), none after the current one.
    assert [n for _, n, _ in bars][:2] == [1, 2] and sum(n for _, n, _ in bars) == 3
    assert len(bars) == 7
    tallest = bars[1][2]
    assert tallest > 0 and bars[0][2] == tallest / 2
    assert all(height == 0 for _, n, height in bars if n == 0)
    assert 'role="img"' in page.text and "<desc" in page.text


async def test_the_latest_scans_show_their_verdicts_in_the_pages_language(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")

    english = await client.get(f"/admin/events/{event['id']}/door?lang=en")
    chinese = await client.get(f"/admin/events/{event['id']}/door?lang=zh-Hans")

    verdicts = re.findall(r'data-verdict="(\w+)"', english.text)
    assert verdicts[:2] in (["forged", "already_admitted"], ["unknown", "already_admitted"])
    assert sorted(verdicts[2:]) == ["admitted"] * 3
    scans = page_text(english.text.split('id="scans"', 1)[1])
    assert "ALREADY IN" in scans and "ADMITTED" in scans and "Person 2" in scans
    chinese_scans = page_text(chinese.text.split('id="scans"', 1)[1])
    assert "已入场" in chinese_scans and "准予入场" in chinese_scans
    assert "ALREADY IN" not in chinese_scans


async def test_undo_takes_the_admission_back_and_lowers_the_figure(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, tickets, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")
    door_path = f"/admin/events/{event['id']}/door"
    before = await client.get(door_path)
    undo = f"{door_path}/undo/{tickets[1].registration_id}"
    assert f'action="{undo}?lang=en"' in before.text
    # Only admissions still standing can be undone: one button per admitted person.
    assert before.text.count("/undo/") == 3

    response = await post_form(client, undo, {"confirm": "yes"})
    after = await follow(client, response)

    assert "The admission of Person 1 is undone" in page_text(after.text)
    assert _by_id(after.text, "admitted") == "2"
    gates = re.findall(r'data-gate="(\w+)"><td>\w+</td><td class="num">(\d+)</td>', after.text)
    assert gates == [("A", "1"), ("B", "1")]
    assert "UNDONE" in page_text(after.text.split('id="scans"', 1)[1])
    assert f'action="{undo}?lang=en"' not in after.text
    figures = (await client.get(f"/api/v1/events/{event['id']}/attendance", headers=door)).json()
    assert figures["admitted"] == 2

    # Undoing it again says so, and changes nothing.
    again = await follow(client, await post_form(client, undo, {"confirm": "yes"}))
    assert "has not been admitted" in page_text(again.text)
    assert _by_id(again.text, "admitted") == "2"


async def test_undo_of_another_events_registration_is_refused(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, tickets, _ = await _arranged(app, client, admin, door)
    other = await event_now(client, admin, title="Other Day")
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{other['id']}/door/undo/{tickets[0].registration_id}"
    response = await post_form(client, path, {"confirm": "yes"})
    assert response.status_code == 404
    page = await client.get(f"/admin/events/{event['id']}/door")
    assert _by_id(page.text, "admitted") == "3"


async def test_the_door_index_lists_todays_events_with_their_door(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")

    page = await client.get("/admin/door")

    assert page.status_code == 200
    assert f'href="/admin/events/{event["id"]}/door"' in page.text
    row = page.text.split(f'data-event="{event["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "Battery Day" in page_text(row)
    assert [cell for cell in page_text(row).split() if cell.isdigit()][-2:] == ["3", "4"]
    assert 'aria-current="page">' in page.text


async def test_an_empty_door_says_nobody_is_in_yet(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event = await event_now(client, admin, title="Quiet Day")
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/events/{event['id']}/door?lang=zh-Hans")
    assert page.status_code == 200
    assert 'id="arrivals-empty"' in page.text and "<svg" not in page.text
    missing = await client.get("/admin/events/999999/door")
    assert missing.status_code == 404


async def test_door_staff_get_403_on_every_door_page(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, tickets, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "staff")
    base = f"/admin/events/{event['id']}/door"
    for path in ("/admin/door", base, f"{base}/live"):
        assert (await client.get(path)).status_code == 403, path
    undo = await post_form(client, f"{base}/undo/{tickets[0].registration_id}", {"confirm": "yes"})
    assert undo.status_code == 403
    figures = (await client.get(f"/api/v1/events/{event['id']}/attendance", headers=door)).json()
    assert figures["admitted"] == 3
