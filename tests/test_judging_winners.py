"""Winners: preview, publish into a hash chain, public list, verify, tampering, corrections."""

from __future__ import annotations

import httpx

from models import WinnerRecord
from tests.conftest import LoginAs
from tests.judging_helpers import API, closed_final_round, ok


async def test_publish_creates_a_verifiable_chain_with_snapshots(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    judge_ids = sorted(setup.judges)
    # A declared conflict with the winner's organisation is recorded in its snapshot.
    ok(
        await client.post(
            f"{API}/conflicts",
            json={"organisation": "Org 1", "judge_id": judge_ids[0]},
            headers=admin,
        )
    )
    winners_url = f"{API}/competitions/{setup.event_id}/winners"

    early = await client.post(winners_url, headers=admin)
    assert early.status_code == 409  # the round is still open
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))

    preview = ok(await client.get(f"{winners_url}/preview", headers=admin))
    assert [(w["award_title"], w["rank"], w["entry_id"]) for w in preview] == [
        ("First prize", 1, setup.entries[1]),
        ("Runner-up", 2, setup.entries[3]),
        ("Runner-up", 3, setup.entries[0]),
    ]
    assert all(w["hash"] is None for w in preview)
    assert await WinnerRecord.all().count() == 0  # a preview writes nothing

    published = ok(await client.post(winners_url, headers=admin))
    assert [(w["award_title"], w["rank"], w["entry_id"]) for w in published] == [
        (w["award_title"], w["rank"], w["entry_id"]) for w in preview
    ]
    first = published[0]
    assert first["sequence"] == 1 and first["previous_hash"] == "0" * 64
    assert published[1]["previous_hash"] == first["hash"]
    assert first["final_score"] == "9.0000"
    assert first["ruleset"]["method_used"] == "mean"
    assert [c["id"] for c in first["ruleset"]["criteria"]] == setup.criteria
    assert first["ruleset"]["tie_break"] == ["median", "judges", "earliest"]
    snapshot = first["scores_snapshot"]
    assert len(snapshot["scores"]) == 3 * 2  # three judges, two criteria
    assert {s["value"] for s in snapshot["scores"]} == {"9.0"}
    assert snapshot["conflicts_excluded"] == [
        {
            "judge_id": judge_ids[0],
            "organisation_id": snapshot["conflicts_excluded"][0]["organisation_id"],
        }
    ]
    assert first["published_by_id"] is not None and first["published_at"]

    assert (await client.post(winners_url, headers=admin)).status_code == 409  # once only

    # Public: no login needed to read or verify.
    public = ok(await client.get(f"{API}/winners"))
    assert [w["hash"] for w in public] == [w["hash"] for w in published]
    verdict = ok(await client.get(f"{API}/winners/verify"))
    assert verdict == {"valid": True, "records": 3, "head": published[-1]["hash"], "problems": []}

    # No route updates or deletes a record.
    for method in ("PUT", "PATCH", "DELETE"):
        response = await client.request(method, f"{API}/winners/{first['id']}", headers=admin)
        assert response.status_code in (404, 405)

    page = await client.get(f"/winners/{first['id']}/certificate")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert first["hash"] in page.text and "First prize" in page.text and "Entry 1" in page.text


async def test_a_modified_row_in_the_database_makes_verify_fail(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    published = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))
    second = published[1]

    # Someone with database access quietly moves the runner-up to entry 2's score.
    await WinnerRecord.filter(id=second["id"]).update(final_score="9.5000")
    verdict = ok(await client.get(f"{API}/winners/verify"))
    assert verdict["valid"] is False
    assert [p["id"] for p in verdict["problems"]] == [second["id"]]
    assert "modified" in verdict["problems"][0]["problem"]

    # Restoring the value and instead editing the snapshot JSON is caught too.
    await WinnerRecord.filter(id=second["id"]).update(final_score=second["final_score"])
    assert ok(await client.get(f"{API}/winners/verify"))["valid"] is True
    snapshot = dict(second["scores_snapshot"])
    snapshot["scores"] = snapshot["scores"][:-1]
    await WinnerRecord.filter(id=second["id"]).update(scores_snapshot=snapshot)
    assert ok(await client.get(f"{API}/winners/verify"))["valid"] is False

    # Rewriting the hash to match the edit breaks the next record's link instead.
    from events_service.judging.winners import record_hash

    record = await WinnerRecord.get(id=second["id"])
    await WinnerRecord.filter(id=second["id"]).update(hash=record_hash(record))
    problems = ok(await client.get(f"{API}/winners/verify"))["problems"]
    assert [(p["id"], "previous_hash" in p["problem"]) for p in problems] == [
        (published[2]["id"], True)
    ]


async def test_a_correction_supersedes_with_a_reason_and_keeps_the_old_record(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    published = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))
    third = published[2]
    url = f"{API}/winners/{third['id']}/supersede"

    assert (await client.post(url, json={"reason": ""}, headers=admin)).status_code == 400
    assert (await client.post(url, json={"reason": "typo"})).status_code == 401
    correction = ok(
        await client.post(
            url,
            json={
                "reason": "Entry 3 was disqualified; the prize goes to entry 2",
                "entry_id": setup.entries[2],
            },
            headers=admin,
        )
    )
    assert correction["supersedes_id"] == third["id"]
    assert correction["entry_id"] == setup.entries[2] and correction["rank"] == 3
    assert correction["final_score"] == "4.0000"
    assert correction["previous_hash"] == third["hash"] and correction["sequence"] == 4
    assert len(correction["scores_snapshot"]["scores"]) == 6

    listed = {w["id"]: w for w in ok(await client.get(f"{API}/winners"))}
    assert listed[third["id"]]["superseded_by_id"] == correction["id"]
    assert listed[third["id"]]["entry_id"] == setup.entries[0]  # the old record is unchanged
    assert ok(await client.get(f"{API}/winners/verify"))["valid"] is True
    again = await client.post(url, json={"reason": "second thoughts"}, headers=admin)
    assert again.status_code == 409
    page = await client.get(f"/winners/{third['id']}/certificate")
    assert f"corrected by record {correction['id']}" in page.text
