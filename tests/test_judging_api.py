"""Organiser and judge APIs of competitions: entries, rounds, assignment, sheets, history."""

from __future__ import annotations

import csv
import io

import httpx

from models import Entry, EntryMember, Person, Score, ScoreHistory
from tests.conftest import Backend, LoginAs
from tests.judging_helpers import (
    API,
    competition_event,
    judge,
    my_assignments,
    ok,
    scored_round,
    submit,
)


async def test_entries_crud_with_members_linked_to_people(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    event = await competition_event()
    body = {
        "title": "Battery swap robot",
        "summary": "Swaps a battery in 90 s.",
        "team_name": "Volt",
        "organisation": "Acme  Motors",
        "track": "hardware",
        "members": [{"email": " Li@Example.ORG", "name": "Li Wei", "role": "lead"}],
    }
    created = ok(
        await client.post(f"{API}/competitions/{event.id}/entries", json=body, headers=admin)
    )
    assert created["organisation"] == "Acme Motors"
    assert created["members"][0]["email"] == "li@example.org"
    person = await Person.get(email="li@example.org")
    assert created["members"][0]["person_id"] == person.id

    patched = ok(
        await client.patch(
            f"{API}/entries/{created['id']}",
            json={"track": "software", "members": []},
            headers=admin,
        )
    )
    assert patched["track"] == "software" and patched["members"] == []
    listed = ok(await client.get(f"{API}/competitions/{event.id}/entries", headers=admin))
    assert [e["id"] for e in listed] == [created["id"]]
    assert (await client.delete(f"{API}/entries/{created['id']}", headers=admin)).status_code == 204
    assert await Entry.all().count() == 0

    # Judges and anonymous callers cannot manage entries.
    _, judge_headers = await judge(client, "Nosy")
    assert (
        await client.post(
            f"{API}/competitions/{event.id}/entries", json=body, headers=judge_headers
        )
    ).status_code == 403
    assert (await client.get(f"{API}/competitions/{event.id}/entries")).status_code == 401


async def test_csv_import_is_all_or_nothing_and_reports_the_line(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    event = await competition_event()
    good = (
        "title,team_name,organisation,track,members\n"
        'Drone mapper,Sky,SkyCo,air,"Ana Silva <ana@example.org>; Bo Chen <bo@example.org>"\n'
        "Smart charger,Plug,,energy,\n"
    )
    headers = {**admin, "Content-Type": "text/csv"}
    imported = ok(
        await client.post(
            f"{API}/competitions/{event.id}/entries/import", content=good, headers=headers
        )
    )
    assert imported["created"] == 2
    assert [m["name"] for m in imported["entries"][0]["members"]] == ["Ana Silva", "Bo Chen"]
    assert imported["entries"][1]["organisation"] is None

    bad = "title,members\nFine entry,\nBroken,not-an-address\n"
    response = await client.post(
        f"{API}/competitions/{event.id}/entries/import", content=bad, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["line"] == 3
    assert await Entry.all().count() == 2  # nothing of the bad file was written

    unknown = await client.post(
        f"{API}/competitions/{event.id}/entries/import",
        content="title,price\nx,1\n",
        headers=headers,
    )
    assert unknown.status_code == 422 and "price" in unknown.json()["detail"]


async def test_entries_need_a_competition(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as("admin")
    response = await client.post(
        f"{API}/competitions/999/entries", json={"title": "x"}, headers=admin
    )
    assert response.status_code == 404


async def test_assignment_is_balanced_conflict_free_and_deterministic(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=7, judges=4, k=2, open_round=False)
    judge_ids = sorted(setup.judges)
    # Judge 0 works for Org 0: declared by the judge, it must keep them off entry 0.
    ok(
        await client.post(
            f"{API}/judge/conflicts",
            json={"organisation": "org 0"},
            headers=setup.judges[judge_ids[0]],
        )
    )
    first = ok(
        await client.post(f"{API}/rounds/{setup.round_id}/assign", json={"seed": 7}, headers=admin)
    )
    again = ok(
        await client.post(f"{API}/rounds/{setup.round_id}/assign", json={"seed": 7}, headers=admin)
    )
    pairs = sorted((a["entry_id"], a["judge_id"]) for a in first["assignments"])
    assert pairs == sorted((a["entry_id"], a["judge_id"]) for a in again["assignments"])
    per_entry = {e: sum(1 for pe, _ in pairs if pe == e) for e in setup.entries}
    assert set(per_entry.values()) == {2}
    loads = list(first["loads"].values())
    assert max(loads) - min(loads) <= 1 and sum(loads) == 14
    assert (setup.entries[0], judge_ids[0]) not in pairs
    assert first["connected"] is True

    # Impossible: k larger than the judges without a conflict on an entry.
    ok(await client.patch(f"{API}/rounds/{setup.round_id}", json={}, headers=admin))
    ok(
        await client.post(
            f"{API}/conflicts",
            json={"organisation": "Org 1", "judge_id": judge_ids[1]},
            headers=admin,
        )
    )
    ok(
        await client.post(
            f"{API}/conflicts",
            json={"organisation": "Org 1", "judge_id": judge_ids[2]},
            headers=admin,
        )
    )
    ok(
        await client.post(
            f"{API}/conflicts",
            json={"organisation": "Org 1", "judge_id": judge_ids[3]},
            headers=admin,
        )
    )
    impossible = await client.post(
        f"{API}/rounds/{setup.round_id}/assign", json={"seed": 7}, headers=admin
    )
    assert impossible.status_code == 422
    assert impossible.json()["type"] == "/problems/assignment-impossible"
    assert "only 1" in impossible.json()["detail"]
    # The earlier assignment is untouched by the refused one.
    kept = ok(await client.get(f"{API}/rounds/{setup.round_id}/assignments", headers=admin))
    assert sorted((a["entry_id"], a["judge_id"]) for a in kept) == pairs


async def test_anchor_entries_go_to_every_judge(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=9, judges=4, k=1, open_round=False)
    ok(
        await client.put(
            f"{API}/rounds/{setup.round_id}/anchors",
            json={"entry_ids": [setup.entries[0]]},
            headers=admin,
        )
    )
    plan = ok(
        await client.post(f"{API}/rounds/{setup.round_id}/assign", json={"seed": 3}, headers=admin)
    )
    anchor_judges = {
        a["judge_id"] for a in plan["assignments"] if a["entry_id"] == setup.entries[0]
    }
    assert anchor_judges == set(setup.judges)
    # With k=1 the graph is only connected thanks to the anchor.
    assert plan["connected"] is True
    loads = list(plan["loads"].values())
    assert max(loads) - min(loads) <= 1


async def test_manual_add_and_remove_respect_conflicts_and_duplicates(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=2, judges=3, k=2)
    extra_judge, extra_headers = await judge(client, "Extra")
    url = f"{API}/rounds/{setup.round_id}/assignments"
    added = ok(
        await client.post(
            url, json={"entry_id": setup.entries[0], "judge_id": extra_judge}, headers=admin
        )
    )
    duplicate = await client.post(
        url, json={"entry_id": setup.entries[0], "judge_id": extra_judge}, headers=admin
    )
    assert duplicate.status_code == 409
    ok(
        await client.post(
            f"{API}/conflicts",
            json={"organisation": "Org 1", "judge_id": extra_judge},
            headers=admin,
        )
    )
    conflicted = await client.post(
        url, json={"entry_id": setup.entries[1], "judge_id": extra_judge}, headers=admin
    )
    assert conflicted.status_code == 409
    # The judge started a draft; removing the assignment keeps a record of it.
    ok(await submit(client, extra_headers, added["id"], {setup.criteria[0]: 4}, final=False))
    assert (
        await client.delete(f"{API}/assignments/{added['id']}", headers=admin)
    ).status_code == 204
    remaining = ok(await client.get(url, headers=admin))
    assert extra_judge not in {a["judge_id"] for a in remaining}
    log = ok(await client.get(f"{API}/rounds/{setup.round_id}/history", headers=admin))
    assert [(h["action"], h["judge_id"], h["assignment_id"]) for h in log] == [
        ("create", extra_judge, None),
        ("remove", extra_judge, None),
    ]
    assert log[1]["before"] == {str(setup.criteria[0]): {"value": "4.0", "comment": ""}}
    # A submitted sheet cannot be removed.
    first_headers = next(iter(setup.judges.values()))
    theirs = (await my_assignments(client, first_headers))[0]
    ok(await submit(client, first_headers, theirs["id"], dict.fromkeys(setup.criteria, 3)))
    assert (
        await client.delete(f"{API}/assignments/{theirs['id']}", headers=admin)
    ).status_code == 409


async def test_judge_sees_only_own_assignments_and_scores(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=3, judges=3, k=2)
    (_, h1), (_, h2) = list(setup.judges.items())[:2]
    mine = await my_assignments(client, h1)
    theirs = await my_assignments(client, h2)
    assert mine and theirs
    ok(await submit(client, h2, theirs[0]["id"], {c: 5 for c in setup.criteria}, final=False))
    # j1 cannot read or write j2's sheet, and sees no scores but their own.
    assert (
        await client.get(f"{API}/judge/assignments/{theirs[0]['id']}", headers=h1)
    ).status_code == 404
    assert (
        await submit(client, h1, theirs[0]["id"], {c: 1 for c in setup.criteria})
    ).status_code == 404
    assert all(a["scores"] == [] for a in await my_assignments(client, h1))
    # Judges cannot see the ranking or the organiser's views.
    assert (
        await client.get(f"{API}/rounds/{setup.round_id}/ranking", headers=h1)
    ).status_code == 403
    assert (
        await client.get(f"{API}/rounds/{setup.round_id}/assignments", headers=h1)
    ).status_code == 403


async def test_bad_sheets_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, login_as: LoginAs, db: Backend
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=2, judges=2, k=2)
    other = await scored_round(client, admin, entries=1, judges=1, k=1)
    headers = next(iter(setup.judges.values()))
    assignment = (await my_assignments(client, headers))[0]
    innovation, feasibility = setup.criteria
    url = f"{API}/judge/assignments/{assignment['id']}/scores"
    cases = [
        ({"scores": [{"criterion_id": innovation, "value": 11}]}, 422),  # above the scale
        ({"scores": [{"criterion_id": innovation, "value": -1}]}, 422),  # below the scale
        ({"scores": [{"criterion_id": innovation, "value": 7.5}]}, 422),  # halves not allowed
        ({"scores": [{"criterion_id": feasibility, "value": 2.25}]}, 422),  # not a half step
        ({"scores": [{"criterion_id": other.criteria[0], "value": 3}]}, 422),  # other round
        ({"scores": [{"criterion_id": 999999, "value": 3}]}, 422),
        ({"scores": [{"criterion_id": innovation, "value": 3}] * 2}, 422),  # twice
        ({"scores": [{"criterion_id": innovation, "value": 3}], "submit": True}, 422),  # incomplete
        ({"scores": [{"criterion_id": innovation, "value": "seven"}]}, 400),  # not a number
        ({"scores": [], "extra": 1}, 400),  # unknown field
        ({"scores": [{"criterion_id": innovation, "value": 3, "comment": "x" * 2001}]}, 400),
    ]
    for body, status in cases:
        response = await client.put(url, json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await Score.all().count() == 0
    assert await ScoreHistory.all().count() == 0
    sheet = ok(await client.get(f"{API}/judge/assignments/{assignment['id']}", headers=headers))
    assert sheet["status"] == "assigned"


async def test_drafts_change_until_submitted_then_admin_reopen_is_logged(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=2, judges=2, k=2)
    judge_id, headers = next(iter(setup.judges.items()))
    aid = (await my_assignments(client, headers))[0]["id"]
    innovation, feasibility = setup.criteria

    draft = ok(await submit(client, headers, aid, {innovation: 6}, final=False))
    assert draft["status"] == "draft"
    changed = ok(await submit(client, headers, aid, {innovation: 7, feasibility: 3.5}, final=False))
    assert {s["criterion_id"]: s["value"] for s in changed["scores"]} == {
        innovation: 7,
        feasibility: 3.5,
    }
    done = ok(await submit(client, headers, aid, {innovation: 8, feasibility: 3.5}))
    assert done["status"] == "submitted" and done["submitted_at"]

    late = await submit(client, headers, aid, {innovation: 1, feasibility: 1}, final=False)
    assert late.status_code == 409 and late.json()["type"] == "/problems/sheet-submitted"

    assert (
        await client.post(f"{API}/assignments/{aid}/reopen", json={"reason": "x"}, headers=admin)
    ).status_code == 400
    reopened = ok(
        await client.post(
            f"{API}/assignments/{aid}/reopen", json={"reason": "Judge mis-tapped"}, headers=admin
        )
    )
    assert reopened["status"] == "draft" and reopened["reopened_at"]
    assert (
        await client.post(
            f"{API}/assignments/{aid}/reopen", json={"reason": "again"}, headers=admin
        )
    ).status_code == 409
    ok(await submit(client, headers, aid, {innovation: 9, feasibility: 3.5}))

    history = ok(await client.get(f"{API}/assignments/{aid}/history", headers=admin))
    assert [h["action"] for h in history] == ["create", "update", "submit", "reopen", "submit"]
    assert history[1]["before"] == {str(innovation): {"value": "6.0", "comment": ""}}
    assert history[2]["after"][str(innovation)]["value"] == "8.0"
    assert history[3]["reason"] == "Judge mis-tapped" and history[3]["actor_id"] != judge_id
    assert history[4]["before"][str(innovation)]["value"] == "8.0"
    assert all(h["actor_id"] == judge_id for h in history if h["action"] != "reopen")


async def test_progress_close_locks_scores_and_advance_moves_the_top(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=4, judges=3, k=3, method="mean")
    final = ok(
        await client.post(
            f"{API}/competitions/{setup.event_id}/rounds", json={"name": "Final"}, headers=admin
        )
    )
    assert final["entry_ids"] == [] and final["position"] == 2
    values = {setup.entries[i]: v for i, v in enumerate([4, 9, 6, 2])}
    for headers in setup.judges.values():
        for a in await my_assignments(client, headers):
            ok(
                await submit(
                    client,
                    headers,
                    a["id"],
                    {
                        c: values[a["entry"]["id"]] if c == setup.criteria[0] else 2
                        for c in setup.criteria
                    },
                )
            )
            break  # one sheet each for now
    progress = ok(await client.get(f"{API}/rounds/{setup.round_id}/progress", headers=admin))
    assert progress["sheets"] == 12 and progress["submitted"] == 3
    assert all(j["submitted"] == 1 and j["assigned"] == 4 for j in progress["judges"])
    assert sum(e["submitted"] for e in progress["entries"]) == 3

    for headers in setup.judges.values():
        for a in await my_assignments(client, headers):
            if a["status"] != "submitted":
                ok(
                    await submit(
                        client,
                        headers,
                        a["id"],
                        {
                            c: values[a["entry"]["id"]] if c == setup.criteria[0] else 2
                            for c in setup.criteria
                        },
                    )
                )
    closed = ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    assert closed["status"] == "closed"
    headers = next(iter(setup.judges.values()))
    aid = (await my_assignments(client, headers))[0]["id"]
    assert (
        await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin)
    ).status_code == 409
    locked = await submit(client, headers, aid, {c: 1 for c in setup.criteria}, final=False)
    assert locked.status_code == 409
    assert (
        await client.post(
            f"{API}/assignments/{aid}/reopen", json={"reason": "too late"}, headers=admin
        )
    ).status_code == 409

    advanced = ok(
        await client.post(f"{API}/rounds/{setup.round_id}/advance", json={"top": 2}, headers=admin)
    )
    assert advanced["entry_ids"] == [setup.entries[1], setup.entries[2]]
    final_round = ok(await client.get(f"{API}/rounds/{final['id']}", headers=admin))
    assert final_round["entry_ids"] == sorted([setup.entries[1], setup.entries[2]])


async def test_results_csv_export(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=3, judges=3, k=3, method="mean")
    scores = {setup.entries[0]: 3, setup.entries[1]: 5, setup.entries[2]: 4}
    for headers in setup.judges.values():
        for a in await my_assignments(client, headers):
            ok(
                await submit(
                    client, headers, a["id"], {c: scores[a["entry"]["id"]] for c in setup.criteria}
                )
            )
    response = await client.get(f"{API}/rounds/{setup.round_id}/results.csv", headers=admin)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [int(r["entry_id"]) for r in rows] == [
        setup.entries[1],
        setup.entries[2],
        setup.entries[0],
    ]
    assert rows[0]["rank"] == "1" and rows[0]["score"] == "5.0000" and rows[0]["judges"] == "3"
    assert await EntryMember.all().count() == 0


async def test_scoring_respects_the_round_window_and_draft_rounds_stay_hidden(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=2, judges=2, k=2, open_round=False)
    headers = next(iter(setup.judges.values()))
    # Draft round: the judge sees nothing yet, not even by id.
    assert await my_assignments(client, headers) == []
    assignments = ok(await client.get(f"{API}/rounds/{setup.round_id}/assignments", headers=admin))
    mine = [a for a in assignments if a["judge_id"] == next(iter(setup.judges))]
    assert (
        await client.get(f"{API}/judge/assignments/{mine[0]['id']}", headers=headers)
    ).status_code == 404
    assert (
        await submit(client, headers, mine[0]["id"], {setup.criteria[0]: 1}, final=False)
    ).status_code == 409

    ok(await client.post(f"{API}/rounds/{setup.round_id}/open", headers=admin))
    past = {"opens_at": "2020-01-01T00:00:00Z", "closes_at": "2020-01-02T00:00:00Z"}
    ok(await client.patch(f"{API}/rounds/{setup.round_id}", json=past, headers=admin))
    late = await submit(client, headers, mine[0]["id"], {setup.criteria[0]: 1}, final=False)
    assert late.status_code == 409 and "closed at" in late.json()["detail"]
    future = {"opens_at": "2099-01-01T00:00:00Z", "closes_at": "2099-01-02T00:00:00Z"}
    ok(await client.patch(f"{API}/rounds/{setup.round_id}", json=future, headers=admin))
    early = await submit(client, headers, mine[0]["id"], {setup.criteria[0]: 1}, final=False)
    assert early.status_code == 409 and "opens at" in early.json()["detail"]
    assert await Score.all().count() == 0


async def test_judge_pages_render_controls_that_fit_each_scale(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=1, judges=1, k=1)
    headers = next(iter(setup.judges.values()))
    aid = (await my_assignments(client, headers))[0]["id"]
    ok(await submit(client, headers, aid, {setup.criteria[1]: 2.5}, final=False))

    anonymous = await client.get("/judge", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 307) and anonymous.headers["location"].startswith(
        "/judge/login"
    )
    assert (await client.get("/judge/login")).status_code == 200
    door_staff = await login_as("staff")
    refused = await client.get("/judge", headers=door_staff)
    assert refused.status_code == 403 and "no judge role" in refused.text

    listing = await client.get("/judge", headers=headers)
    assert (
        listing.status_code == 200 and "Entry 0" in listing.text and "Draft saved" in listing.text
    )
    page = await client.get(f"/judge/assignments/{aid}", headers=headers)
    assert page.status_code == 200
    # Innovation 0-10 in whole points: 11 one-tap buttons. Feasibility 0-5 in halves: 11 too.
    assert page.text.count(f'name="c{setup.criteria[0]}"') == 11
    assert page.text.count(f'name="c{setup.criteria[1]}"') == 11
    assert f'name="c{setup.criteria[1]}" value="2.5" checked' in page.text
    assert "How good is the innovation?" in page.text
    assert "weight 67%" in page.text and "weight 33%" in page.text
    assert (await client.get(f"/judge/assignments/{aid}", headers=admin)).status_code == 403


async def test_round_and_criterion_rules(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as("admin")
    event = await competition_event()
    rounds = f"{API}/competitions/{event.id}/rounds"
    backwards = {
        "name": "R",
        "opens_at": "2030-01-02T00:00:00Z",
        "closes_at": "2030-01-01T00:00:00Z",
    }
    assert (await client.post(rounds, json=backwards, headers=admin)).status_code == 422
    assert (
        await client.post(rounds, json={"name": "R", "ranking_method": "vibes"}, headers=admin)
    ).status_code == 400
    assert (
        await client.post(rounds, json={"name": "R", "tie_break": ["luck"]}, headers=admin)
    ).status_code == 400
    first = ok(await client.post(rounds, json={"name": "Preliminary"}, headers=admin))
    assert (
        await client.post(rounds, json={"name": "Again", "position": 1}, headers=admin)
    ).status_code == 409

    criteria = f"{API}/rounds/{first['id']}/criteria"
    assert (
        await client.post(
            criteria, json={"name": "x", "scale_min": 5, "scale_max": 5}, headers=admin
        )
    ).status_code == 422
    assert (
        await client.post(
            criteria, json={"name": "x", "scale_min": 0.5, "scale_max": 5}, headers=admin
        )
    ).status_code == 422
    assert (
        await client.post(criteria, json={"name": "x", "weight": 0}, headers=admin)
    ).status_code == 400
    assert (
        await client.post(criteria, json={"name": "x", "scale_step": "0.25"}, headers=admin)
    ).status_code == 400
    crit = ok(
        await client.post(criteria, json={"name": "Impact", "scale_step": "0.5"}, headers=admin)
    )
    patched = ok(
        await client.patch(f"{API}/criteria/{crit['id']}", json={"weight": 2.5}, headers=admin)
    )
    assert patched["weight"] == 2.5 and patched["scale_step"] == 0.5
    # The tie-break may name a criterion of this round, not of another.
    ok(
        await client.patch(
            f"{API}/rounds/{first['id']}",
            json={"tie_break": [f"criterion:{crit['id']}", "earliest"]},
            headers=admin,
        )
    )
    assert (
        await client.patch(
            f"{API}/rounds/{first['id']}", json={"tie_break": ["criterion:999999"]}, headers=admin
        )
    ).status_code == 422
    assert (
        await client.patch(
            f"{API}/rounds/{first['id']}", json={"tie_break": ["median", "median"]}, headers=admin
        )
    ).status_code == 422
    spare = ok(await client.post(criteria, json={"name": "Spare"}, headers=admin))
    assert (await client.delete(f"{API}/criteria/{spare['id']}", headers=admin)).status_code == 204
    assert [c["name"] for c in ok(await client.get(criteria, headers=admin))] == ["Impact"]


async def test_round_entries_anchors_conflicts_and_awards(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=3, judges=3, k=2, open_round=False)
    other_event = await competition_event("Another challenge")
    stranger = ok(
        await client.post(
            f"{API}/competitions/{other_event.id}/entries",
            json={"title": "Elsewhere"},
            headers=admin,
        )
    )
    url = f"{API}/rounds/{setup.round_id}"
    assert (
        await client.post(f"{url}/entries", json={"entry_ids": [stranger["id"]]}, headers=admin)
    ).status_code == 422
    assert (
        await client.put(f"{url}/anchors", json={"entry_ids": [stranger["id"]]}, headers=admin)
    ).status_code == 422
    assert (
        await client.delete(f"{url}/entries/{setup.entries[2]}", headers=admin)
    ).status_code == 204
    assert ok(await client.get(url, headers=admin))["entry_ids"] == setup.entries[:2]
    anchored = ok(
        await client.put(f"{url}/anchors", json={"entry_ids": [setup.entries[0]]}, headers=admin)
    )
    assert anchored["anchor_entry_ids"] == [setup.entries[0]]

    judge_id = next(iter(setup.judges))
    declared = ok(
        await client.post(
            f"{API}/conflicts",
            json={"organisation": "Org 0", "judge_id": judge_id, "reason": "Advisor"},
            headers=admin,
        )
    )
    assert declared["reason"] == "Advisor" and declared["organisation"] == "Org 0"
    assert (
        await client.post(f"{API}/conflicts", json={"organisation": "Org 0"}, headers=admin)
    ).status_code == 422
    assert (
        await client.post(
            f"{API}/judge/conflicts",
            json={"organisation": "Org 9", "judge_id": judge_id + 1},
            headers=setup.judges[judge_id],
        )
    ).status_code == 403
    mine = ok(await client.get(f"{API}/judge/conflicts", headers=setup.judges[judge_id]))
    assert [c["id"] for c in mine] == [declared["id"]]
    assert (
        await client.delete(f"{API}/conflicts/{declared['id']}", headers=admin)
    ).status_code == 204
    assert ok(await client.get(f"{API}/conflicts", headers=admin)) == []

    awards = f"{url}/awards"
    assert (
        await client.post(awards, json={"name": "Odd", "rank_from": 3, "rank_to": 2}, headers=admin)
    ).status_code == 422
    ok(await client.post(awards, json={"name": "Gold"}, headers=admin))
    assert [
        (a["rank_from"], a["rank_to"]) for a in ok(await client.get(awards, headers=admin))
    ] == [(1, 1)]


async def test_scored_entries_stay_for_the_record(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=1, judges=1, k=1)
    headers = next(iter(setup.judges.values()))
    aid = (await my_assignments(client, headers))[0]["id"]
    ok(await submit(client, headers, aid, {setup.criteria[0]: 5}, final=False))
    assert (
        await client.delete(f"{API}/entries/{setup.entries[0]}", headers=admin)
    ).status_code == 409
    # Reassigning would throw the scores away: refused.
    assert (
        await client.post(f"{API}/rounds/{setup.round_id}/assign", json={"seed": 2}, headers=admin)
    ).status_code == 409
    assert await Score.all().count() == 1


async def test_a_disconnected_plan_is_reported_with_the_remedy(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    orgs = ["North", "North", "South", "South"]
    setup = await scored_round(
        client, admin, entries=4, judges=4, k=2, organisations=orgs, open_round=False
    )
    north, south = sorted(setup.judges)[:2], sorted(setup.judges)[2:]
    for judge_id in north:
        ok(
            await client.post(
                f"{API}/conflicts",
                json={"organisation": "South", "judge_id": judge_id},
                headers=admin,
            )
        )
    for judge_id in south:
        ok(
            await client.post(
                f"{API}/conflicts",
                json={"organisation": "North", "judge_id": judge_id},
                headers=admin,
            )
        )
    plan = ok(
        await client.post(f"{API}/rounds/{setup.round_id}/assign", json={"seed": 1}, headers=admin)
    )
    assert plan["connected"] is False and "anchor" in plan["warning"]
