"""The offline door's server side (issue 19): the door bundle and its delta, the batch
sync (idempotent, one admission per ticket, the earliest scan admits, every other
offline entry a conflict), conflicts and their review, undo of one's own admission."""

from __future__ import annotations

import asyncio
import uuid
from base64 import b32decode
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from litestar import Litestar

from events_service.privacy.service import erase_people
from events_service.reach.counter import verify
from models import Admission, CheckinConflict, Event, Organisation, Registration, ScanLog
from tests.checkin_helpers import bulk_tickets, event_now, link_for, ticket_for
from tests.conftest import Backend, LoginAs

CHECKINS = "/api/v1/checkins"
BATCH = "/api/v1/checkins/batch"


def ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def entry(code: str, gate: str, at: datetime, scan_id: str | None = None) -> dict:
    return {"code": code, "gate": gate, "scan_id": scan_id or uuid.uuid4().hex,
            "scanned_at": at.isoformat()}  # fmt: skip


async def upload(
    client: httpx.AsyncClient, headers: dict, event_id: int, scans: list[dict]
) -> dict:
    response = await client.post(BATCH, json={"event_id": event_id, "scans": scans},
                                 headers=headers)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


async def bundle(client: httpx.AsyncClient, headers: dict, event_id: int, **params) -> dict:
    response = await client.get(
        f"/api/v1/events/{event_id}/door-bundle", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def reach_total(client: httpx.AsyncClient) -> int:
    return (await client.get("/api/v1/reach")).json()["talents_reached"]


async def test_the_bundle_holds_key_refusals_admissions_and_names_only_when_allowed(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin, capacity=2, waitlist_enabled=True)
    slug = await link_for(client, admin, event)
    admitted = await ticket_for(app, client, event, slug, 1, name="Li Wei", organisation="ACME")
    leaving = await ticket_for(app, client, event, slug, 2, name="Zhang San")
    waiting = await ticket_for(app, client, event, slug, 3)
    registration = await Registration.get(id=leaving.registration_id)
    await client.post(f"/t/{registration.manage_token}/cancel")  # promotes ticket 3
    late = await ticket_for(app, client, event, slug, 4)  # waitlisted
    answer = await upload(client, door, event["id"], [entry(admitted.code, "B", ago(5))])
    assert answer["answers"][0]["verdict"] == "admitted"

    response = await client.get(
        f"/api/v1/events/{event['id']}/door-bundle", headers={**door, "Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(response.content)
    found = response.json()
    key = (await client.get(f"/api/v1/events/{event['id']}/ticket-key")).json()
    assert found["public_key"] == key["public_key"]
    assert found["timezone"] == "Asia/Shanghai"
    assert datetime.fromisoformat(found["closes_at"]) == datetime.fromisoformat(event["ends_at"])
    assert found["cancelled"] == [leaving.registration_id]
    assert found["waitlisted"] == [late.registration_id]
    assert found["admitted"]["ids"] == [admitted.registration_id]
    assert found["admitted"]["gates"][found["admitted"]["gate"][0]] == "B"
    assert abs(found["admitted"]["at"][0] - ago(5).timestamp()) < 5
    # Names stay out unless the organiser allows them for the event.
    assert found["names"] is None and "Li Wei" not in response.text
    assert waiting.registration_id not in found["cancelled"] + found["waitlisted"]

    patched = await client.patch(
        f"/api/v1/events/{event['id']}", json={"door_names_offline": True}, headers=admin
    )
    assert patched.status_code == 200 and patched.json()["door_names_offline"] is True
    names = (await bundle(client, door, event["id"]))["names"]
    people = {
        rid: (name, None if org < 0 else names["organisations"][org])
        for rid, name, org in zip(names["ids"], names["name"], names["organisation"], strict=True)
    }
    assert people[admitted.registration_id] == ("Li Wei", "ACME")
    assert leaving.registration_id not in people and late.registration_id not in people
    assert waiting.registration_id in people


async def test_the_bundle_is_for_door_staff_only(
    client: httpx.AsyncClient, admin: dict, login_as: LoginAs
) -> None:
    event = await event_now(client, admin)
    path = f"/api/v1/events/{event['id']}/door-bundle"
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=await login_as("judge"))).status_code == 403
    assert (await client.get(path, headers=admin)).status_code == 200
    assert (await client.get("/api/v1/events/999999/door-bundle", headers=admin)).status_code == 404
    assert (await client.get(path, params={"since": "-1"}, headers=admin)).status_code == 400


async def test_the_delta_holds_only_what_changed_since_including_undone_admissions(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    tickets = [await ticket_for(app, client, event, slug, n) for n in range(5)]
    await upload(client, door, event["id"], [entry(t.code, "A", ago(30)) for t in tickets[:3]])
    # What happened before the first bundle is long past (beyond the delta's overlap).
    long_ago = ago(30)
    await Registration.filter(event_id=event["id"]).update(updated_at=long_ago)
    await ScanLog.filter(event_id=event["id"]).update(created_at=long_ago)
    first = await bundle(client, door, event["id"])
    assert sorted(first["admitted"]["ids"]) == sorted(t.registration_id for t in tickets[:3])

    # Then: one more admitted, one admission undone, one ticket cancelled.
    await upload(client, door, event["id"], [entry(tickets[3].code, "C", ago(1))])
    undone = await client.delete(f"{CHECKINS}/{tickets[0].registration_id}", headers=admin)
    assert undone.status_code == 204
    registration = await Registration.get(id=tickets[4].registration_id)
    await client.post(f"/t/{registration.manage_token}/cancel")

    delta = await bundle(client, door, event["id"], since=first["version"])
    assert delta["since"] == first["version"] and delta["version"] > first["version"]
    assert delta["admitted"]["ids"] == [tickets[3].registration_id]
    assert delta["undone"] == [tickets[0].registration_id]
    assert delta["cancelled"] == [tickets[4].registration_id]
    assert delta["waitlisted"] == [] and delta["confirmed"] == []
    assert delta["public_key"] == first["public_key"]


def names_of(found: dict) -> dict[int, tuple[str | None, str | None]]:
    names = found["names"]
    return {
        rid: (name, None if org < 0 else names["organisations"][org])
        for rid, name, org in zip(names["ids"], names["name"], names["organisation"], strict=True)
    }


async def test_the_delta_sends_a_ticket_whose_holder_was_renamed_or_erased(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    patched = await client.patch(
        f"/api/v1/events/{event['id']}", json={"door_names_offline": True}, headers=admin
    )
    assert patched.status_code == 200
    slug = await link_for(client, admin, event)
    renamed = await ticket_for(app, client, event, slug, 1, name="Li Wei", organisation="ACME")
    erased = await ticket_for(app, client, event, slug, 2, name="Wang Wu")
    unchanged = await ticket_for(app, client, event, slug, 3, name="Zhang San")
    await Registration.filter(event_id=event["id"]).update(updated_at=ago(30))
    first = await bundle(client, door, event["id"])
    assert names_of(first)[renamed.registration_id] == ("Li Wei", "ACME")

    # The attendee edits their details on their ticket page.
    registration = await Registration.get(id=renamed.registration_id)
    edited = await client.post(
        f"/t/{registration.manage_token}/details",
        data={"name": "Li Wei-Zhang", "organisation": "Tongji Motors"},
    )
    assert edited.status_code == 303, edited.text
    delta = await bundle(client, door, event["id"], since=first["version"])
    assert names_of(delta) == {renamed.registration_id: ("Li Wei-Zhang", "Tongji Motors")}
    assert delta["confirmed"] == [renamed.registration_id]
    assert "Zhang San" not in str(delta) and "Wang Wu" not in str(delta)

    # The other is erased (as the retention policy or a request does it).
    await Registration.filter(event_id=event["id"]).update(updated_at=ago(30))
    person_id = (await Registration.get(id=erased.registration_id)).person_id
    settings = app.state.settings
    assert await erase_people([person_id], "request", settings.retention_fields) == 1
    again = await bundle(client, door, event["id"], since=delta["version"])
    assert names_of(again) == {erased.registration_id: (None, None)}
    assert again["confirmed"] == [erased.registration_id]
    assert unchanged.registration_id not in again["confirmed"] + again["cancelled"]
    # The full bundle agrees.
    assert names_of(await bundle(client, door, event["id"]))[erased.registration_id] == (None, None)

    # An organisation's name corrected (no page does it yet; whoever does, the door hears).
    await Registration.filter(event_id=event["id"]).update(updated_at=ago(30))
    await Organisation.filter(name="Tongji Motors").update(name="Tongji Motors Co.")
    last = await bundle(client, door, event["id"], since=again["version"])
    assert names_of(last) == {renamed.registration_id: ("Li Wei-Zhang", "Tongji Motors Co.")}

    # Once the event is over (past the door's day of margin) no door holds its bundle:
    # erasing its people (the retention run's work) moves none of its registrations.
    await Event.filter(id=event["id"]).update(
        starts_at=ago(3 * 24 * 60 + 60), ends_at=ago(3 * 24 * 60)
    )
    held = (await Registration.get(id=unchanged.registration_id)).updated_at
    person_id = (await Registration.get(id=unchanged.registration_id)).person_id
    assert await erase_people([person_id], "retention", settings.retention_fields) == 1
    assert (await Registration.get(id=unchanged.registration_id)).updated_at == held


async def test_a_batch_sent_twice_gets_the_same_answers_and_admits_once(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    a = await ticket_for(app, client, event, slug, 1, name="Li Wei")
    b = await ticket_for(app, client, event, slug, 2)
    cancelled = await ticket_for(app, client, event, slug, 3, name="Wang Wu")
    registration = await Registration.get(id=cancelled.registration_id)
    await client.post(f"/t/{registration.manage_token}/cancel")
    forged = a.code[:10] + ("A" if a.code[10] != "A" else "B") + a.code[11:]
    scans = [
        entry(a.code, "A", ago(20)),
        entry(b.code, "A", ago(19)),
        entry(a.code, "A", ago(18)),  # the same ticket twice on one device: a conflict
        entry(cancelled.code, "A", ago(17)),
        entry(forged, "A", ago(16)),
        entry(b.code, "A", ago(60 * 30)),  # 30 hours old: refused, nothing recorded
    ]

    first = await upload(client, door, event["id"], scans)
    again = await upload(client, door, event["id"], scans)

    verdicts = [(x["verdict"], x.get("conflict", False)) for x in first["answers"]]
    assert verdicts == [
        ("admitted", False), ("admitted", False), ("already_admitted", True),
        ("cancelled", False), ("forged", False), ("refused", False),
    ]  # fmt: skip
    assert [x["scan_id"] for x in first["answers"]] == [s["scan_id"] for s in scans]
    assert first["answers"][0]["message"] == "Admitted: Li Wei"
    assert "a day old" in first["answers"][5]["message"]
    assert again["answers"] == first["answers"]
    assert (first["admitted"], first["conflicts"]) == (2, 1)
    assert await Admission.filter(event_id=event["id"]).count() == 2
    assert await CheckinConflict.all().count() == 1
    assert await reach_total(client) == 2
    assert (await verify()).exact


async def test_a_batch_entry_answers_as_a_single_scan_plus_its_scan_id_and_conflict(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    # The door shows either answer with the same code: field for field, in the same order.
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    li = await ticket_for(app, client, event, slug, 1, name="Li Wei", organisation="ACME")
    wang = await ticket_for(app, client, event, slug, 2, name="Wang Wu")
    forged = li.code[:10] + ("A" if li.code[10] != "A" else "B") + li.code[11:]

    async def single(code: str) -> dict:
        body = {"event_id": event["id"], "gate": "B", "code": code}
        response = await client.post(CHECKINS, json=body, headers=door)
        assert response.status_code == 200, response.text
        return response.json()

    admitted = await single(li.code)
    again = await single(li.code)
    refused = await single(forged)
    scans = [entry(li.code, "C", ago(0)), entry(forged, "C", ago(0)),
             entry(wang.code, "C", ago(1))]  # fmt: skip
    answers = (await upload(client, door, event["id"], scans))["answers"]
    conflict, batch_forged, batch_admitted = answers

    fields = ["verdict", "message", "attendee", "registration_id", "admitted_at", "gate"]
    assert list(admitted) == list(again) == fields
    assert list(refused) == ["verdict", "message"]  # no ticket: the ticket's fields are left out
    assert again["attendee"] == {"name": "Li Wei", "organisation": "ACME"}
    assert list(conflict) == ["scan_id", "verdict", "message", "conflict", *fields[2:]]
    assert conflict == {"scan_id": scans[0]["scan_id"], **again, "conflict": True}
    assert batch_forged == {"scan_id": scans[1]["scan_id"], **refused}
    assert list(batch_admitted) == ["scan_id", *fields]  # conflict: false is left out
    assert batch_admitted["attendee"] == {"name": "Wang Wu", "organisation": None}
    assert batch_admitted["registration_id"] == wang.registration_id
    assert batch_admitted["gate"] == "C" and batch_admitted["message"] == "Admitted: Wang Wu"


async def test_a_batch_is_bounded_and_checked(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    one = entry("X" * 20, "A", ago(1))
    for body in (
        {"event_id": event["id"], "scans": [one] * 501},
        {"event_id": event["id"], "scans": []},
        {"event_id": event["id"], "scans": [{**one, "scanned_at": "yesterday"}]},
        {"event_id": event["id"], "scans": [{**one, "gate": ""}]},
    ):
        response = await client.post(BATCH, json=body, headers=door)
        assert response.status_code == 400, response.text
    # A time without an offset: that entry is refused, the others are judged.
    naive = {**one, "scanned_at": ago(1).replace(tzinfo=None).isoformat()}
    answers = await upload(client, door, event["id"], [naive, entry("Y" * 20, "A", ago(2))])
    assert [a["verdict"] for a in answers["answers"]] == ["refused", "unknown"]
    assert "UTC offset" in answers["answers"][0]["message"]
    missing = await client.post(BATCH, json={"event_id": 999_999, "scans": [one]}, headers=door)
    assert missing.status_code == 404
    assert (
        await client.post(BATCH, json={"event_id": event["id"], "scans": [one]})
    ).status_code == 401


async def test_two_offline_gates_with_one_ticket_make_one_admission_and_one_conflict(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, login_as: LoginAs
) -> None:
    """The earliest scan is the admission, whichever device syncs first."""
    event = await event_now(client, admin, timezone="Asia/Shanghai")
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, 1, name="Li Wei")
    gate_b = await login_as("staff")
    early, late = ago(40).replace(second=0, microsecond=0), ago(30).replace(second=0, microsecond=0)
    scan_a, scan_b = entry(ticket.code, "A", late), entry(ticket.code, "B", early)

    # Gate A (scanned later) syncs first and admits; gate B's earlier entry takes over.
    first = await upload(client, door, event["id"], [scan_a])
    assert first["answers"][0]["verdict"] == "admitted"
    second = await upload(client, gate_b, event["id"], [scan_b])
    assert second["answers"][0]["verdict"] == "admitted"
    assert "conflict" not in second["answers"][0]

    admission = await Admission.get(registration_id=ticket.registration_id)
    assert (admission.gate, admission.admitted_at) == ("B", early)
    (conflict,) = await CheckinConflict.all()
    assert (conflict.gate, conflict.scanned_at) == ("A", late)
    assert (conflict.admission_gate, conflict.admission_at) == ("B", early)
    assert conflict.scan_id == scan_a["scan_id"]
    assert await reach_total(client) == 1
    assert (await verify()).exact

    # Gate A's retry now hears the truth: already in since the earlier time, at B, in
    # the event's own clock (Shanghai), not UTC.
    retried = (await upload(client, door, event["id"], [scan_a]))["answers"][0]
    wall = early.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    assert retried["verdict"] == "already_admitted" and retried["conflict"] is True
    assert retried["message"] == f"Already admitted at {wall}, gate B: Li Wei"
    # An online scan afterwards says the same.
    online = await client.post(
        CHECKINS, json={"event_id": event["id"], "gate": "C", "code": ticket.code}, headers=door
    )
    assert online.json()["message"] == retried["message"]
    # A third, later offline entry: one more conflict, still one admission.
    third = await upload(client, gate_b, event["id"], [entry(ticket.code, "D", ago(10))])
    assert third["answers"][0]["conflict"] is True and third["conflicts"] == 1
    assert await CheckinConflict.all().count() == 2
    assert await Admission.all().count() == 1 and await reach_total(client) == 1
    # The first admission's scan, if retried alone, is a conflict now (and stays one).
    assert (await upload(client, gate_b, event["id"], [scan_b]))["answers"][0]["verdict"] == (
        "admitted"
    )


async def test_an_earlier_offline_entry_moves_the_reach_to_its_day_and_kind(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    summit = await event_now(client, admin)
    contest = await event_now(client, admin, kind="competition")
    a = await ticket_for(app, client, summit, await link_for(client, admin, summit), 1)
    b = await ticket_for(app, client, contest, await link_for(client, admin, contest), 1)
    await upload(client, door, summit["id"], [entry(a.code, "A", ago(20))])
    await upload(client, door, contest["id"], [entry(b.code, "A", ago(30))])
    reach = (await client.get("/api/v1/reach")).json()
    assert reach["by_event_kind"] == {"competition": 1}
    # The summit's admission was in fact at 40 minutes ago: the person was first
    # reached at the summit.
    await upload(client, door, summit["id"], [entry(a.code, "B", ago(40))])
    reach = (await client.get("/api/v1/reach")).json()
    assert reach["talents_reached"] == 1 and reach["by_event_kind"] == {"summit": 1}
    assert (await verify()).exact


async def test_conflicts_are_listed_and_reviewed(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, login_as: LoginAs
) -> None:
    event = await event_now(client, admin)
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1,
                              name="Li Wei")  # fmt: skip
    await upload(client, door, event["id"], [entry(ticket.code, "A", ago(20))])
    await upload(client, door, event["id"], [entry(ticket.code, "B", ago(10))])
    path = f"/api/v1/events/{event['id']}/checkin-conflicts"

    (listed,) = (await client.get(path, params={"reviewed": "false"}, headers=door)).json()
    assert listed["name"] == "Li Wei" and listed["gate"] == "B"
    assert listed["admission_gate"] == "A" and listed["reviewed_at"] is None
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=await login_as("judge"))).status_code == 403

    reviewer = await login_as("staff")
    reviewed = await client.post(f"/api/v1/checkin-conflicts/{listed['id']}/review",
                                 headers=reviewer)  # fmt: skip
    assert reviewed.status_code == 200 and reviewed.json()["reviewed_at"] is not None
    # A second review keeps the first reviewer.
    again = await client.post(f"/api/v1/checkin-conflicts/{listed['id']}/review", headers=door)
    assert again.json()["reviewed_by_id"] == reviewed.json()["reviewed_by_id"]
    assert (await client.get(path, params={"reviewed": "false"}, headers=door)).json() == []
    assert len((await client.get(path, params={"reviewed": "true"}, headers=door)).json()) == 1
    missing = await client.post("/api/v1/checkin-conflicts/999999/review", headers=door)
    assert missing.status_code == 404
    no_event = await client.get("/api/v1/events/999999/checkin-conflicts", headers=door)
    assert no_event.status_code == 404


async def test_door_staff_undo_their_own_admission_within_five_minutes(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, login_as: LoginAs
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    mine, old, theirs, any_ = [await ticket_for(app, client, event, slug, n) for n in range(4)]
    other = await login_as("staff")
    for headers, ticket, at in ((door, mine, ago(1)), (door, old, ago(10)),
                                (other, theirs, ago(1)), (door, any_, ago(60))):  # fmt: skip
        body = {"event_id": event["id"], "gate": "A", "code": ticket.code,
                "scanned_at": at.isoformat()}  # fmt: skip
        assert (await client.post(CHECKINS, json=body, headers=headers)).json()["verdict"] == (
            "admitted"
        )
    assert await reach_total(client) == 4

    def undo(ticket, headers):
        return client.delete(f"{CHECKINS}/{ticket.registration_id}", headers=headers)

    assert (await undo(mine, door)).status_code == 204
    late = await undo(old, door)
    assert late.status_code == 403 and "5 minutes" in late.json()["detail"]
    refused = await undo(theirs, door)
    assert refused.status_code == 403 and "organiser" in refused.json()["detail"]
    assert (await undo(any_, admin)).status_code == 204
    assert await Admission.all().count() == 2 and await reach_total(client) == 2
    # Logged, with who did it.
    logged = await ScanLog.filter(verdict="undone").values_list("staff_id", flat=True)
    assert len(logged) == 2
    assert (await verify()).exact


@pytest.mark.parametrize("devices", [4])
async def test_concurrent_devices_uploading_overlapping_batches_stay_exact(
    app: Litestar, client: httpx.AsyncClient, login_as: LoginAs, db: Backend, devices: int
) -> None:
    if db.name != "postgres":
        pytest.skip("concurrency: PostgreSQL")
    (event_id,), (codes,) = await bulk_tickets(app, people=200, events=1)
    staff = [await login_as("staff") for _ in range(devices)]
    # Every device scans 45 tickets of its own, and the same 20 shared ones (each
    # device at another time: device n at 20 + n minutes ago, so the last is earliest).
    shared = codes[:20]
    own = [codes[20 + n * 45 : 20 + (n + 1) * 45] for n in range(devices)]
    batches = []
    for n in range(devices):
        scans = [entry(code, f"G{n}", ago(30 - n - i / 100)) for i, code in enumerate(own[n])]
        scans += [entry(code, f"G{n}", ago(20 + n + i / 100)) for i, code in enumerate(shared)]
        batches.append(scans)

    async def device(n: int) -> list[dict]:
        answers = []
        scans = batches[n]
        for start in range(0, len(scans), 15):
            answers += (await upload(client, staff[n], event_id, scans[start : start + 15]))[
                "answers"
            ]
        return answers

    answers = [a for device_answers in await asyncio.gather(*(device(n) for n in range(devices)))
               for a in device_answers]  # fmt: skip

    distinct = len(shared) + sum(len(o) for o in own)
    assert await Admission.filter(event_id=event_id).count() == distinct
    assert await CheckinConflict.filter(event_id=event_id).count() == len(shared) * (devices - 1)
    assert (await client.get("/api/v1/reach")).json()["talents_reached"] == distinct
    assert (await verify()).exact
    assert Counter(a["verdict"] for a in answers)["refused"] == 0
    # The earliest scan of each shared ticket is its admission, whoever synced first.
    gates = {a.gate for a in await Admission.filter(registration_id__in=_ids(shared))}
    assert gates == {f"G{devices - 1}"}


def _ids(codes: list[str]) -> list[int]:
    return [int.from_bytes(b32decode(c + "=" * (-len(c) % 8))[1:5], "big") for c in codes]


async def test_the_console_event_form_allows_names_in_the_door_bundle(
    client: httpx.AsyncClient,
) -> None:
    from tests.console_helpers import log_in_to_pages, post_form
    from tests.test_console_events import FORM

    await log_in_to_pages(client, "admin")
    form = await client.get("/admin/events/new")
    assert 'name="door_names_offline"' in form.text
    created = await post_form(client, "/admin/events/new", {**FORM, "door_names_offline": "on"})
    assert created.status_code == 303, created.text
    event = await Event.get(title=FORM["title"])
    assert event.door_names_offline
    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert "door_names_offline" in edit.text
    changed = {**FORM, "door_names_offline": ""}
    del changed["kind"]
    saved = await post_form(client, f"/admin/events/{event.id}/edit", changed)
    assert saved.status_code == 303, saved.text
    assert not (await Event.get(id=event.id)).door_names_offline
