"""CSV exports: what a spreadsheet opens. Text typed by attendees and organisers never
becomes a formula, Chinese names survive Excel (UTF-8 BOM), one Content-Type, rows
streamed, and the same data gives the same bytes on SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
import csv
import io

import httpx
import pytest
from litestar import Litestar

from events_service.events.service import registrations_for_export
from events_service.web.csv_export import CHUNK_ROWS, cell, csv_chunks
from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.factories import attendee, register
from tests.judging_helpers import API, my_assignments, ok, scored_round, submit

FORMULA = '=HYPERLINK("http://evil.test","x")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def exported(response: httpx.Response) -> list[dict[str, str]]:
    """The rows of a CSV download, after checking what every export promises."""
    assert response.status_code == 200, response.text
    assert response.headers.get_list("content-type") == ["text/csv; charset=utf-8"]
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(FORMULA_STARTS), (column, value)
    return rows


async def test_text_that_looks_like_a_formula_is_escaped_in_every_export(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, 1, name=FORMULA, organisation="+Org")
    await ticket_for(app, client, event, slug, 2, name="王芳", organisation="车联网研究院")
    scan = {"event_id": event["id"], "gate": "A", "code": ticket.code}
    assert (await client.post("/api/v1/checkins", json=scan, headers=door)).status_code == 200

    registrations = exported(
        await client.get(f"/api/v1/events/{event['id']}/registrations.csv", headers=admin)
    )
    assert {(r["name"], r["organisation"]) for r in registrations} == {
        ("'" + FORMULA, "'+Org"),
        ("王芳", "车联网研究院"),
    }

    setup = await scored_round(
        client, admin, entries=3, judges=3, k=3, method="mean",
        organisations=["@SUM(A1)", "Org B", "Org C"],
    )  # fmt: skip
    ok(
        await client.patch(
            f"{API}/entries/{setup.entries[0]}", json={"title": FORMULA}, headers=admin
        )
    )
    for headers in setup.judges.values():
        for a in await my_assignments(client, headers):
            ok(await submit(client, headers, a["id"], dict.fromkeys(setup.criteria, 3)))
    results = exported(
        await client.get(f"{API}/rounds/{setup.round_id}/results.csv", headers=admin)
    )
    assert "'" + FORMULA in {r["title"] for r in results}

    body = {"organisation": "=Startup", "partner": "-Partner", "kind": "equity",
            "amount": "1000", "financed_on": "2026-05-01"}  # fmt: skip
    ok(await client.post(f"{API}/financings", json=body, headers=admin), 201)
    body = {"organisation": "=Startup", "service_kind": "@training", "served_on": "2026-05-02"}
    ok(await client.post(f"{API}/services", json=body, headers=admin), 201)

    def records(name: str) -> str:
        return f"{API}/programme/kpis/{name}/records.csv"

    talents = exported(await client.get(records("talents"), headers=admin))
    assert [r["name"] for r in talents] == ["'" + FORMULA]
    companies = exported(await client.get(records("companies"), headers=admin))
    assert "'+Org" in {r["name"] for r in companies}
    projects = exported(await client.get(records("projects"), headers=admin))
    assert ("'" + FORMULA, "'@SUM(A1)") in {(r["title"], r["organisation"]) for r in projects}
    financed = exported(await client.get(records("financed_startups"), headers=admin))
    assert [(r["organisation"], r["partners"]) for r in financed] == [("'=Startup", "'-Partner")]
    firms = exported(await client.get(records("firms"), headers=admin))
    assert [(r["organisation"], r["service_kinds"]) for r in firms] == [("'=Startup", "'@training")]


async def test_the_same_records_export_to_the_same_bytes_on_either_engine(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Multi-valued cells: distinct values, sorted byte by byte, joined by "; ". The
    expected bytes are written out here, so both engines' runs are held to them."""
    for partner, day in [
        ("Zeta Fund", "2026-03-04"), ("alpha fund", "2026-03-02"), ("王 Fund", "2026-03-05"),
        ("Beta", "2026-03-01"), ("Beta", "2026-03-03"),
    ]:  # fmt: skip
        body = {"organisation": "Volt Start", "partner": partner, "kind": "loan",
                "amount": "10", "financed_on": day}  # fmt: skip
        ok(await client.post(f"{API}/financings", json=body, headers=admin), 201)
    for kind in ("training", "cloud", "培训", "Cloud", "training"):
        body = {"organisation": "Volt Start", "service_kind": kind, "served_on": "2026-04-01"}
        ok(await client.post(f"{API}/services", json=body, headers=admin), 201)
    listing = ok(await client.get(f"{API}/programme/kpis/firms/records", headers=admin))
    org = listing["items"][0]["organisation_id"]  # type: ignore[call-overload]

    financed = await client.get(
        f"{API}/programme/kpis/financed_startups/records.csv", headers=admin
    )
    assert (
        financed.content
        == (
            "\ufefforganisation_id,organisation,first_financed_on,financings,partners\r\n"
            f"{org},Volt Start,2026-03-01,5,Beta; Zeta Fund; alpha fund; 王 Fund\r\n"
        ).encode()
    )
    firms = await client.get(f"{API}/programme/kpis/firms/records.csv", headers=admin)
    assert (
        firms.content
        == (
            "\ufefforganisation_id,organisation,first_served_on,services,service_kinds\r\n"
            f"{org},Volt Start,2026-04-01,5,Cloud; cloud; training; 培训\r\n"
        ).encode()
    )
    # The JSON listing says the same.
    assert listing["items"][0]["service_kinds"] == "Cloud; cloud; training; 培训"  # type: ignore[call-overload]


async def test_an_export_with_no_rows_still_has_its_header(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get(f"{API}/programme/kpis/talents/records.csv", headers=admin)
    assert response.content.decode("utf-8-sig").splitlines() == [
        "person_id,name,email,organisation,first_admitted_at,admissions"
    ]
    unknown = await client.get(f"{API}/programme/kpis/happiness/records.csv", headers=admin)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


async def test_a_large_export_is_written_in_chunks_not_held_whole() -> None:
    async def rows():  # type: ignore[no-untyped-def]
        for n in range(CHUNK_ROWS * 4):
            yield [n, f"Person {n}"]

    chunks = [chunk async for chunk in csv_chunks(["id", "name"], rows())]
    assert len(chunks) >= 4 and max(map(len, chunks)) < 20_000
    text = b"".join(chunks).decode("utf-8-sig")
    assert text.count("\r\n") == CHUNK_ROWS * 4 + 1


async def test_registrations_are_read_a_page_at_a_time_and_all_exported(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    for n in range(5):
        await ticket_for_nobody(client, slug, n)
    rows = await registrations_for_export(event["id"], page_rows=2)
    assert [row.name async for row in rows] == [f"Attendee {n}" for n in range(5)]
    response = await client.get(f"/api/v1/events/{event['id']}/registrations.csv", headers=admin)
    assert len(exported(response)) == 5
    missing = await client.get("/api/v1/events/999999/registrations.csv", headers=admin)
    assert missing.status_code == 404


async def ticket_for_nobody(client: httpx.AsyncClient, slug: str, n: int) -> None:
    response = await register(client, slug, attendee(n))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Li Wei", "Li Wei"),
        (-5, "-5"),  # numbers the service wrote are not formulas
        (None, ""),
    ],
)
def test_cells(value: object, text: str) -> None:
    assert cell(value) == text
