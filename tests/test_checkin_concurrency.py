"""Door invariants under many concurrent scans (DESIGN.md: one admission per ticket,
reach is exact). Scans go over HTTP all at once; the last test drives a two-worker
server process."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar

from events_service.identity import organisation_key
from events_service.privacy.keys import person_key
from events_service.programme.live import snapshot
from events_service.reach.counter import verify
from events_service.registration.service import new_manage_token
from events_service.registration.statements import REGISTER_PG
from models import Admission, Person, Registration, RegistrationLink, ScanLog
from tests.checkin_helpers import bulk_tickets, event_now, link_for, ticket_for
from tests.conftest import Backend, _asyncpg_dsn
from tests.factories import token_of
from tests.pg_waits import wait_for_lock_waiters
from tests.server import cli_env, run_cli, server_process

CHECKINS = "/api/v1/checkins"


def _scan(client: httpx.AsyncClient, headers: dict, event_id: int, code: str, gate: str):
    return client.post(
        CHECKINS, json={"event_id": event_id, "gate": gate, "code": code}, headers=headers
    )


async def test_200_scans_of_one_ticket_from_4_gates_admit_once(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1)

    answers = await asyncio.gather(
        *(_scan(client, door, event["id"], ticket.code, f"gate {n % 4}") for n in range(200))
    )

    verdicts = [a.json() for a in answers]
    assert Counter(v["verdict"] for v in verdicts) == {"admitted": 1, "already_admitted": 199}
    (winner,) = [v for v in verdicts if v["verdict"] == "admitted"]
    # Every other door hears when and where the one admission happened.
    assert {(v["gate"], v["admitted_at"]) for v in verdicts} == {
        (winner["gate"], winner["admitted_at"])
    }
    assert await Admission.all().count() == 1
    assert (await client.get("/api/v1/reach")).json()["talents_reached"] == 1


async def test_a_scan_retried_at_once_by_a_flaky_phone_is_answered_alike(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, db: Backend
) -> None:
    """The same scan_id sent several times at once (a phone on bad Wi-Fi retrying):
    one admission, one log line, and every retry hears the first answer, not a 500."""
    event = await event_now(client, admin)
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1)
    body = {"event_id": event["id"], "gate": "gate 1", "code": ticket.code,
            "scan_id": "retry-0123456789"}  # fmt: skip
    retries = 4  # within the test pool's five connections: all of them in flight at once

    async def send_all() -> list[httpx.Response]:
        sends = [asyncio.create_task(client.post(CHECKINS, json=body, headers=door))
                 for _ in range(retries)]  # fmt: skip
        if db.name == "postgres":
            # Every retry passes its look-up and queues: the first on the person's
            # row, the others behind its uncommitted admission, so that all but one
            # of them collide with the first one's log line once the person is free.
            await wait_for_lock_waiters(db.database_url, retries)
            assert not any(send.done() for send in sends)
            await holding.commit()
        return await asyncio.wait_for(asyncio.gather(*sends), timeout=10)

    if db.name == "postgres":
        holder = await asyncpg.connect(_asyncpg_dsn(db.database_url))
        try:
            holding = holder.transaction()
            await holding.start()
            await holder.execute("SELECT 1 FROM person FOR NO KEY UPDATE")
            answers = await send_all()
        finally:
            await holder.close()
    else:
        answers = await send_all()

    assert {a.status_code for a in answers} == {200}
    verdicts = [a.json() for a in answers]
    assert {v["verdict"] for v in verdicts} == {"admitted"}
    assert len({(v["gate"], v["admitted_at"]) for v in verdicts}) == 1
    assert await Admission.all().count() == 1
    assert await ScanLog.filter(scan_id="retry-0123456789").count() == 1
    assert (await client.get("/api/v1/reach")).json()["talents_reached"] == 1


async def test_1000_people_admitted_at_two_events_at_once_count_1000(
    app: Litestar, client: httpx.AsyncClient, door: dict
) -> None:
    events, codes = await bulk_tickets(app, people=1000, events=2)

    answers = await asyncio.gather(
        *(
            _scan(client, door, event_id, code, "main")
            for pair in zip(codes[0], codes[1], strict=True)
            for event_id, code in zip(events, pair, strict=True)
        )
    )

    assert Counter(a.json()["verdict"] for a in answers) == {"admitted": 2000}
    reach = (await client.get("/api/v1/reach")).json()
    distinct = len(set(await Admission.all().values_list("person_id", flat=True)))
    assert reach["talents_reached"] == 1000 == distinct
    assert await Person.filter(first_admitted_at__isnull=False).count() == 1000
    assert sum(reach["by_event_kind"].values()) == 1000
    live = await snapshot(app.state.settings, set(events))
    assert [live["events"][str(e)]["admitted"] for e in events] == [1000, 1000]
    assert (await verify()).exact


async def test_undo_racing_admissions_of_the_same_people_stays_exact(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    events, codes = await bulk_tickets(app, people=100, events=2)
    await asyncio.gather(*(_scan(client, door, events[0], code, "A") for code in codes[0]))
    admitted = await Admission.filter(event_id=events[0]).values_list("registration_id", flat=True)

    # Undo every admission at the first event while the same people enter the second.
    await asyncio.gather(
        *(client.delete(f"{CHECKINS}/{rid}", headers=admin) for rid in admitted),
        *(_scan(client, door, events[1], code, "B") for code in codes[1]),
    )

    assert await Admission.filter(event_id=events[0]).count() == 0
    assert (await client.get("/api/v1/reach")).json()["talents_reached"] == 100
    assert (await verify()).exact


async def test_an_undo_committed_during_a_scan_leaves_the_person_counted(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, db: Backend
) -> None:
    """The interleaving behind a rare miss under load: the scan's snapshot still sees
    the person reached (through the admission being undone), the undo then unmarks
    them and commits, and only then does the scan get the person's row."""
    if db.name != "postgres":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    events, codes = await bulk_tickets(app, people=1, events=2)
    await _scan(client, door, events[0], codes[0][0], "A")
    (undone,) = await Admission.filter(event_id=events[0]).values_list("registration_id", flat=True)
    person = await Person.get()
    holder = await asyncpg.connect(_asyncpg_dsn(db.database_url))
    try:
        holding = holder.transaction()
        await holding.start()
        await holder.execute("SELECT 1 FROM person WHERE id = $1 FOR NO KEY UPDATE", person.id)
        undo = asyncio.create_task(client.delete(f"{CHECKINS}/{undone}", headers=admin))
        # The undo now queues first for the person...
        (undoing,) = await wait_for_lock_waiters(db.database_url, 1)
        assert "FOR NO KEY UPDATE" in undoing and "WITH admitted" not in undoing
        scan = asyncio.create_task(_scan(client, door, events[1], codes[1][0], "B"))
        # ...and the scan, its statement's snapshot taken (the person still marked),
        # queues second for the same row.
        waiting = await wait_for_lock_waiters(db.database_url, 2)
        assert sum("WITH admitted" in query for query in waiting) == 1
        assert not undo.done() and not scan.done()
        await holding.commit()
        undid, admitted = await asyncio.wait_for(asyncio.gather(undo, scan), timeout=10)
    finally:
        await holder.close()

    assert undid.status_code == 204
    assert admitted.json()["verdict"] == "admitted"
    assert (await client.get("/api/v1/reach")).json()["talents_reached"] == 1
    assert (await Person.get(id=person.id)).first_admitted_at is not None
    assert (await verify()).exact


async def test_forged_wrong_and_cancelled_scans_at_once_admit_nobody(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    other = await event_now(client, admin)
    ticket = await ticket_for(app, client, other, await link_for(client, admin, other), 1)
    forged = ticket.code[:-3] + ("AAA" if not ticket.code.endswith("AAA") else "BBB")

    answers = await asyncio.gather(
        *(_scan(client, door, event["id"], forged, "A") for _ in range(50)),
        *(_scan(client, door, event["id"], ticket.code, "A") for _ in range(50)),
    )

    assert Counter(a.json()["verdict"] for a in answers) == {"forged": 50, "wrong_event": 50}
    assert await Admission.all().count() == 0
    assert (await client.get("/api/v1/reach")).json()["talents_reached"] == 0


async def test_a_registration_in_progress_does_not_hold_up_the_door(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, db: Backend
) -> None:
    """People still registering at the door must not stall the scanner: the lock a
    registration takes on the event's row leaves the admission's foreign-key check free."""
    if db.name != "postgres":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, 1)
    link = await RegistrationLink.get(slug=slug)
    registering = await asyncpg.connect(_asyncpg_dsn(db.database_url))
    try:
        # The real statement, held open in a transaction: its locks stay taken.
        in_progress = registering.transaction()
        await in_progress.start()
        values = ["late@example.org", "Late Comer", None, None, "Tongji Motors",
                  organisation_key("Tongji Motors"), "en", datetime.now(UTC), event["id"],
                  link.id, new_manage_token(), True, person_key("late@example.org")]  # fmt: skip
        (row,) = await registering.fetch(REGISTER_PG.postgres, *values)
        assert row["status"] == "confirmed"

        answer = await asyncio.wait_for(
            _scan(client, door, event["id"], ticket.code, "A"), timeout=5
        )

        assert answer.json()["verdict"] == "admitted"
        await in_progress.rollback()
    finally:
        await registering.close()
    assert await Admission.filter(registration_id=ticket.registration_id).count() == 1
    assert await Registration.filter(event_id=event["id"]).count() == 1


def test_two_worker_server_admits_a_ticket_once(tmp_path: Path, server_database_url: str) -> None:
    env = cli_env(server_database_url, tmp_path, EVENTS_REGISTRATIONS_PER_MINUTE="100000")
    assert run_cli(
        "users", "create", "--email", "door@example.org", "--password", "door-password",
        "--role", "admin", env=env, cwd=tmp_path,
    ).returncode == 0  # fmt: skip

    async def scenario(base: str) -> Counter[str]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            login = await http.post(
                "/api/v1/auth/login",
                json={"email": "door@example.org", "password": "door-password"},
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            http.cookies.clear()
            event = await event_now(http, headers)
            slug = await link_for(http, headers, event)
            registration = (
                await http.post(
                    f"/api/v1/register/{slug}",
                    json={"name": "Li Wei", "email": "li@example.org", "consent": True},
                )
            ).json()
            # The ticket page's QR encodes the code; read it back the way a scanner would.
            import io

            import zxingcpp
            from PIL import Image

            png = await http.get(f"/t/{token_of(registration)}/qr.png")
            code = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))[0].text
            answers = await asyncio.gather(
                *(_scan(http, headers, event["id"], code, f"gate {n % 4}") for n in range(100))
            )
            return Counter(a.json()["verdict"] for a in answers)

    with server_process(env, tmp_path, workers=2) as base:
        verdicts = asyncio.run(scenario(base))

    assert verdicts == {"admitted": 1, "already_admitted": 99}
