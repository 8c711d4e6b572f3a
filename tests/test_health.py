"""/health reports the database; /schema documents the API."""

from pathlib import Path

import httpx

from tests.server import cli_env, server_process


async def test_health_is_ok_with_a_live_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_health_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    # Nothing listens on port 1: the database is "down" from the first query.
    env = cli_env("postgres://nobody@127.0.0.1:1/none", tmp_path)
    with server_process(env, tmp_path) as base:
        response = httpx.get(f"{base}/health")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/database-unavailable"


async def test_openapi_schema_lists_the_routes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()

    assert schema["openapi"].startswith("3.1")
    for path in ("/api/v1/auth/login", "/api/v1/auth/me", "/api/v1/staff-users", "/health"):
        assert path in schema["paths"], path
    assert "BearerToken" in schema["components"]["securitySchemes"]
    ui = await client.get("/schema")
    assert ui.status_code == 200 and "text/html" in ui.headers["content-type"]


async def test_start_page_links_the_docs(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert 'href="/schema"' in response.text
