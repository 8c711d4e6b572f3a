"""Staff-side trust: what door staff see of attendees, sessions after a password
change, the jury's secrecy in public winner records, replayed scan ids."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from models import Admission, ScanLog, StaffUser
from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.conftest import PASSWORD, LoginAs
from tests.judging_helpers import API, closed_final_round, ok
from tests.server import cli_env, run_cli, server_process

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
CHECKINS = "/api/v1/checkins"
NEW_PASSWORD = "a brand new password"


async def _login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _scan(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: int, code: str
) -> httpx.Response:
    body = {"event_id": event_id, "gate": "A", "code": code, "scan_id": str(uuid.uuid4())}
    return await client.post(CHECKINS, json=body, headers=headers)


# ---- 2. a password change ends every session ----------------------------------------


async def test_changing_the_password_ends_every_session_of_the_account(
    app: Litestar, client: httpx.AsyncClient, admin: dict, login_as: LoginAs
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    tickets = [await ticket_for(app, client, event, slug, n) for n in range(3)]
    await login_as("staff", email="door@example.org")
    phone = await _login(client, "door@example.org")
    laptop = await _login(client, "door@example.org")
    assert (await _scan(client, laptop, event["id"], tickets[0].code)).status_code == 200

    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=phone,
    )
    assert changed.status_code == 204, changed.text

    # Both old tokens are out, on an ordinary route and on the scan's fast path.
    for old in (phone, laptop):
        me = await client.get(ME, headers=old)
        assert me.status_code == 401 and me.json()["type"] == "/problems/unauthorized"
        refused = await _scan(client, old, event["id"], tickets[1].code)
        assert refused.status_code == 401, refused.text
    assert (await client.post(LOGIN, json={"email": "door@example.org", "password": PASSWORD})
            ).status_code == 401  # fmt: skip
    fresh = await _login(client, "door@example.org", NEW_PASSWORD)
    assert (await client.get(ME, headers=fresh)).json()["email"] == "door@example.org"
    admitted = await _scan(client, fresh, event["id"], tickets[1].code)
    assert admitted.json()["verdict"] == "admitted"


async def test_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    staff = await login_as("staff", email="careful@example.org")
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=staff,
    )
    assert wrong.status_code == 401 and wrong.json()["type"] == "/problems/invalid-credentials"
    assert (await client.get(ME, headers=staff)).status_code == 200
    await _login(client, "careful@example.org")


async def test_an_admin_reset_ends_the_sessions_of_that_account_only(
    app: Litestar, client: httpx.AsyncClient, admin: dict, login_as: LoginAs
) -> None:
    event = await event_now(client, admin)
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1)
    staff = await login_as("staff", email="lost-phone@example.org")
    other = await login_as("staff", email="colleague@example.org")
    user = await StaffUser.get(email="lost-phone@example.org")

    reset = await client.patch(
        f"/api/v1/staff-users/{user.id}", json={"password": NEW_PASSWORD}, headers=admin
    )
    assert reset.status_code == 200, reset.text

    assert (await client.get(ME, headers=staff)).status_code == 401
    assert (await _scan(client, staff, event["id"], ticket.code)).status_code == 401
    assert (await client.get(ME, headers=other)).status_code == 200
    assert (await client.get(ME, headers=admin)).status_code == 200
    fresh = await _login(client, "lost-phone@example.org", NEW_PASSWORD)
    assert (await _scan(client, fresh, event["id"], ticket.code)).json()["verdict"] == "admitted"


async def test_reactivating_an_account_does_not_revive_its_old_tokens(
    client: httpx.AsyncClient, admin: dict, login_as: LoginAs
) -> None:
    staff = await login_as("staff", email="back@example.org")
    user = await StaffUser.get(email="back@example.org")
    url = f"/api/v1/staff-users/{user.id}"
    assert (await client.patch(url, json={"active": False}, headers=admin)).status_code == 200
    assert (await client.patch(url, json={"active": True}, headers=admin)).status_code == 200

    assert (await client.get(ME, headers=staff)).status_code == 401
    fresh = await _login(client, "back@example.org")
    assert (await client.get(ME, headers=fresh)).status_code == 200


# ---- 1. attendee look-up: no contact harvesting ------------------------------------


async def test_door_staff_see_masked_contacts_organisers_see_them_in_full(
    app: Litestar,
    client: httpx.AsyncClient,
    admin: dict,
    door: dict,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    contact = {"email": "zhang.wei@example.org", "phone": "+86 139 1234 1234"}
    await ticket_for(app, client, event, slug, 1, name="Zhang Wei", organisation="ACME", **contact)
    url = f"/api/v1/events/{event['id']}/attendees"

    with caplog.at_level(logging.INFO, logger="events_service.checkin.attendance"):
        # Found by name, or by the whole address or number (as the person says it).
        for query in ("zhang", " Zhang.Wei@example.org", "139 1234 1234"):
            found = await client.get(url, params={"q": query}, headers=door)
            assert found.status_code == 200, found.text
            (row,) = found.json()
            assert (row["name"], row["organisation"], row["status"]) == (
                "Zhang Wei", "ACME", "confirmed",
            )  # fmt: skip
            assert (row["email"], row["phone"]) == ("z***@example.org", "+86*******1234")
            assert "zhang.wei@" not in found.text and "139" not in found.text

        # A piece of an address or number finds nobody: no spelling it out by guesses.
        for piece in ("zhang.wei@exam", "1234 1234", "@example.org"):
            nothing = await client.get(url, params={"q": piece}, headers=door)
            assert nothing.status_code == 200 and nothing.json() == [], nothing.text

    full = (await client.get(url, params={"q": "zhang"}, headers=admin)).json()
    assert (full[0]["email"], full[0]["phone"]) == ("zhang.wei@example.org", "+8613912341234")

    # Each look-up is logged and recorded: who, which event, how many; never the text.
    logged = [r.getMessage() for r in caplog.records if "look-up" in r.getMessage()]
    door_id = (await client.get(ME, headers=door)).json()["id"]
    assert len(logged) == 3 + 3 + 1
    assert all(f"staff {door_id}" in m and f"event {event['id']}" in m for m in logged[:6])
    assert [m for m in logged if "1 result(s)" in m] == logged[:3] + logged[6:]
    assert not any("zhang" in m.casefold() or "1234" in m for m in logged)
    audit = await client.get(f"/api/v1/events/{event['id']}/lookups", headers=admin)
    assert audit.status_code == 200, audit.text
    entries = audit.json()  # newest first
    assert [(e["staff_id"], e["results"]) for e in entries][1:] == (
        [(door_id, 0)] * 3 + [(door_id, 1)] * 3
    )
    assert entries[0]["query_hash"] == entries[-1]["query_hash"]  # both asked "zhang"
    assert "zhang" not in audit.text.casefold() and "1234 1234" not in audit.text
    own = await client.get(f"/api/v1/events/{event['id']}/lookups", headers=door)
    assert own.status_code == 403


async def test_look_ups_are_rate_limited_per_staff_account(
    app: Litestar, client: httpx.AsyncClient, admin: dict, login_as: LoginAs
) -> None:
    event = await event_now(client, admin)
    url = f"/api/v1/events/{event['id']}/attendees"
    harvester = await login_as("staff")
    colleague = await login_as("staff")  # same client address, another account

    for n in range(app.state.settings.lookups_per_minute):
        assert (await client.get(url, params={"q": f"a{n}"}, headers=harvester)).status_code == 200
    refused = await client.get(url, params={"q": "b"}, headers=harvester)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "/problems/rate-limited"
    assert (await client.get(url, params={"q": "b"}, headers=colleague)).status_code == 200


# ---- 4. a used scan_id answers only the same scan ---------------------------------


async def test_a_reused_scan_id_with_another_code_or_event_is_refused(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    other_event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    genuine = await ticket_for(app, client, event, slug, 1, name="Li Wei")
    other = await ticket_for(app, client, event, slug, 2, name="Wang Fang")
    scan_id = str(uuid.uuid4())

    def body(**fields: object) -> dict:
        return {"event_id": event["id"], "gate": "A", "scan_id": scan_id, **fields}

    first = await client.post(CHECKINS, json=body(code=genuine.code), headers=door)
    assert first.json()["message"] == "Admitted: Li Wei"

    forged = genuine.code[:-4] + ("AAAA" if not genuine.code.endswith("AAAA") else "BBBB")
    for replay in (
        body(code=forged),  # the forged code that was let in as "Admitted: Li Wei"
        body(code=other.code),
        body(registration_id=other.registration_id),
        body(registration_id=genuine.registration_id),  # a look-up is another scan
        {**body(code=genuine.code), "event_id": other_event["id"]},
    ):
        refused = await client.post(CHECKINS, json=replay, headers=door)
        assert refused.status_code == 409, (replay, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"] == "/problems/scan-id-reused"
        assert "Li Wei" not in refused.text and "verdict" not in problem

    # The same scan retried still hears its own answer; nothing else was recorded.
    retried = await client.post(CHECKINS, json=body(code=genuine.code), headers=door)
    assert (retried.status_code, retried.json()["verdict"]) == (200, "admitted")
    assert await ScanLog.filter(scan_id=scan_id).count() == 1
    assert not await Admission.exists(registration_id=other.registration_id)
    fresh = await client.post(CHECKINS, json={**body(code=other.code), "scan_id": None},
                              headers=door)  # fmt: skip
    assert fresh.json()["verdict"] == "admitted"


async def test_a_reused_scan_id_of_a_look_up_admission_answers_only_that_registration(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    first, second = [await ticket_for(app, client, event, slug, n) for n in (1, 2)]
    body = {"event_id": event["id"], "gate": "desk", "scan_id": str(uuid.uuid4())}

    admitted = await client.post(
        CHECKINS, json={**body, "registration_id": first.registration_id}, headers=door
    )
    assert admitted.json()["verdict"] == "admitted"
    again = await client.post(
        CHECKINS, json={**body, "registration_id": first.registration_id}, headers=door
    )
    assert again.json()["verdict"] == "admitted"  # the retry of the same look-up
    for replay in ({"registration_id": second.registration_id}, {"code": first.code}):
        refused = await client.post(CHECKINS, json={**body, **replay}, headers=door)
        assert refused.status_code == 409 and refused.json()["type"] == "/problems/scan-id-reused"


# ---- 3. the jury's scores stay with the organisers --------------------------------


async def test_public_winners_show_results_and_hashes_not_the_judges_scores(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    published = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))
    client.cookies.clear()

    public = await client.get(f"{API}/winners", params={"event_id": setup.event_id})
    assert public.status_code == 200
    records = public.json()
    assert [(w["entry_id"], w["award_title"], w["rank"], w["final_score"], w["hash"])
            for w in records] == [
        (w["entry_id"], w["award_title"], w["rank"], w["final_score"], w["hash"])
        for w in published
    ]  # fmt: skip
    assert all(w["ruleset"]["criteria"] for w in records)
    assert all("scores_snapshot" not in w for w in records)
    assert "judge_id" not in public.text and "assignment_id" not in public.text
    assert "judge_id" not in (await client.get(f"{API}/winners")).text
    # The chain still covers the snapshots, and anyone can check it.
    verdict = ok(await client.get(f"{API}/winners/verify"))
    assert verdict["valid"] is True and verdict["records"] == len(published)

    page = await client.get(f"/winners/{published[0]['id']}/certificate")
    assert page.status_code == 200 and published[0]["hash"] in page.text
    assert "judge" not in page.text.casefold()

    # Organisers see the detail each record came from; judges and strangers do not.
    detail_url = f"{API}/competitions/{setup.event_id}/winners"
    detail = ok(await client.get(detail_url, headers=admin))
    assert [w["hash"] for w in detail] == [w["hash"] for w in published]
    judge_ids = {s["judge_id"] for s in detail[0]["scores_snapshot"]["scores"]}
    assert judge_ids == set(setup.judges)
    a_judge = next(iter(setup.judges.values()))
    assert (await client.get(detail_url, headers=a_judge)).status_code == 403
    client.cookies.clear()
    assert (await client.get(detail_url)).status_code == 401


def test_a_password_change_ends_sessions_in_every_worker_process(
    tmp_path: Path, server_database_url: str
) -> None:
    """Two server processes (as two workers or hosts), each with the old tokens
    verified and remembered in its per-process cache: after the change, neither
    lets them through. Requests alternate between them, so each one is asked."""
    env = cli_env(server_database_url, tmp_path)
    created = run_cli(
        "users", "create", "--email", "door@example.org", "--password", PASSWORD,
        "--role", "staff", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    scan = {"event_id": 999_999, "gate": "A", "code": "NOT-A-CODE"}

    def statuses(bases: list[str], tokens: list[dict[str, str]]) -> set[tuple[int, int]]:
        """(/me, scan) statuses of every token at every process."""
        return {
            (
                httpx.get(f"{base}{ME}", headers=headers, timeout=30).status_code,
                httpx.post(f"{base}{CHECKINS}", json=scan, headers=headers, timeout=30).status_code,
            )
            for base in bases
            for headers in tokens
        }

    with server_process(env, tmp_path) as first, server_process(env, tmp_path) as second:
        bases = [first, second]
        tokens = []
        for base in bases:
            login = httpx.post(
                f"{base}{LOGIN}", json={"email": "door@example.org", "password": PASSWORD}
            )
            tokens.append({"Authorization": f"Bearer {login.json()['access_token']}"})
        # Valid everywhere (no such event: 404 after the staff check), and cached.
        assert statuses(bases, tokens) == {(200, 404)}

        changed = httpx.post(
            f"{first}/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=tokens[0],
        )
        assert changed.status_code == 204, changed.text

        assert statuses(bases, tokens) == {(401, 401)}
        login = httpx.post(
            f"{second}{LOGIN}", json={"email": "door@example.org", "password": NEW_PASSWORD}
        )
        fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert statuses(bases, [fresh]) == {(200, 404)}
