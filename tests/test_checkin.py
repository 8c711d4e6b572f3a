"""Scanning at the door: verdicts staff can act on, logs, undo, attendance, look-up, reach."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from litestar import Litestar

from events_service.checkin.attendance import BUCKET, _bucket_start
from events_service.checkin.codes import issue_code
from events_service.programme.live import snapshot
from events_service.reach.counter import rebuild, verify
from models import (
    Admission,
    EventTally,
    Person,
    ProgrammeTally,
    Registration,
    ScanLog,
    StaffUser,
    TalentTally,
)
from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.conftest import LoginAs
from tests.factories import in_days, make_event

CHECKINS = "/api/v1/checkins"


async def scan(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: int, code: str, gate: str = "A",
    **extra: object,
) -> dict:  # fmt: skip
    response = await client.post(
        CHECKINS, json={"event_id": event_id, "gate": gate, "code": code, **extra}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def reach_total(client: httpx.AsyncClient) -> int:
    return (await client.get("/api/v1/reach")).json()["talents_reached"]


async def live_admitted(app: Litestar, *events: dict) -> list[int]:
    """Each event's admissions as the live dashboards are sent them."""
    figures = await snapshot(app.state.settings, {event["id"] for event in events})
    return [figures["events"][str(event["id"])]["admitted"] for event in events]


async def test_first_scan_admits_then_already_admitted_with_time_and_gate(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, "li", name="Li Wei", organisation="ACME")

    first = await scan(client, door, event["id"], ticket.code, gate="B")
    assert first["verdict"] == "admitted"
    assert first["attendee"] == {"name": "Li Wei", "organisation": "ACME"}
    assert first["gate"] == "B" and first["message"] == "Admitted: Li Wei"

    again = await scan(client, door, event["id"], ticket.code, gate="C")
    assert again["verdict"] == "already_admitted"
    assert again["gate"] == "B" and again["admitted_at"] == first["admitted_at"]
    # The time as the venue's clocks show it (the event is in Asia/Shanghai), not UTC.
    shanghai = datetime.fromisoformat(first["admitted_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert again["message"] == f"Already admitted at {shanghai:%H:%M}, gate B: Li Wei"
    assert await Admission.filter(registration_id=ticket.registration_id).count() == 1
    assert await reach_total(client) == 1


async def test_refusals_have_reasons_and_change_nothing(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin, capacity=1, waitlist_enabled=True)
    other = await event_now(client, admin, title="Smart Mobility Challenge")
    slug, other_slug = await link_for(client, admin, event), await link_for(client, admin, other)
    holder = await ticket_for(app, client, event, slug, 1)
    waiting = await ticket_for(app, client, event, slug, 2)
    elsewhere = await ticket_for(app, client, other, other_slug, 3)
    leaving = await ticket_for(app, client, other, other_slug, 4)
    # Ticket 4 is cancelled by its holder on the ticket page.
    registration = await Registration.get(id=leaving.registration_id)
    await client.post(f"/t/{registration.manage_token}/cancel")
    cancelled_code = issue_code(
        app.state.settings.signing_key, leaving.registration_id, other["id"]
    )

    flipped = holder.code[:10] + ("A" if holder.code[10] != "A" else "B") + holder.code[11:]
    foreign_key = issue_code(secrets.token_bytes(32), holder.registration_id, event["id"])
    cases = {
        "forged": (event["id"], flipped),
        "forged ": (event["id"], foreign_key),
        "unknown": (event["id"], "HTTPS://EXAMPLE.ORG/NOT-A-TICKET"),
        "unknown ": (event["id"], issue_code(app.state.settings.signing_key, 999_999, event["id"])),
        "wrong_event": (event["id"], elsewhere.code),
        "waitlisted": (event["id"], waiting.code),
        "cancelled": (other["id"], cancelled_code),
    }
    for expected, (event_id, code) in cases.items():
        answer = await scan(client, door, event_id, code)
        assert answer["verdict"] == expected.strip(), (expected, answer)
        assert answer["message"]
    assert (
        "Smart Mobility Challenge"
        in (await scan(client, door, event["id"], elsewhere.code))["message"]
    )

    assert await Admission.all().count() == 0
    assert await reach_total(client) == 0
    # Every scan is logged by hash; the code itself is never stored.
    logged = await ScanLog.all()
    assert len(logged) == len(cases) + 1
    assert hashlib.sha256(flipped.encode()).hexdigest() in {row.code_hash for row in logged}
    assert all(holder.code not in row.code_hash for row in logged)


async def test_not_open_outside_the_admission_window(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    later = await make_event(client, admin, starts_at=in_days(2), ends_at=in_days(2.3))
    window = await event_now(
        client, admin, checkin_opens_at=in_days(0.1), checkin_closes_at=in_days(0.2)
    )
    for event in (later, window):
        slug = await link_for(client, admin, event)
        ticket = await ticket_for(app, client, event, slug, event["id"])
        answer = await scan(client, door, event["id"], ticket.code)
        assert answer["verdict"] == "not_open"
        assert "doors open at" in answer["message"] and "UTC" not in answer["message"]
    assert await Admission.all().count() == 0


ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


async def test_a_chinese_door_hears_chinese_with_the_events_wall_clock(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    """The message follows the request's language (Accept-Language, or ?lang=); the
    verdict slug and the ISO time do not; times are the event's, not UTC."""
    event = await event_now(client, admin, timezone="Asia/Shanghai")
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, "li", name="Li Wei")
    # Admitted at a known instant: 09:57 UTC is 17:57 in Shanghai (UTC+8, no DST).
    at = (datetime.now(UTC) - timedelta(minutes=30)).replace(minute=57, second=0, microsecond=0)
    if at > datetime.now(UTC):
        at -= timedelta(hours=1)
    wall = (at + timedelta(hours=8)).strftime("%H:%M")
    assert wall != at.strftime("%H:%M")

    first = await scan(
        client, {**door, **ZH}, event["id"], ticket.code, gate="东", scanned_at=at.isoformat()
    )
    assert first["verdict"] == "admitted" and first["message"] == "准予入场：Li Wei"
    assert datetime.fromisoformat(first["admitted_at"]) == at

    chinese = await scan(client, {**door, **ZH}, event["id"], ticket.code)
    assert chinese["verdict"] == "already_admitted"
    assert chinese["admitted_at"] == first["admitted_at"] and chinese["gate"] == "东"
    assert chinese["message"] == f"已于 {wall} 从 东 入口入场：Li Wei"

    explicit = await client.post(
        f"{CHECKINS}?lang=zh-Hans",
        json={"event_id": event["id"], "gate": "A", "code": ticket.code},
        headers=door,
    )
    assert explicit.json()["message"] == chinese["message"]

    english = await scan(client, {**door, "Accept-Language": "en-GB"}, event["id"], ticket.code)
    assert english["verdict"] == "already_admitted"
    assert english["message"] == f"Already admitted at {wall}, gate 东: Li Wei"
    # No language asked for: the default (English).
    assert (await scan(client, door, event["id"], ticket.code))["message"] == english["message"]


async def test_refusals_and_not_open_reasons_in_chinese_in_the_events_timezone(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    opens = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=1, minute=30, second=0, microsecond=0
    )
    event = await make_event(
        client, admin, timezone="Asia/Shanghai", checkin_opens_at=opens.isoformat(),
        starts_at=(opens + timedelta(hours=1)).isoformat(),
        ends_at=(opens + timedelta(hours=5)).isoformat(),
    )  # fmt: skip
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1)
    local = opens.astimezone(ZoneInfo("Asia/Shanghai"))  # 09:30 in Shanghai

    chinese = await scan(client, {**door, **ZH}, event["id"], ticket.code)
    assert chinese["verdict"] == "not_open"
    assert chinese["message"] == (
        f"本场活动现在不能入场：{local.year}年{local.month}月{local.day}日 09:30 开始入场"
    )
    english = await scan(client, door, event["id"], ticket.code)
    assert english["message"] == (
        f"Not admitting now for this event: doors open at {local:%Y-%m-%d} 09:30"
    )

    forged = ticket.code[:10] + ("A" if ticket.code[10] != "A" else "B") + ticket.code[11:]
    answer = await scan(client, {**door, **ZH}, event["id"], forged)
    assert answer["verdict"] == "forged"
    assert answer["message"] == "伪造的票码：不得放行。请联系现场负责人。"
    unknown = await scan(client, {**door, **ZH}, event["id"], "HTTPS://EXAMPLE.ORG/X")
    assert unknown["verdict"] == "unknown" and "不是本系统的门票" in unknown["message"]

    # A malformed request's problem document speaks the language too.
    refused = await client.post(
        CHECKINS, json={"event_id": event["id"], "gate": "A"}, headers={**door, **ZH}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == "请发送扫描到的票码或 registration_id，二者只能选其一。"
    missing = await client.post(
        CHECKINS, json={"event_id": 987_654, "gate": "A", "code": ticket.code},
        headers={**door, **ZH},
    )  # fmt: skip
    assert missing.status_code == 404 and missing.json()["detail"] == "没有编号为 987654 的活动。"


async def test_scan_id_makes_a_retry_idempotent(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1)
    scan_id = str(uuid.uuid4())

    first = await scan(client, door, event["id"], ticket.code, scan_id=scan_id)
    retried = await scan(client, door, event["id"], ticket.code, scan_id=scan_id)

    # The retry hears the same answer as the lost response: "admitted", not "already".
    assert first["verdict"] == retried["verdict"] == "admitted"
    assert retried["admitted_at"] == first["admitted_at"]
    assert await ScanLog.filter(scan_id=scan_id).count() == 1
    assert (await scan(client, door, event["id"], ticket.code))["verdict"] == "already_admitted"


async def test_offline_scan_keeps_its_time(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1)
    earlier = (datetime.now(UTC) - timedelta(minutes=20)).replace(microsecond=0)

    answer = await scan(client, door, event["id"], ticket.code, scanned_at=earlier.isoformat())

    assert datetime.fromisoformat(answer["admitted_at"]) == earlier


async def test_admit_by_look_up_follows_the_same_rules(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    await ticket_for(app, client, event, slug, 1, name="Wang Fang", phone="139 1234 5678")
    await ticket_for(app, client, event, slug, 2, name="Zhang Wei")

    # By name, or by the whole address or number (door staff cannot search by pieces).
    for query in ("wang", "ATTENDEE1@example.org", "139 1234 5678"):
        found = await client.get(
            f"/api/v1/events/{event['id']}/attendees", params={"q": query}, headers=door
        )
        assert [row["name"] for row in found.json()] == ["Wang Fang"], query
    registration_id = found.json()[0]["registration_id"]

    body = {"event_id": event["id"], "gate": "desk", "registration_id": registration_id}
    first = (await client.post(CHECKINS, json=body, headers=door)).json()
    second = (await client.post(CHECKINS, json=body, headers=door)).json()
    assert (first["verdict"], second["verdict"]) == ("admitted", "already_admitted")
    found = await client.get(
        f"/api/v1/events/{event['id']}/attendees", params={"q": "wang"}, headers=door
    )
    assert found.json()[0]["gate"] == "desk"


async def test_a_late_offline_scan_that_came_first_moves_the_person_to_it(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    """An offline scanner uploads, after the person was admitted elsewhere, a scan made
    earlier: the person is still one talent, now counted where they came first."""
    summit = await event_now(client, admin)
    contest = await event_now(client, admin, kind="competition")
    at_summit = await ticket_for(app, client, summit, await link_for(client, admin, summit), 1)
    at_contest = await ticket_for(app, client, contest, await link_for(client, admin, contest), 1)
    await scan(client, door, contest["id"], at_contest.code)
    earlier = (datetime.now(UTC) - timedelta(minutes=20)).replace(microsecond=0)

    late = await scan(client, door, summit["id"], at_summit.code, scanned_at=earlier.isoformat())

    assert late["verdict"] == "admitted"
    reach = (await client.get("/api/v1/reach")).json()
    assert reach["talents_reached"] == 1 and reach["by_event_kind"] == {"summit": 1}
    assert (await Person.get(email="attendee1@example.org")).first_admitted_at == earlier
    assert (await verify()).exact


async def test_undo_keeps_the_reach_exact(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, login_as: LoginAs
) -> None:
    summit = await event_now(client, admin)
    contest = await event_now(client, admin, kind="competition")
    a = await ticket_for(app, client, summit, await link_for(client, admin, summit), 1)
    b = await ticket_for(app, client, contest, await link_for(client, admin, contest), 1)
    await scan(client, door, summit["id"], a.code)
    await scan(client, door, contest["id"], b.code)
    reach = (await client.get("/api/v1/reach")).json()
    assert reach["talents_reached"] == 1 and reach["by_event_kind"] == {"summit": 1}
    assert await live_admitted(app, summit, contest) == [1, 1]

    # Door staff undo only their own admissions (tests/test_door_sync.py): not another's.
    other_door = await login_as("staff")
    assert (
        await client.delete(f"{CHECKINS}/{a.registration_id}", headers=other_door)
    ).status_code == 403
    assert (
        await client.delete(f"{CHECKINS}/{a.registration_id}", headers=admin)
    ).status_code == 204
    # Still reached, now through the competition.
    reach = (await client.get("/api/v1/reach")).json()
    assert reach["talents_reached"] == 1 and reach["by_event_kind"] == {"competition": 1}
    assert await live_admitted(app, summit, contest) == [0, 1]
    await client.delete(f"{CHECKINS}/{b.registration_id}", headers=admin)
    assert await reach_total(client) == 0
    assert await live_admitted(app, summit, contest) == [0, 0]
    assert (await Person.get(email="attendee1@example.org")).first_admitted_at is None
    assert (await verify()).exact
    assert (
        await client.delete(f"{CHECKINS}/{b.registration_id}", headers=admin)
    ).status_code == 404
    assert await ScanLog.filter(verdict="undone").count() == 2
    # Admitted again after the undo.
    assert (await scan(client, door, summit["id"], a.code))["verdict"] == "admitted"
    assert await reach_total(client) == 1


async def test_reach_is_public_and_counts_people_not_admissions(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    first = await event_now(client, admin)
    second = await event_now(client, admin)
    for n in range(3):
        t1 = await ticket_for(app, client, first, await link_for(client, admin, first), n)
        await scan(client, door, first["id"], t1.code)
    t2 = await ticket_for(app, client, second, await link_for(client, admin, second), 0)
    await scan(client, door, second["id"], t2.code)

    client.cookies.clear()
    reach = (await client.get("/api/v1/reach")).json()
    month = datetime.now(UTC).strftime("%Y-%m")
    assert reach == {
        "talents_reached": 3,
        "goal": 7200,
        "percent": round(300 / 7200, 2),
        "by_event_kind": {"summit": 3},
        "by_month": {month: 3},
    }


async def test_verify_finds_drift_and_rebuild_repairs_it(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    for n in range(3):
        ticket = await ticket_for(app, client, event, await link_for(client, admin, event), n)
        await scan(client, door, event["id"], ticket.code)
    assert (await verify()).exact

    await ProgrammeTally.all().update(talents=0)
    await EventTally.filter(event_id=event["id"]).delete()
    await TalentTally.all().update(talents=7)
    await Person.filter(email="attendee0@example.org").update(first_admitted_at=None)
    drift = await verify()
    assert not drift.exact and drift.counted.total == 0 and drift.actual.total == 3
    assert drift.counted.admitted_by_event == {}
    assert drift.actual.admitted_by_event == {event["id"]: 3}
    assert sum(drift.counted.by_event_kind.values()) > sum(drift.actual.by_event_kind.values())
    assert drift.people_off == 1

    await rebuild()
    assert (await verify()).exact
    assert await reach_total(client) == 3
    assert await live_admitted(app, event) == [3]


async def test_attendance_per_gate_and_per_five_minutes(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin, capacity=10, waitlist_enabled=True)
    slug = await link_for(client, admin, event)
    tickets = [await ticket_for(app, client, event, slug, n) for n in range(4)]
    base = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    base = base.replace(minute=base.minute - base.minute % 5)
    await scan(client, door, event["id"], tickets[0].code, gate="A", scanned_at=base.isoformat())
    later = (base + timedelta(minutes=6)).isoformat()
    await scan(client, door, event["id"], tickets[1].code, gate="A", scanned_at=later)
    await scan(client, door, event["id"], tickets[2].code, gate="B", scanned_at=later)

    figures = (await client.get(f"/api/v1/events/{event['id']}/attendance", headers=door)).json()

    assert (figures["registered"], figures["admitted"], figures["not_yet_admitted"]) == (4, 3, 1)
    assert figures["by_gate"] == [{"gate": "A", "admitted": 2}, {"gate": "B", "admitted": 1}]
    assert [b["admitted"] for b in figures["by_5_minutes"]] == [1, 2]
    assert datetime.fromisoformat(figures["by_5_minutes"][0]["starts_at"]) == base


@pytest.mark.parametrize(
    ("moment", "start"),
    [
        (datetime(2026, 3, 1, 9, 0, tzinfo=UTC), datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
        (
            datetime(2026, 3, 1, 9, 4, 59, 999999, tzinfo=UTC),
            datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        ),
        (datetime(2026, 3, 1, 9, 5, tzinfo=UTC), datetime(2026, 3, 1, 9, 5, tzinfo=UTC)),
        (datetime(2026, 3, 1, 9, 57, 30, tzinfo=UTC), datetime(2026, 3, 1, 9, 55, tzinfo=UTC)),
        # Across an hour boundary (and a day's): the slot before the hour stays before it.
        (datetime(2026, 3, 1, 9, 59, 59, tzinfo=UTC), datetime(2026, 3, 1, 9, 55, tzinfo=UTC)),
        (datetime(2026, 3, 1, 10, 0, 1, tzinfo=UTC), datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        (datetime(2026, 3, 1, 23, 58, tzinfo=UTC), datetime(2026, 3, 1, 23, 55, tzinfo=UTC)),
        # Another offset is counted in UTC: 11:03 at +02:00 is 09:03 UTC.
        (
            datetime(2026, 3, 1, 11, 3, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        ),
        # An offset that is not a whole number of buckets: 10:02 at +05:45 is 04:17 UTC.
        (
            datetime(2026, 3, 1, 10, 2, tzinfo=timezone(timedelta(hours=5, minutes=45))),
            datetime(2026, 3, 1, 4, 15, tzinfo=UTC),
        ),
    ],
)
def test_bucket_start_is_the_five_minute_slot_in_utc(moment: datetime, start: datetime) -> None:
    got = _bucket_start(moment)
    assert BUCKET == timedelta(minutes=5)
    assert got == start
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"gate": "A", "code": "X"}, 400),  # no event
        ({"event_id": 1, "code": "X"}, 400),  # no gate
        ({"event_id": 1, "gate": "", "code": "X"}, 400),
        ({"event_id": 1, "gate": "A"}, 422),  # neither code nor registration
        ({"event_id": 1, "gate": "A", "code": "X", "registration_id": 1}, 422),
        ({"event_id": "one", "gate": "A", "code": "X"}, 400),
        ({"event_id": 1, "gate": "A", "code": "X" * 401}, 400),
        ({"event_id": 1, "gate": "A", "code": "X", "scanned_at": "2026-01-01T00:00:00"}, 422),
        ({"event_id": 1, "gate": "A", "code": "X", "scanned_at": in_days(1)}, 422),
        ({"event_id": 424242, "gate": "A", "code": "X"}, 404),
    ],
)
async def test_malformed_scans_are_4xx_problems(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, body: dict, status: int
) -> None:
    event = await event_now(client, admin)
    if body.get("event_id") == 1:
        body = {**body, "event_id": event["id"]}
    response = await client.post(CHECKINS, json=body, headers=door)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await ScanLog.all().count() == 0


async def test_only_door_staff_and_admins_scan(
    app: Litestar, client: httpx.AsyncClient, admin: dict, login_as: LoginAs
) -> None:
    event = await event_now(client, admin)
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1)
    judge = await login_as("judge")
    body = {"event_id": event["id"], "gate": "A", "code": ticket.code}
    assert (await client.post(CHECKINS, json=body, headers=judge)).status_code == 403
    client.cookies.clear()
    assert (await client.post(CHECKINS, json=body)).status_code == 401
    lookup = f"/api/v1/events/{event['id']}/attendees"
    assert (await client.get(lookup, params={"q": "x"}, headers=judge)).status_code == 403
    assert (await client.post(CHECKINS, json=body, headers=admin)).json()["verdict"] == "admitted"


async def _scan_status(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: int, code: str
) -> httpx.Response:
    return await client.post(
        CHECKINS,
        json={"event_id": event_id, "gate": "A", "code": code, "scan_id": str(uuid.uuid4())},
        headers=headers,
    )


async def test_scan_refuses_logged_out_deactivated_and_demoted_staff_before_writing(
    app: Litestar, client: httpx.AsyncClient, admin: dict, login_as: LoginAs
) -> None:
    """The scan route checks its staff member in its own first statement, not in a
    separate look-up: the same refusals must hold, at once, with nothing written."""
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, "x")
    logged_out = await login_as("staff", email="out@example.org")
    leaver = await login_as("staff", email="leaver@example.org")
    demoted = await login_as("staff", email="demoted@example.org")
    judge = await login_as("judge", email="judge@example.org")
    # Each token works for a scan first (a refused scan is logged, nothing admitted).
    for headers in (logged_out, leaver, demoted):
        first = await _scan_status(client, headers, event["id"], "not a code")
        assert first.status_code == 200 and first.json()["verdict"] == "unknown"
    logs_before = await ScanLog.all().count()

    assert (await client.post("/api/v1/auth/logout", headers=logged_out)).status_code == 204
    users = "/api/v1/staff-users"
    gone = await StaffUser.get(email="leaver@example.org")
    patched = await client.patch(f"{users}/{gone.id}", json={"active": False}, headers=admin)
    assert patched.status_code == 200
    moved = await StaffUser.get(email="demoted@example.org")
    patched = await client.patch(f"{users}/{moved.id}", json={"roles": ["judge"]}, headers=admin)
    assert patched.status_code == 200

    for headers, status, problem in [
        (logged_out, 401, "/problems/unauthorized"),
        (leaver, 401, "/problems/unauthorized"),
        (demoted, 403, "/problems/forbidden"),
        (judge, 403, "/problems/forbidden"),
        ({"Authorization": "Bearer not.a.token"}, 401, "/problems/unauthorized"),
    ]:
        refused = await _scan_status(client, headers, event["id"], ticket.code)
        assert refused.status_code == status, refused.text
        assert refused.json()["type"] == problem
    assert await ScanLog.all().count() == logs_before
    assert await Admission.filter(registration_id=ticket.registration_id).count() == 0

    # Promotion bites at once too: the judge made door staff may scan with the old token.
    promoted = await StaffUser.get(email="judge@example.org")
    await client.patch(f"{users}/{promoted.id}", json={"roles": ["staff"]}, headers=admin)
    admitted = await _scan_status(client, judge, event["id"], ticket.code)
    assert admitted.status_code == 200 and admitted.json()["verdict"] == "admitted"
    log = await ScanLog.get(registration_id=ticket.registration_id, verdict="admitted")
    assert log.staff_id == promoted.id
