"""Request ids and structured logs (issue 21): every response and problem document
carries the request id; production logs are JSON lines without personal data."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from events_service.settings import new_signing_key_text
from tests.factories import attendee, make_event, make_link
from tests.server import cli_env, run_cli, server_process


def _server_logs(folder: Path) -> str:
    """What the server processes wrote (tests/server.py keeps it next to them)."""
    return "".join(p.read_text() for p in folder.glob("server-*.log"))


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.get("/health/live")
    assert len(generated.headers["x-request-id"]) >= 16
    again = await client.get("/health/live")
    assert again.headers["x-request-id"] != generated.headers["x-request-id"]

    # A sane id from the client (or the proxy) is kept, so logs join up across hops.
    given = await client.get("/health/live", headers={"X-Request-ID": "proxy-42.a_b"})
    assert given.headers["x-request-id"] == "proxy-42.a_b"

    # Too long or with odd characters: replaced, never echoed.
    for bad in ("x" * 65, "a b", "<script>", "é"):
        replaced = await client.get("/health/live", headers={"X-Request-ID": bad.encode()})
        assert replaced.headers["x-request-id"] not in (bad, "")
        assert all(c.isalnum() for c in replaced.headers["x-request-id"])


async def test_problem_documents_carry_the_request_id(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/events/99999", headers={"X-Request-ID": "trace-1"})
    assert missing.status_code in (401, 404)
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["request_id"] == "trace-1"
    assert missing.headers.get_list("x-request-id") == ["trace-1"]

    invalid = await client.post("/api/v1/register/nope", json={"email": 3})
    assert invalid.json()["request_id"] == invalid.headers["x-request-id"]
    assert len(invalid.headers.get_list("x-request-id")) == 1


async def test_production_logs_are_json_lines_without_the_attendees_email(
    server_database_url: str, tmp_path: Path
) -> None:
    env = cli_env(
        server_database_url,
        tmp_path,
        EVENTS_ENVIRONMENT="production",
        EVENTS_SECRET_KEY="s" * 48,
        EVENTS_PERSON_KEY_SECRET="p" * 48,
        EVENTS_SIGNING_KEY=new_signing_key_text(),
        EVENTS_SMTP_URL=f"file://{tmp_path / 'mail'}",
    )
    created = run_cli(
        "users", "create", "--email", "ops@example.org", "--role", "admin",
        "--password", "ops-password-long", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    email = "Wang.Fang+summit@example.org"
    with server_process(env, tmp_path) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            login = await http.post(
                "/api/v1/auth/login",
                json={"email": "ops@example.org", "password": "ops-password-long"},
            )
            http.cookies.clear()
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            event = await make_event(http, admin)
            link = await make_link(http, admin, event["id"])
            registered = await http.post(
                f"/api/v1/register/{link['slug']}",
                json=attendee(1, email=email, name="Wang Fang"),
                headers={"X-Request-ID": "reg-check-1"},
            )
            assert registered.status_code in (200, 201), registered.text
            me = await http.get("/api/v1/auth/me", headers=admin)
    logs = _server_logs(tmp_path)
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "events_service.access"]
    register_line = next(line for line in access if line["request_id"] == "reg-check-1")
    assert register_line["method"] == "POST"
    assert register_line["route"].startswith("/api/v1/register/")
    assert link["slug"] not in register_line["route"]
    assert register_line["status"] == registered.status_code
    assert register_line["duration_ms"] > 0
    staff_line = next(line for line in access if line["request_id"] == me.headers["x-request-id"])
    assert staff_line["staff_user_id"] == me.json()["id"]
    # No personal data anywhere in what the server logged.
    for text in (email, email.lower(), "Wang Fang", "Wang.Fang"):
        assert text not in logs
