"""The console's round page: a round's criteria, weights, scales, awards, tie-break,
method, entries and deadline, and its criteria added, changed and removed while the
round is a draft (refused, with the reason, once it is open). Both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from models import Criterion
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.judging_helpers import API, ok, scored_round
from tests.visible_text import page_text

CRITERION = {
    "name": "Team",
    "description": "Can this team ship it?",
    "weight": "1.5",
    "scale_min": "0",
    "scale_max": "10",
    "scale_step": "0.5",
}


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{name}">(.*?)</p>', html, re.S)
    return page_text(found.group(1)) if found else ""


def field_value(html: str, name: str) -> str:
    found = re.search(rf'id="f-{name}" name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""


async def _draft_round(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    setup = await scored_round(client, admin, judges=2, k=1, open_round=False)
    round_id = setup.round_id
    deadline = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    ok(
        await client.patch(
            f"{API}/rounds/{round_id}",
            json={
                "closes_at": deadline,
                "tie_break": [f"criterion:{setup.criteria[1]}", "median", "earliest"],
                "ranking_method": "zscore",
            },
            headers=admin,
        )
    )
    for award in (
        {"name": "First prize"},
        {"name": "Honourable mention", "rank_from": 2, "rank_to": 3},
    ):
        ok(await client.post(f"{API}/rounds/{round_id}/awards", json=award, headers=admin))
    return round_id


async def test_the_round_page_shows_criteria_weights_awards_tie_break_and_entries(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    round_id = await _draft_round(client, admin)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/rounds/{round_id}", params={"lang": "en"})
    assert page.status_code == 200, page.text
    text = page_text(page.text)
    assert "Preliminary" in text and "Draft" in text
    criteria = page_text(page.text.split('id="criteria"', 1)[1].split("</table>", 1)[0])
    assert "Innovation" in criteria and "Feasibility" in criteria
    assert "0 to 10 in steps of 1" in criteria and "0 to 5 in steps of 0.5" in criteria
    assert re.search(r"Innovation.*\b2\b.*Feasibility.*\b1\b", criteria, re.S)
    assert "total 3" in text
    awards = page_text(page.text.split('id="awards"', 1)[1].split("</table>", 1)[0])
    assert "First prize rank 1" in awards and "Honourable mention ranks 2 to 3" in awards
    tie_break = page_text(page.text.split('id="tie-break"', 1)[1].split("</dd>", 1)[0])
    assert (
        tie_break.index("the higher mean on “Feasibility”")
        < tie_break.index("the higher median total")
        < tie_break.index("the earlier entry")
    )
    assert "standardised (z-scores)" in text
    assert "4 entries in this round." in text and "Entry 0" in text and "Team 3" in text
    deadline = page_text(page.text.split('id="deadline"', 1)[1].split("</dd>", 1)[0])
    assert str((datetime.now(UTC) + timedelta(days=5)).year) in deadline
    assert 'href="/admin/competitions/' in page.text
    assert "Add a criterion" in text

    chinese = page_text((await client.get(f"/admin/rounds/{round_id}?lang=zh-Hans")).text)
    assert "评审标准" in chinese and "草稿" in chinese


async def test_a_criterion_is_added_and_changed_with_errors_beside_the_fields(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    round_id = await _draft_round(client, admin)
    await log_in_to_pages(client, "admin")
    assert (await client.get(f"/admin/rounds/{round_id}/criteria/new")).status_code == 200

    wrong = await post_form(
        client, f"/admin/rounds/{round_id}/criteria/new", {**CRITERION, "weight": "150"}
    )
    assert wrong.status_code == 422
    assert field_error(wrong.text, "weight") == "Above 0 and at most 100."
    assert field_value(wrong.text, "name") == "Team"  # what was typed stays
    zero = await post_form(
        client, f"/admin/rounds/{round_id}/criteria/new", {**CRITERION, "weight": "0"}
    )
    assert field_error(zero.text, "weight") == "Above 0 and at most 100."
    upside_down = await post_form(
        client, f"/admin/rounds/{round_id}/criteria/new", {**CRITERION, "scale_max": "-1"}
    )
    assert upside_down.status_code == 422
    assert field_error(upside_down.text, "scale_max") == (
        "The top of the scale must be above its bottom."
    )
    assert not await Criterion.filter(round_id=round_id, name="Team").exists()

    added = await follow(
        client, await post_form(client, f"/admin/rounds/{round_id}/criteria/new", CRITERION)
    )
    assert "The criterion “Team” was added." in page_text(added.text)
    made = await Criterion.get(round_id=round_id, name="Team")
    assert float(made.weight) == 1.5 and str(made.scale_step) in ("0.5", "0.50")
    listed = ok(await client.get(f"{API}/rounds/{round_id}/criteria", headers=admin))
    assert [c["name"] for c in listed][-1] == "Team"  # the API sees what the page made

    edit = f"/admin/rounds/{round_id}/criteria/{made.id}/edit"
    form = await client.get(edit)
    assert field_value(form.text, "weight") == "1.5"
    too_heavy = await post_form(client, edit, {**CRITERION, "weight": "101"})
    assert too_heavy.status_code == 422
    assert field_error(too_heavy.text, "weight") == "Above 0 and at most 100."
    emptied = await post_form(client, edit, {**CRITERION, "name": ""})
    assert field_error(emptied.text, "name") == "Required."
    saved = await follow(
        client, await post_form(client, edit, {**CRITERION, "name": "Team strength", "weight": "3"})
    )
    assert "Your changes to “Team strength” were saved." in page_text(saved.text)
    await made.refresh_from_db()
    assert made.name == "Team strength" and float(made.weight) == 3

    removed = await follow(
        client,
        await post_form(client, f"/admin/rounds/{round_id}/criteria/{made.id}/remove"),
    )
    assert "The criterion “Team strength” was removed." in page_text(removed.text)
    assert not await Criterion.filter(id=made.id).exists()


async def test_criteria_editing_is_refused_with_the_reason_once_the_round_is_open(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, judges=2, k=1, open_round=True)
    round_id, criterion_id = setup.round_id, setup.criteria[0]
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/rounds/{round_id}", params={"lang": "en"})
    text = page_text(page.text)
    assert "Open for scoring" in text
    assert "The criteria can only change while the round is a draft." in text
    assert "Add a criterion" not in text and "/criteria/new" not in page.text

    reason = "This round is no longer a draft: its criteria can no longer change"
    new, edit = (
        f"/admin/rounds/{round_id}/criteria/new",
        f"/admin/rounds/{round_id}/criteria/{criterion_id}/edit",
    )
    for method, path in (("get", new), ("post", new), ("get", edit), ("post", edit)):
        if method == "get":
            response = await client.get(path)
        else:
            response = await post_form(client, path, CRITERION)
        assert response.status_code == 303, path
        assert reason in page_text((await follow(client, response)).text), (method, path)
    removed = await post_form(client, f"/admin/rounds/{round_id}/criteria/{criterion_id}/remove")
    shown = page_text((await follow(client, removed)).text)
    assert "changing its criteria needs it draft" in shown
    assert await Criterion.filter(id=criterion_id).exists()
    criterion = await Criterion.get(id=criterion_id)
    assert criterion.name == "Innovation"


async def test_a_criterion_of_another_round_or_a_missing_round_is_not_found(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first = await _draft_round(client, admin)
    other = await scored_round(client, admin, judges=2, k=1, open_round=False)
    await log_in_to_pages(client, "admin")
    assert (
        await client.get(f"/admin/rounds/{first}/criteria/{other.criteria[0]}/edit")
    ).status_code == 404
    assert (await client.get("/admin/rounds/999999")).status_code == 404


async def test_staff_and_judges_get_403_on_the_round_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    round_id = await _draft_round(client, admin)
    for role in ("staff", "judge"):
        await log_in_to_pages(client, role)
        assert (await client.get(f"/admin/rounds/{round_id}")).status_code == 403
        refused = await post_form(client, f"/admin/rounds/{round_id}/criteria/new", CRITERION)
        assert refused.status_code == 403
    assert not await Criterion.filter(round_id=round_id, name="Team").exists()
