"""Rate limits hold across processes and hosts when Redis is configured."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from tests.server import cli_env, run_cli, server_process
from tests.test_dashboard_live import redis_url

LIMIT = 3
ATTEMPTS = 12


def test_two_processes_share_one_login_limit_through_redis(tmp_path: Path) -> None:
    url = redis_url()
    # A clean count for this limiter (the key is the client address, 127.0.0.1).
    client = redis.Redis.from_url(url)
    for key in client.scan_iter("events_rate_limit_login:*"):
        client.delete(key)
    env = cli_env(
        f"sqlite://{tmp_path / 'limits.db'}",
        tmp_path,
        EVENTS_REDIS_URL=url,
        EVENTS_LOGIN_ATTEMPTS_PER_MINUTE=str(LIMIT),
    )
    migrated = run_cli("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr

    body = {"email": "x@example.org", "password": "wrong"}
    # Two processes (as two hosts behind a proxy would be), taking turns: which one
    # answers is then certain, where workers of one server share a socket unevenly.
    with server_process(env, tmp_path) as first, server_process(env, tmp_path) as second:
        statuses = [
            httpx.post(f"{base}/api/v1/auth/login", json=body, timeout=30).status_code
            for base in [first, second] * (ATTEMPTS // 2)
        ]

    # In memory, each of the two processes would have let LIMIT through.
    assert statuses.count(401) == LIMIT, statuses
    assert statuses.count(429) == ATTEMPTS - LIMIT, statuses
