"""The console's competitions and entries: the list with rounds and their states, a
competition's page, the entries' table, the add and edit forms, and the CSV import's
preview and all-or-nothing import, as an organiser's browser sees them (both backends)."""

from __future__ import annotations

import html as html_lib
import re

import httpx

from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.judging_helpers import competition_event
from tests.visible_text import page_text

API = "/api/v1"


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{name}">(.*?)</p>', html, re.S)
    return page_text(found.group(1)) if found else ""


def field_value(html: str, name: str) -> str:
    found = re.search(rf'id="f-{name}" name="{name}"[^>]*value="([^"]*)"', html)
    if found:
        return found.group(1)
    textarea = re.search(rf'<textarea id="f-{name}"[^>]*>(.*?)</textarea>', html, re.S)
    return textarea.group(1) if textarea else ""


async def a_competition(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    """A competition like the demo's: a draft round, an open one, entries in the first."""
    event = await competition_event("Smart Mobility Challenge")
    ids = []
    for title in ("Lidar on a budget", "Fleet charging planner"):
        body = {"title": title, "team_name": f"Team {title[:5]}", "track": "Autonomy"}
        response = await client.post(
            f"{API}/competitions/{event.id}/entries", json=body, headers=admin
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    for position, name in ((1, "Preliminary"), (2, "Final")):
        body = {"name": name, "position": position}
        response = await client.post(
            f"{API}/competitions/{event.id}/rounds", json=body, headers=admin
        )
        assert response.status_code == 201, response.text
        if position == 1:
            round_id = response.json()["id"]
            response = await client.post(
                f"{API}/rounds/{round_id}/entries", json={"entry_ids": ids}, headers=admin
            )
            assert response.status_code == 200, response.text
    return event.id


async def test_the_list_shows_each_competition_with_its_rounds_and_their_states(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event_id = await a_competition(client, admin)
    await log_in_to_pages(client, "admin")
    listing = await client.get("/admin/competitions")
    assert listing.status_code == 200
    row = listing.text.split(f'data-event="{event_id}"', 1)[1].split("</tr>", 1)[0]
    text = page_text(row)
    assert "Smart Mobility Challenge" in text
    assert "Preliminary" in text and "Final" in text and "Draft" in text
    assert f'href="/admin/competitions/{event_id}"' in row

    page = await client.get(f"/admin/competitions/{event_id}")
    assert page.status_code == 200
    rounds = page_text(page.text.split('id="rounds"', 1)[1].split("</table>", 1)[0])
    assert "Preliminary" in rounds and "Final" in rounds and "No deadline" in rounds
    assert "2 entries" in page_text(page.text)
    assert "/admin/rounds/" in page.text

    zh = await client.get(f"/admin/competitions/{event_id}?lang=zh-Hans")
    assert "轮次" in page_text(zh.text)


async def test_a_summit_has_no_competition_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from tests.factories import make_event

    summit = await make_event(client, admin)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/competitions/{summit['id']}/entries")
    assert page.status_code == 409


async def test_entries_table_add_and_edit_with_errors_beside_fields(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event_id = await a_competition(client, admin)
    await log_in_to_pages(client, "admin")
    base = f"/admin/competitions/{event_id}/entries"
    table = await client.get(base)
    assert table.status_code == 200
    text = page_text(table.text)
    assert "Lidar on a budget" in text and "Autonomy" in text and "Preliminary" in text

    bad = await post_form(
        client,
        f"{base}/new",
        {"title": "", "team_name": "Wheels", "members": "Ada without address"},
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "title") == "Required."
    assert "Name <email>" in field_error(bad.text, "members")
    assert field_value(bad.text, "team_name") == "Wheels"

    bad_email = await post_form(
        client, f"{base}/new", {"title": "Wheels", "members": "Ada <not-an-address>"}
    )
    assert bad_email.status_code == 422
    assert field_error(bad_email.text, "members")

    added = await follow(
        client,
        await post_form(
            client,
            f"{base}/new",
            {
                "title": "Smart wheelchair",
                "team_name": "Wheels",
                "organisation": "Tongji University",
                "track": "Access",
                "members": "Ada Lovelace <ada@example.org>\nAlan Turing <alan@example.org>",
            },
        ),
    )
    assert "“Smart wheelchair” was added." in page_text(added.text)

    listed = (await client.get(f"{API}/competitions/{event_id}/entries", headers=admin)).json()
    entry_id = next(e["id"] for e in listed if e["title"] == "Smart wheelchair")
    row = page_text(added.text.split(f'data-entry="{entry_id}"', 1)[1].split("</tr>", 1)[0])
    assert "Tongji University" in row and "Ada Lovelace" in row and "Alan Turing" in row
    form = await client.get(f"{base}/{entry_id}/edit")
    assert field_value(form.text, "title") == "Smart wheelchair"
    assert "ada@example.org" in field_value(form.text, "members")

    refused = await post_form(
        client, f"{base}/{entry_id}/edit", {"title": "", "team_name": "Rollers", "members": ""}
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "title") == "Required."
    assert field_value(refused.text, "team_name") == "Rollers"

    saved = await follow(
        client,
        await post_form(
            client,
            f"{base}/{entry_id}/edit",
            {
                "title": "Smart wheelchair 2",
                "team_name": "Rollers",
                "track": "Access",
                "members": "Ada Lovelace <ada@example.org>",
            },
        ),
    )
    assert "Your changes to “Smart wheelchair 2” were saved." in page_text(saved.text)
    shown = (await client.get(f"{API}/entries/{entry_id}", headers=admin)).json()
    assert shown["team_name"] == "Rollers" and shown["organisation"] is None
    assert [m["email"] for m in shown["members"]] == ["ada@example.org"]


GOOD_CSV = (
    "title,team_name,organisation,track,members\n"
    "Traffic twin,Twins,Tongji University,Cities,"
    "Li Lei <li@example.org>; Han Mei <han@example.org>\n"
    "Cargo bike router,Pedals,,Logistics,\n"
)
BAD_CSV = GOOD_CSV + ",Nameless,,,\nBad members,Oops,,,Li Lei li@example.org\n"


async def entry_count(client: httpx.AsyncClient, admin: dict[str, str], event_id: int) -> int:
    response = await client.get(f"{API}/competitions/{event_id}/entries", headers=admin)
    return len(response.json())


async def upload(client: httpx.AsyncClient, path: str, text: str) -> httpx.Response:
    if not client.cookies.get("csrftoken"):
        await client.get("/admin")
    return await client.post(
        path,
        data={"_csrf_token": client.cookies.get("csrftoken", "")},
        files={"file": ("entries.csv", text.encode(), "text/csv")},
    )


async def test_the_csv_import_previews_bad_rows_and_writes_nothing_then_imports_all(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event_id = await a_competition(client, admin)
    await log_in_to_pages(client, "admin")
    path = f"/admin/competitions/{event_id}/entries/import"
    assert (await client.get(path)).status_code == 200

    preview = await upload(client, path, BAD_CSV)
    assert preview.status_code == 422
    assert 'id="import-confirm"' not in preview.text
    rows = preview.text.split('id="preview"', 1)[1].split("</table>", 1)[0]
    line4 = page_text(rows.split('data-line="4"', 1)[1].split("</tr>", 1)[0])
    line5 = page_text(rows.split('data-line="5"', 1)[1].split("</tr>", 1)[0])
    assert "Error" in line4 and "title" in line4
    assert "Error" in line5 and "not written as 'Name <email>'" in line5
    assert "Ready" in page_text(rows.split('data-line="2"', 1)[1].split("</tr>", 1)[0])
    assert "2 rows have an error" in page_text(preview.text)
    assert await entry_count(client, admin, event_id) == 2

    # A tampered confirmation is refused as a whole too.
    refused = await post_form(client, f"{path}/confirm", {"csv": BAD_CSV})
    assert refused.status_code == 422
    assert await entry_count(client, admin, event_id) == 2

    fixed = await upload(client, path, GOOD_CSV)
    assert fixed.status_code == 200
    assert "Import 2 entries" in page_text(fixed.text)
    assert await entry_count(client, admin, event_id) == 2
    hidden = re.search(r'name="csv" value="([^"]*)"', fixed.text, re.S)
    assert hidden is not None
    done_page = await follow(
        client, await post_form(client, f"{path}/confirm", {"csv": html_lib.unescape(hidden[1])})
    )
    assert "Entries imported: 2." in page_text(done_page.text)
    assert "Traffic twin" in page_text(done_page.text)
    assert await entry_count(client, admin, event_id) == 4


async def test_a_file_without_a_title_column_is_refused_on_the_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event_id = await a_competition(client, admin)
    await log_in_to_pages(client, "admin")
    path = f"/admin/competitions/{event_id}/entries/import"
    refused = await upload(client, path, "name,track\nA,B\n")
    assert refused.status_code == 422
    assert "'title' column" in page_text(refused.text)
    zh = await upload(client, f"{path}?lang=zh-Hans", "name,track\nA,B\n")
    assert "title" in page_text(zh.text)


async def test_staff_and_judges_get_403_on_these_pages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event_id = await a_competition(client, admin)
    for role in ("staff", "judge"):
        await log_in_to_pages(client, role)
        for path in (
            "/admin/competitions",
            f"/admin/competitions/{event_id}",
            f"/admin/competitions/{event_id}/entries",
            f"/admin/competitions/{event_id}/entries/import",
        ):
            assert (await client.get(path)).status_code == 403, (role, path)
        refused = await post_form(
            client, f"/admin/competitions/{event_id}/entries/new", {"title": "Sneaky"}
        )
        assert refused.status_code == 403
    assert await entry_count(client, admin, event_id) == 2
