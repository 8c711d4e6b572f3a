"""Rate limits hold across processes and hosts when Redis is configured."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis

from tests.server import cli_env, run_cli, server_process
from tests.tcp_proxy import Mode, tcp_proxy
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


def test_a_redis_outage_is_a_503_problem_not_a_500(tmp_path: Path) -> None:
    url = urlsplit(redis_url())
    with tcp_proxy(url.hostname or "127.0.0.1", url.port or 6379) as proxy:
        env = cli_env(
            f"sqlite://{tmp_path / 'limits.db'}",
            tmp_path,
            EVENTS_REDIS_URL=f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}",
        )
        migrated = run_cli("migrate", env=env, cwd=tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        body = {"email": "x@example.org", "password": "wrong"}
        with server_process(env, tmp_path) as base:
            assert httpx.post(f"{base}/api/v1/auth/login", json=body).status_code == 401
            proxy.set_mode(Mode.REFUSE)
            answer = httpx.post(f"{base}/api/v1/auth/login", json=body, timeout=30)
            proxy.set_mode(Mode.FORWARD)
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.headers["retry-after"]
