"""The input boundary: hostile or careless input gets a 4xx problem, never a 500, and
changes nothing; every operation's inputs are bounded, so a new route cannot forget."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec
import msgspec.inspect as mi
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from tortoise import Tortoise

from events_service.boundary import MAX_JSON_DEPTH, json_too_deep
from tests.factories import attendee, make_event, make_link, register
from tests.judging_helpers import competition_event

PROBLEM = "application/problem+json"
NUL = "a\u0000b"
OUT_OF_INT4 = 2**31
OUT_OF_INT8 = 2**63


def assert_refused(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (400, 404, 413, 415, 422)), response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == response.status_code and body["type"].startswith("/problems/")
    return body


async def row_counts() -> dict[str, int]:
    """Rows per table: what "changes nothing" is checked against."""
    counts = {}
    for app_models in Tortoise.apps.values():
        for model in app_models.values():
            counts[model._meta.db_table] = await model.all().count()
    return counts


# -- NUL characters: every class the attack found, each through its real route --


async def _setup(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    competition = await competition_event()
    return {"event": event["id"], "slug": link["slug"], "competition": competition.id}


NUL_REQUESTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    # (name, method, path template, JSON body); {nul} marks the hostile value
    ("registration e-mail", "POST", "/api/v1/register/{slug}",
     {"name": "Li Wei", "email": "li{nul}@example.org", "consent": True}),
    ("registration name", "POST", "/api/v1/register/{slug}",
     {"name": "Li{nul}Wei", "email": "li@example.org", "consent": True}),
    ("login e-mail", "POST", "/api/v1/auth/login", {"email": "a{nul}@x.test", "password": "x"}),
    ("scan gate", "POST", "/api/v1/checkins", {"event_id": "{event}", "gate": "A{nul}",
                                               "code": "X" * 20}),
    ("scan id", "POST", "/api/v1/checkins", {"event_id": "{event}", "gate": "A", "code": "X",
                                             "scan_id": "12345678{nul}"}),
    ("attendee search", "GET", "/api/v1/events/{event}/attendees?q=a%00b", None),
    ("outbox kind", "GET", "/api/v1/outbox?kind=a%00", None),
    ("registrations search", "GET", "/api/v1/events/{event}/registrations?q=%00", None),
    ("event title", "POST", "/api/v1/events", {"kind": "summit", "title": "T{nul}",
     "starts_at": "2027-01-01T09:00:00+08:00", "ends_at": "2027-01-01T18:00:00+08:00"}),
    ("link label", "POST", "/api/v1/events/{event}/links", {"label": "WeChat{nul}"}),
    ("staff e-mail", "POST", "/api/v1/staff-users",
     {"email": "s{nul}@x.test", "password": "a long password", "roles": ["staff"]}),
    ("entry title", "POST", "/api/v1/competitions/{competition}/entries",
     {"title": "E{nul}", "team_name": "T"}),
    ("conflict organisation", "POST", "/api/v1/conflicts",
     {"judge_id": 1, "organisation": "Org{nul}"}),
    ("service organisation", "POST", "/api/v1/services",
     {"organisation": "Org{nul}", "service_kind": "mentoring", "served_on": "2026-05-01"}),
    ("ticket page path", "GET", "/t/a%00b", None),
    ("registration page path", "GET", "/r/a%00b", None),
]  # fmt: skip


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value.startswith("{") and value.strip("{}") in ids:
            return ids[value.strip("{}")]
        return value.replace("{nul}", "\u0000").format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [pytest.param(m, p, b, id=name) for name, m, p, b in NUL_REQUESTS],
)
async def test_a_nul_character_anywhere_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, path: str, body: dict | None
) -> None:
    ids = await _setup(client, admin)
    before = await row_counts()

    response = await client.request(
        method, path.format(**ids), json=_fill(body, ids) if body else None, headers=admin
    )

    assert_refused(response, 400, 404)
    assert await row_counts() == before


async def test_a_nul_in_a_csv_import_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    csv = "organisation,service_kind,served_on,note\nAcme\x00,mentoring,2026-05-01,\n"
    before = await row_counts()
    response = await client.post(
        "/api/v1/services/import",
        content=csv.encode(),
        headers={**admin, "content-type": "text/csv"},
    )
    assert_refused(response, 400)
    assert await row_counts() == before


async def test_a_nul_in_a_form_is_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    ids = await _setup(client, admin)
    before = await row_counts()
    response = await client.post(
        f"/r/{ids['slug']}",
        content=b"name=Li%00Wei&email=li%40example.org&consent=on",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_refused(response, 400)
    assert await row_counts() == before


async def test_an_escaped_backslash_before_u0000_is_text_not_nul(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """`\\\\u0000` in JSON is a backslash followed by "u0000": plain text, accepted."""
    ids = await _setup(client, admin)
    body = '{"name": "C:\\\\u0000dir", "email": "path@example.org", "consent": true}'
    response = await client.post(
        f"/api/v1/register/{ids['slug']}",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text


# -- Integers out of the database's range --


PAGINATED = [
    "/api/v1/events",
    "/api/v1/outbox",
    "/api/v1/events/{event}/registrations",
    "/api/v1/programme/kpis/talents/records",
    "/api/v1/financings",
    "/api/v1/services",
]


@pytest.mark.parametrize("path", PAGINATED)
@pytest.mark.parametrize("offset", [OUT_OF_INT8, OUT_OF_INT4, -1])
async def test_offsets_beyond_any_list_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str], path: str, offset: int
) -> None:
    ids = await _setup(client, admin)
    response = await client.get(path.format(**ids), params={"offset": offset}, headers=admin)
    if response.status_code == 200:  # a list without paging ignores it: fine, not a 500
        return
    assert_refused(response, 400)


async def test_the_public_winners_filter_refuses_an_id_out_of_range(
    client: httpx.AsyncClient,
) -> None:
    for value in (OUT_OF_INT4, OUT_OF_INT8, 0):
        response = await client.get("/api/v1/winners", params={"event_id": value})
        assert_refused(response, 400)


# -- Nesting, numbers, lengths --


async def test_json_nested_a_thousand_levels_deep_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ids = await _setup(client, admin)
    for body in ("[" * 1000 + "]" * 1000, '{"name": ' + "[" * 1000 + "]" * 1000 + "}"):
        response = await client.post(
            f"/api/v1/register/{ids['slug']}",
            content=body.encode(),
            headers={"content-type": "application/json"},
        )
        assert_refused(response, 400)


def test_nesting_depth_is_measured_outside_strings() -> None:
    deep = ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode()
    at_limit = ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode()
    assert json_too_deep(deep)
    assert not json_too_deep(at_limit)
    # Many brackets, but side by side or inside strings: shallow.
    assert not json_too_deep(b"[" + b"[],".join([b""] * 5000) + b"[]]")
    assert not json_too_deep(json.dumps({"name": "[" * 500}).encode())
    assert not json_too_deep(json.dumps({"a": '\\"[[[[' * 200}).encode())


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity", "1e999999"])
async def test_financing_amounts_must_be_finite_numbers(
    client: httpx.AsyncClient, admin: dict[str, str], amount: str
) -> None:
    before = await row_counts()
    record = {"organisation": "Acme", "partner": "Fund", "kind": "equity", "amount": amount,
              "financed_on": "2026-05-01"}  # fmt: skip
    assert_refused(await client.post("/api/v1/financings", json=record, headers=admin), 400, 422)
    csv = (
        "organisation,partner,kind,amount,currency,financed_on,note\n"
        f"Acme,Fund,equity,{amount},CNY,2026-05-01,\n"
    )
    response = await client.post(
        "/api/v1/financings/import",
        content=csv.encode(),
        headers={**admin, "content-type": "text/csv"},
    )
    assert_refused(response, 400, 422)
    assert await row_counts() == before


@pytest.mark.parametrize("suffix", ["", "/qr.png", "/qr.svg", "/calendar.ics", "/cancel"])
async def test_a_ticket_token_longer_than_any_ticket_is_refused(
    client: httpx.AsyncClient, suffix: str
) -> None:
    path = "/t/" + "a" * 65 + suffix
    response = await (client.post(path) if suffix == "/cancel" else client.get(path))
    assert_refused(response, 400, 404)


async def test_a_link_slug_longer_than_any_link_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    slug = "s" * 33
    assert_refused(await client.patch(f"/api/v1/links/{slug}", json={}, headers=admin), 400, 404)
    assert_refused(await register(client, slug, attendee(1)), 400, 404)


# -- JSON routes take JSON --


async def test_a_json_route_refuses_a_body_that_is_not_declared_json(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = json.dumps({"label": "WeChat group B"}).encode()
    ids = await _setup(client, admin)
    before = await row_counts()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = await client.post(
            f"/api/v1/events/{ids['event']}/links",
            content=body,
            headers={**admin, "content-type": content_type},
        )
        assert_refused(response, 415)
    assert await row_counts() == before
    ok = await client.post(
        f"/api/v1/events/{ids['event']}/links",
        content=body,
        headers={**admin, "content-type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 201, ok.text


# -- Every operation is bounded, so a new one cannot forget --


def _unbounded(schema: dict[str, Any], defs: dict[str, Any], where: str) -> list[str]:
    """Integer, number and string inputs without limits, anywhere inside `schema`."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return _unbounded({**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}},
                          defs, where)  # fmt: skip
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            inherited = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "allOf")}
            for branch in schema[key]:
                found += _unbounded({**inherited, **branch}, defs, where)
            return found
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        return found
    if kind == "integer" and "maximum" not in schema:
        found.append(f"{where}: integer without a maximum")
    if kind == "number" and not (
        {"maximum", "exclusiveMaximum"} & schema.keys()
        and {"minimum", "exclusiveMinimum"} & schema.keys()
    ):
        found.append(f"{where}: number without both bounds")
    if kind == "string" and not (
        "maxLength" in schema or schema.get("format") in ("date", "date-time", "decimal")
    ):
        found.append(f"{where}: string without a maximum length")
    if kind == "array":
        if "maxItems" not in schema:
            found.append(f"{where}: array without a maximum size")
        found += _unbounded(schema.get("items", {}), defs, f"{where}[]")
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            found += _unbounded(sub, defs, f"{where}.{name}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            found += _unbounded(extra, defs, f"{where}{{}}")
    return found


def _loose_fields(info: mi.Type, where: str, seen: set[type]) -> list[str]:
    """Like `_unbounded`, on msgspec's own view of a body type (it keeps every
    constraint; OpenAPI drops those of list items and of optional fields)."""
    if isinstance(info, mi.Metadata):
        return _loose_fields(info.type, where, seen)
    if isinstance(info, mi.UnionType):
        return [f for t in info.types for f in _loose_fields(t, where, seen)]
    if isinstance(info, mi.StrType) and info.max_length is None:
        return [f"{where}: string without a maximum length"]
    if isinstance(info, mi.IntType) and info.le is None and info.lt is None:
        return [f"{where}: integer without a maximum"]
    if isinstance(info, mi.FloatType) and ((info.le is None and info.lt is None)
                                           or (info.ge is None and info.gt is None)):  # fmt: skip
        return [f"{where}: number without both bounds"]
    if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        found = [] if info.max_length is not None else [f"{where}: array without a maximum size"]
        return found + _loose_fields(info.item_type, f"{where}[]", seen)
    if isinstance(info, mi.DictType):
        found = [] if info.max_length is not None else [f"{where}: object without a maximum size"]
        return found + _loose_fields(info.value_type, f"{where}{{}}", seen)
    if isinstance(info, mi.StructType):
        if info.cls in seen:
            return []
        seen.add(info.cls)
        return [f for field in info.fields
                for f in _loose_fields(field.type, f"{where}.{field.name}", seen)]  # fmt: skip
    if isinstance(info, mi.AnyType):
        return [f"{where}: any JSON value"]
    return []  # enums, booleans, dates and times, decimals: bounded by their parsers


def _handlers(app: Litestar) -> list[HTTPRouteHandler]:
    return [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler)
    ]


def test_every_input_of_every_operation_is_bounded(app: Litestar) -> None:
    problems: list[str] = []
    # Query and path parameters as OpenAPI documents them (integer path ids are
    # bounded for every route at once by the boundary's before_request check).
    document = app.openapi_schema.to_schema()
    components = document.get("components", {}).get("schemas", {})
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter["in"] == "path" and schema.get("type") == "integer":
                    continue
                where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                problems += _unbounded(schema, components, where)
    # Bodies (JSON and forms) from their msgspec types.
    for handler in _handlers(app):
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is None:
            continue
        body_type = data.annotation
        where = f"{'/'.join(sorted(handler.http_methods))} {sorted(handler.paths)[0]} body"
        problems += _loose_fields(mi.type_info(body_type), where, set())
    assert not problems, "\n".join(problems)


def test_the_bounds_check_finds_what_it_looks_for() -> None:
    """The check above must be able to fail: each unbounded kind is found."""

    class Loose(msgspec.Struct):
        text: str
        count: int
        ratio: float
        items: list[str]

    found = _loose_fields(mi.type_info(Loose), "Loose", set())
    assert {f.split(":")[0] for f in found} == {
        "Loose.text", "Loose.count", "Loose.ratio", "Loose.items", "Loose.items[]",
    }  # fmt: skip
    query = {"type": "string"}
    assert _unbounded(query, {}, "q") == ["q: string without a maximum length"]
    assert _unbounded({"oneOf": [{"type": "integer"}, {"type": "null"}]}, {}, "n")
