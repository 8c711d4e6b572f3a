"""Concurrent writers over HTTP: one consistent sheet, one publication, a valid chain.

Runs on SQLite and PostgreSQL; on PostgreSQL the requests' transactions really
overlap (one pooled connection each), which is where a read-then-write would break.
"""

from __future__ import annotations

import asyncio
import itertools

import httpx

from models import Score, ScoreHistory, WinnerRecord
from tests.conftest import LoginAs
from tests.judging_helpers import API, my_assignments, ok, scored_round, submit

WRITERS = 12


async def test_concurrent_submissions_of_one_sheet_leave_one_final_sheet(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(
        client,
        admin,
        entries=1,
        judges=1,
        k=1,
        criteria=(("A", 1, 0, 20, "1"), ("B", 1, 0, 20, "1"), ("C", 1, 0, 20, "1")),
    )
    headers = next(iter(setup.judges.values()))
    aid = (await my_assignments(client, headers))[0]["id"]

    responses = await asyncio.gather(
        *(
            submit(client, headers, aid, dict.fromkeys(setup.criteria, v))
            for v in range(1, WRITERS + 1)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (WRITERS - 1), statuses
    winner = next(r for r in responses if r.status_code == 200).json()
    value = winner["scores"][0]["value"]
    stored = await Score.filter(assignment_id=aid).values_list("value", flat=True)
    assert len(stored) == 3 and {float(v) for v in stored} == {value}
    history = await ScoreHistory.filter(assignment_id=aid)
    assert [h.action for h in history] == ["submit"]
    assert {v["value"] for v in history[0].after.values()} == {f"{value:.1f}"}


async def test_concurrent_drafts_never_mix_two_requests(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(
        client,
        admin,
        entries=1,
        judges=1,
        k=1,
        criteria=(("A", 1, 0, 20, "1"), ("B", 1, 0, 20, "1"), ("C", 1, 0, 20, "1")),
    )
    headers = next(iter(setup.judges.values()))
    aid = (await my_assignments(client, headers))[0]["id"]

    responses = await asyncio.gather(
        *(
            submit(client, headers, aid, dict.fromkeys(setup.criteria, v), final=False)
            for v in range(1, WRITERS + 1)
        )
    )

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    stored = await Score.filter(assignment_id=aid).values_list("value", flat=True)
    assert len(stored) == 3 and len(set(stored)) == 1  # all three from one request
    history = await ScoreHistory.filter(assignment_id=aid).order_by("id")
    assert len(history) == WRITERS
    # Each change starts from what the previous one left: the log is a chain.
    for earlier, later in itertools.pairwise(history):
        assert later.before == earlier.after
    assert {float(v["value"]) for v in history[-1].after.values()} == {float(stored[0])}


async def test_concurrent_publications_create_one_chain(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=3, judges=2, k=2, method="mean")
    for headers in setup.judges.values():
        for i, a in enumerate(await my_assignments(client, headers)):
            ok(await submit(client, headers, a["id"], dict.fromkeys(setup.criteria, 2 + i)))
    ok(
        await client.post(
            f"{API}/rounds/{setup.round_id}/awards",
            json={"name": "Top three", "rank_from": 1, "rank_to": 3},
            headers=admin,
        )
    )
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    url = f"{API}/competitions/{setup.event_id}/winners"

    responses = await asyncio.gather(*(client.post(url, headers=admin) for _ in range(4)))

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert await WinnerRecord.all().count() == 3
    assert ok(await client.get(f"{API}/winners/verify"))["valid"] is True


async def test_close_racing_submissions_locks_what_it_locks(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=6, judges=3, k=2)
    work = []
    for headers in setup.judges.values():
        for a in await my_assignments(client, headers):
            work.append(submit(client, headers, a["id"], dict.fromkeys(setup.criteria, 3)))
    close = client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin)

    *sheet_responses, closed = await asyncio.gather(*work, close)

    assert closed.status_code == 200
    accepted = sum(r.status_code == 200 for r in sheet_responses)
    assert all(r.status_code in (200, 409) for r in sheet_responses)
    # Exactly the accepted sheets were written; a refused one left nothing behind.
    progress = ok(await client.get(f"{API}/rounds/{setup.round_id}/progress", headers=admin))
    assert progress["submitted"] == accepted
    assert await Score.all().count() == accepted * len(setup.criteria)


async def test_concurrent_corrections_of_one_record_leave_one(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=2, judges=2, k=2, method="mean")
    for headers in setup.judges.values():
        for i, a in enumerate(await my_assignments(client, headers)):
            ok(await submit(client, headers, a["id"], dict.fromkeys(setup.criteria, 2 + i)))
    ok(
        await client.post(
            f"{API}/rounds/{setup.round_id}/awards", json={"name": "Gold"}, headers=admin
        )
    )
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    record = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))[0]
    url = f"{API}/winners/{record['id']}/supersede"

    responses = await asyncio.gather(
        *(
            client.post(url, json={"reason": f"correction {i}", "rank": 1}, headers=admin)
            for i in range(5)
        )
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    assert await WinnerRecord.filter(supersedes_id=record["id"]).count() == 1
    assert ok(await client.get(f"{API}/winners/verify"))["valid"] is True
