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


def _logins_from(base: str, forwarded_for: list[str]) -> list[int]:
    body = {"email": "x@example.org", "password": "wrong"}
    return [
        httpx.post(
            f"{base}/api/v1/auth/login", json=body, headers={"X-Forwarded-For": xff}, timeout=30
        ).status_code
        for xff in forwarded_for
    ]


def test_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    env = cli_env(
        f"sqlite://{tmp_path / 'proxied.db'}", tmp_path, EVENTS_LOGIN_ATTEMPTS_PER_MINUTE="2"
    )
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
    # The test client plays the proxy at 127.0.0.1: trusted, each person behind it is
    # limited on their own; a client that sends its own X-Forwarded-For through the
    # proxy is still counted by the address the proxy saw (the rightmost).
    with server_process({**env, "EVENTS_TRUSTED_PROXIES": "127.0.0.1, ::1"}, tmp_path) as base:
        first = _logins_from(base, ["203.0.113.7"] * 3)
        other = _logins_from(base, ["203.0.113.8"])
        spoofed = _logins_from(base, ["198.51.100.99, 203.0.113.7"])
    assert first == [401, 401, 429]
    assert other == [401]
    assert spoofed == [429]
    # Not trusted (the default): the header is anybody's to write and is ignored.
    with server_process(env, tmp_path) as base:
        untrusted = _logins_from(base, ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
    assert untrusted == [401, 401, 429]


def test_a_trusted_proxy_setting_that_is_not_an_address_is_refused(tmp_path: Path) -> None:
    env = cli_env(
        f"sqlite://{tmp_path / 'p.db'}", tmp_path, EVENTS_TRUSTED_PROXIES="10.0.0.1, proxy.lan"
    )
    done = run_cli("migrate", env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "EVENTS_TRUSTED_PROXIES" in done.stderr and "proxy.lan" in done.stderr
