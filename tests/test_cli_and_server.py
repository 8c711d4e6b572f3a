"""The real command and a real server process: what a newcomer and an operator do."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from events_service.settings import new_signing_key_text
from tests.server import cli_env, run_cli, server_process


def _printed_accounts(output: str) -> dict[str, tuple[str, str]]:
    """role -> (email, password) as `events-service demo` prints them."""
    found = re.findall(r"^\s+(\w+)\s+(\S+@\S+)\s+password: (\S+)$", output, re.MULTILINE)
    return {role: (email, password) for role, email, password in found}


def test_demo_then_serve_with_two_workers_logs_in_the_printed_accounts(
    tmp_path: Path, server_database_url: str
) -> None:
    env = cli_env(server_database_url, tmp_path)
    demo = run_cli("demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    accounts = _printed_accounts(demo.stdout)
    assert set(accounts) == {"admin", "staff", "judge"}
    assert "Internet + Auto Summit 2026" in demo.stdout

    # A second run keeps the data and still prints working credentials.
    again = run_cli("demo", env=env, cwd=tmp_path)
    assert again.returncode == 0 and "already there" in again.stdout
    assert _printed_accounts(again.stdout) == accounts

    with server_process(env, tmp_path, workers=2) as base, httpx.Client(base_url=base) as http:
        assert http.get("/health").json()["database"] == "ok"
        for role, (email, password) in accounts.items():
            login = http.post("/api/v1/auth/login", json={"email": email, "password": password})
            assert login.status_code == 200, login.text
            assert login.json()["roles"] == [role]
            token = login.json()["access_token"]
            http.cookies.clear()
            me = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["email"] == email
        paths = http.get("/schema/openapi.json").json()["paths"]
        assert {"/api/v1/auth/login", "/api/v1/staff-users", "/health"} <= set(paths)


def test_users_create_makes_an_account_that_can_log_in(
    tmp_path: Path, server_database_url: str
) -> None:
    env = cli_env(server_database_url, tmp_path)
    created = run_cli(
        "users", "create", "--email", "Door.A@Example.org", "--password", "door-a-password",
        "--role", "staff", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    duplicate = run_cli(
        "users", "create", "--email", "door.a@example.org", "--password", "door-a-password",
        "--role", "staff", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    bad_role = run_cli(
        "users", "create", "--email", "x@example.org", "--password", "long-enough-pw",
        "--role", "janitor", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert bad_role.returncode == 1 and "janitor" in bad_role.stderr

    with server_process(env, tmp_path) as base:
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": "door.a@example.org", "password": "door-a-password"},
        )
    assert login.status_code == 200 and login.json()["roles"] == ["staff"]


def test_production_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    env = cli_env(f"sqlite://{tmp_path / 'p.db'}", tmp_path, EVENTS_ENVIRONMENT="production")

    serve = run_cli("serve", "--port", "1", env=env, cwd=tmp_path)
    assert serve.returncode != 0
    assert "EVENTS_SECRET_KEY" in serve.stderr

    env["EVENTS_SECRET_KEY"] = "s" * 48
    serve = run_cli("serve", "--port", "1", env=env, cwd=tmp_path)
    assert serve.returncode != 0
    assert "EVENTS_SIGNING_KEY" in serve.stderr

    env["EVENTS_SIGNING_KEY"] = new_signing_key_text()
    serve = run_cli("serve", "--port", "1", env=env, cwd=tmp_path)
    assert serve.returncode != 0
    assert "EVENTS_PERSON_KEY_SECRET" in serve.stderr

    env["EVENTS_PERSON_KEY_SECRET"] = "p" * 48
    demo = run_cli("demo", env=env, cwd=tmp_path)
    assert demo.returncode == 2 and "production" in demo.stderr


def test_keys_prints_usable_production_secrets(tmp_path: Path) -> None:
    printed = run_cli("keys", env=cli_env("sqlite://unused.db", tmp_path), cwd=tmp_path)
    values = dict(line.split("=", 1) for line in printed.stdout.split())
    assert set(values) == {"EVENTS_SECRET_KEY", "EVENTS_SIGNING_KEY", "EVENTS_PERSON_KEY_SECRET"}
    env = cli_env(
        f"sqlite://{tmp_path / 'p.db'}", tmp_path, EVENTS_ENVIRONMENT="production", **values
    )
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
