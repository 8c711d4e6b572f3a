"""Schemathesis over every operation of the OpenAPI document, against a real server.

A short, bounded pass runs in the suite (a few valid and a few schema-violating
examples per operation, as an organiser, on PostgreSQL when configured): no answer
may be a server error, and every refusal must be a problem document. The long run
is the same test with more examples: `make fuzz` (EVENTS_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.conftest import POSTGRES_URL_VAR, fresh_postgres_database
from tests.server import cli_env, run_cli, server_process

EXAMPLES = int(os.environ.get("EVENTS_FUZZ_EXAMPLES", "3"))
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`events-service demo` then `serve`, on PostgreSQL if configured: (base URL, token)."""
    folder = tmp_path_factory.mktemp("fuzz")

    def serve(database_url: str) -> Iterator[tuple[str, str]]:
        env = cli_env(database_url, folder)
        demo = run_cli("demo", env=env, cwd=folder)
        assert demo.returncode == 0, demo.stderr
        email, password = re.findall(r"admin\s+(\S+@\S+)\s+password: (\S+)", demo.stdout)[0]
        with server_process(env, folder) as base:
            login = httpx.post(
                f"{base}/api/v1/auth/login", json={"email": email, "password": password}
            )
            assert login.status_code == 200, login.text
            yield base, login.json()["access_token"]

    if not os.environ.get(POSTGRES_URL_VAR):
        yield from serve(f"sqlite://{folder / 'fuzz.db'}")
        return
    loop = asyncio.new_event_loop()
    database = fresh_postgres_database(os.environ[POSTGRES_URL_VAR])
    try:
        url = loop.run_until_complete(database.__aenter__())
        yield from serve(url)
    finally:
        loop.run_until_complete(database.__aexit__(None, None, None))
        loop.close()


def test_no_operation_answers_any_input_with_a_server_error(
    demo_server: tuple[str, str],
) -> None:
    base, token = demo_server
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    sent: Counter[str] = Counter()
    failures: list[str] = []

    def exercise(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            response = case.call(base_url=base, headers=headers, timeout=30)
            sent[str(response.status_code)] += 1
            content_type = response.headers.get("content-type") or [""]
            if response.status_code >= 500 or (
                response.status_code >= 400 and not content_type[0].startswith(PROBLEM)
            ):
                failures.append(
                    f"{operation.label} ({mode.value}) -> {response.status_code} "
                    f"{content_type}: path={case.path_parameters} query={case.query} "
                    f"body={str(case.body)[:200]!r}: {response.text[:300]}"
                )

        call()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(operation, mode)

    total = sum(sent.values())
    # The figures the closing note reports (pytest -s shows them).
    by_status = dict(sorted(sent.items()))
    print(f"\nfuzz: {len(operations)} operations, {total} requests, by status {by_status}")
    assert len(operations) >= 80  # the whole API, not a subset that loaded
    assert total >= len(operations) * 2
    assert not failures, "\n".join(failures)
