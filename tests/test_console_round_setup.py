"""Setting a round up in the console: a new round from the competition's page (its
deadline typed in the event's zone, its method and tie-break chain), its settings
changed (k locked once judges are assigned), awards added, and the entries and anchors
chosen while it is a draft. Bad input shows the form again and writes nothing. Both
backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from models import JudgeAssignment, Round, RoundEntry
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.judging_helpers import API, competition_event, ok, scored_round
from tests.visible_text import page_text

ROUND = {
    "name": "Preliminary",
    "judges_per_entry": "2",
    "opens_at": "2026-12-10T09:00",
    "closes_at": "2026-12-12T18:00",
    "ranking_method": "zscore",
    "disagreement_threshold": "0.25",
    "entries": "all",
    "tie_break_1": "judges",
    "tie_break_2": "median",
    "tie_break_3": "",
    "tie_break_4": "",
}


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{name}">(.*?)</p>', html, re.S)
    return page_text(found.group(1)) if found else ""


async def _competition_with_entries(
    client: httpx.AsyncClient, admin: dict[str, str], titles: tuple[str, ...]
) -> tuple[int, list[int]]:
    event = await competition_event("Smart Cockpit Cup")
    event.timezone = "Asia/Shanghai"
    await event.save()
    ids = []
    for title in titles:
        made = ok(
            await client.post(
                f"{API}/competitions/{event.id}/entries",
                json={"title": title, "team_name": f"Team {title}"},
                headers=admin,
            ),
            201,
        )
        ids.append(made["id"])
    return event.id, ids


async def test_a_round_is_added_from_the_competition_page_with_its_deadline_in_the_events_zone(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event_id, entry_ids = await _competition_with_entries(client, admin, ("Alpha", "Beta"))
    await log_in_to_pages(client, "admin")
    competition = await client.get(f"/admin/competitions/{event_id}", params={"lang": "en"})
    assert f'href="/admin/competitions/{event_id}/rounds/new"' in competition.text
    form = await client.get(f"/admin/competitions/{event_id}/rounds/new")
    assert form.status_code == 200 and "Asia/Shanghai" in page_text(form.text)
    # The first round takes every entry by default.
    assert re.search(r'<option value="all" selected>', form.text)

    landed = await follow(
        client, await post_form(client, f"/admin/competitions/{event_id}/rounds/new", ROUND)
    )
    assert "The round “Preliminary” was added." in page_text(landed.text)
    made = await Round.get(event_id=event_id)
    assert made.opens_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert made.closes_at == datetime(2026, 12, 12, 10, 0, tzinfo=UTC)
    assert (made.judges_per_entry, made.ranking_method.value) == (2, "zscore")
    assert made.tie_break == ["judges", "median"]
    assert made.disagreement_threshold == 0.25
    assert set(await RoundEntry.filter(round_id=made.id).values_list("entry_id", flat=True)) == set(
        entry_ids
    )
    text = page_text(landed.text)
    assert "Each judge's scores standardised (z-scores)" in text
    deadline = page_text(landed.text.split('id="deadline"', 1)[1].split("</dd>", 1)[0])
    assert "18:00" in deadline and "12" in deadline
    tie_break = page_text(landed.text.split('id="tie-break"', 1)[1].split("</dd>", 1)[0])
    assert tie_break.index("more judges' sheets") < tie_break.index("the higher median total")


async def test_bad_round_input_shows_the_form_again_and_writes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event_id, _ = await _competition_with_entries(client, admin, ("Alpha",))
    await log_in_to_pages(client, "admin")
    path = f"/admin/competitions/{event_id}/rounds/new"
    response = await post_form(client, path, {**ROUND, "judges_per_entry": "0", "name": ""})
    assert response.status_code == 422
    assert field_error(response.text, "judges_per_entry") == "At least 1."
    assert field_error(response.text, "name") == "Required."
    response = await post_form(client, path, {**ROUND, "closes_at": "2026-12-09T09:00"})
    assert response.status_code == 422
    assert "A round must close after it opens." in page_text(response.text)
    response = await post_form(client, path, {**ROUND, "tie_break_1": "bribes"})
    assert response.status_code == 422, response.text
    assert 'value="Preliminary"' in response.text  # what was typed stays
    assert not await Round.filter(event_id=event_id).exists()


async def test_settings_change_with_a_criterion_in_the_chain_and_k_locked_once_judges_are_assigned(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, judges=2, k=1, open_round=False)
    await log_in_to_pages(client, "admin")
    path = f"/admin/rounds/{setup.round_id}/edit"
    form = await client.get(path, params={"lang": "en"})
    assert form.status_code == 200
    # Judges are assigned: k is shown, not offered.
    assert 'id="k-locked"' in form.text and 'id="f-judges_per_entry"' not in form.text
    assert f'value="criterion:{setup.criteria[1]}"' in form.text
    changed = {
        "name": "Semi-final",
        "judges_per_entry": "1",
        "opens_at": "",
        "closes_at": "2027-01-05T12:00",
        "ranking_method": "mean",
        "disagreement_threshold": "0.5",
        "tie_break_1": f"criterion:{setup.criteria[1]}",
        "tie_break_2": "earliest",
    }
    landed = await follow(client, await post_form(client, path, changed))
    assert "Your changes to “Semi-final” were saved." in page_text(landed.text)
    saved = await Round.get(id=setup.round_id)
    assert saved.name == "Semi-final" and saved.ranking_method.value == "mean"
    assert saved.tie_break == [f"criterion:{setup.criteria[1]}", "earliest"]
    assert saved.closes_at == datetime(2027, 1, 5, 4, 0, tzinfo=UTC)
    # A changed k is refused in words, and nothing else is saved with it.
    refused = await post_form(client, path, {**changed, "judges_per_entry": "3", "name": "X"})
    assert refused.status_code == 422
    assert "Judges are already assigned; k can no longer change." in page_text(refused.text)
    assert (await Round.get(id=setup.round_id)).name == "Semi-final"


async def test_awards_are_added_and_a_reversed_range_is_refused_on_its_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, judges=2, k=1, open_round=False)
    await log_in_to_pages(client, "admin")
    path = f"/admin/rounds/{setup.round_id}/awards/new"
    refused = await post_form(
        client, path, {"name": "Second prize", "rank_from": "3", "rank_to": "2"}
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "rank_to") == "The last rank must not be above the first."
    landed = await follow(
        client,
        await post_form(client, path, {"name": "Second prize", "rank_from": "2", "rank_to": "4"}),
    )
    assert "The award “Second prize” was added." in page_text(landed.text)
    awards = page_text(landed.text.split('id="awards"', 1)[1].split("</table>", 1)[0])
    assert "Second prize ranks 2 to 4" in awards


async def test_the_rounds_entries_and_anchors_are_chosen_while_it_is_a_draft(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, entries=4, judges=2, k=1, open_round=False)
    await log_in_to_pages(client, "admin")
    path = f"/admin/rounds/{setup.round_id}/entries"
    page = await client.get(path, params={"lang": "en"})
    assert page.status_code == 200
    assert page.text.count('name="entry"') == 4 and page.text.count(" checked") == 4
    kept, dropped = setup.entries[:3], setup.entries[3]
    assert await JudgeAssignment.filter(round_id=setup.round_id, entry_id=dropped).exists()
    # Several values of one name, as the browser posts ticked checkboxes.
    response = await post_form(
        client, path, {"entry": [str(e) for e in kept], "anchor": [str(kept[0])]}
    )
    landed = await follow(client, response)
    assert "1 taken out" in page_text(landed.text)
    rows = dict(await RoundEntry.filter(round_id=setup.round_id).values_list("entry_id", "anchor"))
    assert rows == {kept[0]: True, kept[1]: False, kept[2]: False}
    assert not await JudgeAssignment.filter(round_id=setup.round_id, entry_id=dropped).exists()
    assert "anchor: every judge scores it" in page_text(landed.text)

    ok(await client.post(f"{API}/rounds/{setup.round_id}/open", headers=admin))
    locked = await client.get(path, params={"lang": "en"})
    assert 'id="entries-locked"' in locked.text
    assert "Save the round's entries" not in page_text(locked.text)
    refused = await post_form(client, path, {"entry": [str(e) for e in setup.entries]})
    assert refused.status_code == 409
    assert "changing its entries" in page_text(refused.text)
    assert await RoundEntry.filter(round_id=setup.round_id).count() == 3


async def test_a_longer_chain_made_through_the_api_is_kept_when_the_settings_are_saved(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, judges=2, k=1, open_round=False)
    chain = [f"criterion:{setup.criteria[0]}", "raw_mean", "median", "judges", "earliest"]
    ok(
        await client.patch(
            f"{API}/rounds/{setup.round_id}", json={"tie_break": chain}, headers=admin
        )
    )
    await log_in_to_pages(client, "admin")
    path = f"/admin/rounds/{setup.round_id}/edit"
    form = await client.get(path, params={"lang": "en"})
    assert form.text.count('name="tie_break_') == 5
    assert re.search(r'id="f-tie_break_5".*?<option value="earliest" selected>', form.text, re.S)
    posted = {
        "name": "Preliminary",
        "judges_per_entry": "1",
        "ranking_method": "additive",
        "disagreement_threshold": "0.3",
        **{f"tie_break_{n}": rule for n, rule in enumerate(chain, start=1)},
    }
    await follow(client, await post_form(client, path, posted))
    assert (await Round.get(id=setup.round_id)).tie_break == chain
