"""Programme KPIs: what the service counts, the records behind each figure, milestones."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
from datetime import date, timedelta

import httpx
import pytest
from litestar import Litestar

from events_service.programme.kpis import measure, programme_status
from events_service.programme.milestones import check_milestones
from events_service.reach.counter import read_figures, verify
from events_service.settings import ProgrammeTargets
from models import Admission, Milestone, OutboxMessage, Person
from notifications.outbox import Kind
from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.conftest import Backend, LoginAs
from tests.judging_helpers import API, ok, scored_round
from tests.visible_text import page_text

CHECKINS = "/api/v1/checkins"


async def admit(
    client: httpx.AsyncClient, door: dict[str, str], event: dict, code: str, gate: str = "A"
) -> str:
    response = await client.post(
        CHECKINS, json={"event_id": event["id"], "gate": gate, "code": code}, headers=door
    )
    assert response.status_code == 200, response.text
    return response.json()["verdict"]


def kpi(body: dict, name: str) -> dict:
    return next(k for k in body["kpis"] if k["name"] == name)


# --- the pure arithmetic of pace and projection ---------------------------------------


def test_pace_and_projection_on_hand_computed_cases() -> None:
    start, end = date(2026, 1, 1), date(2029, 1, 1)
    today = date(2026, 11, 24)  # day 327 of 1096
    # 900 people in the last 90 days: 10 a day, 304.4 a month.
    behind = measure("talents", 2000, 7200, 900, today, start, end)
    assert behind.days_elapsed == 327 and behind.days_left == 769
    assert behind.pace_last_90_days_per_month == pytest.approx(304.38, abs=0.01)
    # 5200 still needed over 769 days (25.265 months of 30.44 days): 205.8 a month.
    assert behind.pace_needed_per_month == pytest.approx(205.82, abs=0.01)
    assert behind.projected_date == today + timedelta(days=520)  # 5200 / 10 a day
    assert behind.on_track and not behind.reached and behind.percent == pytest.approx(27.78)

    slow = measure("firms", 10, 300, 3, today, start, end)  # 1 every 30 days: 290 to go
    assert slow.projected_date == today + timedelta(days=8700)
    assert not slow.on_track and slow.beyond_programme
    assert not behind.beyond_programme

    crawl = measure("talents", 1, 10**9, 1, today, start, end)  # past the year 9999
    assert crawl.beyond_programme and not crawl.on_track

    stalled = measure("projects", 4, 30, 0, today, start, end)
    assert stalled.projected_date is None and not stalled.on_track

    done = measure("financed_startups", 21, 20, 2, today, start, end)
    assert done.reached and done.on_track and done.pace_needed_per_month == 0.0
    assert done.projected_date == today

    over = measure("talents", 100, 7200, 0, date(2029, 2, 1), start, end)
    assert over.days_left == 0 and over.pace_needed_per_month is None and not over.on_track


# --- counted from what people did -------------------------------------------------------


async def test_kpis_follow_admissions_entries_financing_and_services(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    summit = await event_now(client, admin)
    slug = await link_for(client, admin, summit)
    acme_1 = await ticket_for(app, client, summit, slug, 1, organisation="Acme Motors")
    acme_2 = await ticket_for(app, client, summit, slug, 2, organisation="ACME motors ")
    beta = await ticket_for(app, client, summit, slug, 3, organisation="Beta Labs")
    await ticket_for(app, client, summit, slug, 4, organisation="Never Came Ltd")
    for ticket in (acme_1, acme_2, beta):
        assert await admit(client, door, summit, ticket.code) == "admitted"
    second = await event_now(client, admin, title="Second day")
    again = await ticket_for(app, client, second, await link_for(client, admin, second), 1)
    assert await admit(client, door, second, again.code) == "admitted"

    # Projects: a competition whose round holds 3 entries (one from Acme again).
    await scored_round(
        client, admin, entries=3, judges=3, k=3, organisations=["Acme Motors", "Gamma", "Delta"]
    )
    ok(
        await client.post(
            "/api/v1/financings",
            json={
                "organisation": "Gamma",
                "partner": "City Innovation Fund",
                "kind": "equity",
                "amount": "2000000",
                "financed_on": str(date.today()),
            },
            headers=admin,
        ),
        201,
    )
    for kind in ("cloud resources", "training"):
        body = {"organisation": "Delta", "service_kind": kind, "served_on": str(date.today())}
        ok(await client.post("/api/v1/services", json=body, headers=admin), 201)

    body = ok(await client.get("/api/v1/programme"))  # public: no headers
    assert kpi(body, "talents")["value"] == 3
    # Acme (two people, one entry), Beta, Gamma and Delta (entries).
    assert kpi(body, "companies")["value"] == 4
    assert kpi(body, "projects")["value"] == 3
    assert kpi(body, "financed_startups")["value"] == 1
    assert kpi(body, "firms")["value"] == 1  # one firm, served twice
    assert body["total_admissions"] == 4
    assert body["events_held"] == {"summit": 2}
    talents = kpi(body, "talents")
    assert talents["target"] == 7200 and talents["recent_90_days"] == 3
    assert talents["percent"] == pytest.approx(100 * 3 / 7200, abs=0.01)
    assert {"days_elapsed", "days_left", "pace_needed_per_month", "projected_date"} <= set(talents)
    assert (await verify()).exact


async def test_the_records_behind_each_kpi_add_up_to_it(
    app: Litestar,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    door: dict[str, str],
    login_as: LoginAs,
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    tickets = [
        await ticket_for(app, client, event, slug, n, organisation=f"Org {n % 2}") for n in range(5)
    ]
    for ticket in tickets[:4]:
        await admit(client, door, event, ticket.code)

    page = ok(await client.get(f"{API}/programme/kpis/talents/records?limit=3", headers=admin))
    assert page["total"] == 4 and len(page["items"]) == 3
    rest = ok(
        await client.get(f"{API}/programme/kpis/talents/records?limit=3&offset=3", headers=admin)
    )
    names = [r["name"] for r in page["items"] + rest["items"]]
    assert sorted(names) == sorted(t.name for t in tickets[:4])

    exported = await client.get(f"{API}/programme/kpis/companies/records.csv", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert sorted(r["name"] for r in rows) == ["Org 0", "Org 1"]
    assert {r["people_admitted"] for r in rows} == {"2"}

    door_user = await login_as("staff")
    denied = await client.get(f"{API}/programme/kpis/talents/records", headers=door_user)
    assert denied.status_code == 403
    unknown = await client.get(f"{API}/programme/kpis/happiness/records", headers=admin)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


async def test_undoing_the_only_admission_of_an_organisation_uncounts_it(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event = await event_now(client, admin)
    ticket = await ticket_for(
        app, client, event, await link_for(client, admin, event), 1, organisation="Solo Inc"
    )
    await admit(client, door, event, ticket.code)
    assert (await read_figures()).companies == 1
    undone = await client.delete(f"{CHECKINS}/{ticket.registration_id}", headers=admin)
    assert undone.status_code == 204
    figures = await read_figures()
    assert (figures.total, figures.companies, figures.admissions) == (0, 0, 0)
    assert (await verify()).exact


async def test_concurrent_first_admissions_keep_every_counter_exact(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    """Many people of few organisations admitted at once, at two gates and two events."""
    events = [await event_now(client, admin, title=f"Day {n}") for n in range(2)]
    tickets = []
    for event in events:
        slug = await link_for(client, admin, event)
        tickets += [
            (event, await ticket_for(app, client, event, slug, n, organisation=f"Firm {n % 5}"))
            for n in range(60)
        ]
    verdicts = await asyncio.gather(
        *(
            admit(client, door, event, t.code, gate="AB"[i % 2])
            for i, (event, t) in enumerate(tickets)
        )
    )
    assert verdicts.count("admitted") == 120
    figures = await read_figures()
    assert figures.total == await Person.filter(first_admitted_at__isnull=False).count() == 60
    assert figures.admissions == await Admission.all().count() == 120
    assert figures.companies == 5
    assert (await verify()).exact


async def test_financing_csv_import_is_all_or_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    good = (
        "organisation,partner,kind,amount,currency,financed_on,note\n"
        'Volt Start,Bank of the City,loan,"1,500,000",CNY,2026-10-01,first loan\n'
        "Wheel AI,Seed Fund,equity,300000,USD,2026-11-02,\n"
    )
    bad = good + "Broken Co,Some Fund,donation,100,CNY,2026-11-03,\n"
    refused = await client.post(
        "/api/v1/financings/import",
        content=bad.encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert refused.status_code == 422 and "line 4" in refused.json()["detail"]
    assert ok(await client.get("/api/v1/financings", headers=admin)) == []

    imported = ok(
        await client.post(
            "/api/v1/financings/import",
            content=good.encode(),
            headers={**admin, "Content-Type": "text/csv"},
        )
    )
    assert [(r["organisation"], r["amount"], r["currency"]) for r in imported] == [
        ("Volt Start", "1500000.00", "CNY"),
        ("Wheel AI", "300000.00", "USD"),
    ]
    body = ok(await client.get("/api/v1/programme"))
    assert kpi(body, "financed_startups")["value"] == 2
    invalid = await client.post(
        "/api/v1/financings",
        json={"organisation": "X", "partner": "Y", "kind": "equity", "amount": -5,
              "financed_on": "2026-01-01"},
        headers=admin,
    )  # fmt: skip
    assert invalid.status_code == 422


async def test_each_milestone_is_announced_once_even_when_crossed_together(
    app: Litestar,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    door: dict[str, str],
    login_as: LoginAs,
    db: Backend,
) -> None:
    await login_as("admin", email="second-organiser@example.org")
    settings = dataclasses.replace(
        app.state.settings,
        targets=ProgrammeTargets(talents=4, firms=300, companies=200, projects=30,
                                 financed_startups=20),
    )  # fmt: skip
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    tickets = [await ticket_for(app, client, event, slug, n) for n in range(3)]
    await admit(client, door, event, tickets[0].code)
    # Two admissions at the same moment carry the reach from 25 % to 75 %...
    await asyncio.gather(*(admit(client, door, event, t.code) for t in tickets[1:]))
    # ...and several workers look for milestones at the same moment.
    found = await asyncio.gather(*(check_milestones(settings) for _ in range(6)))
    recorded = sorted(
        step for result in found for kpi_name, step in result if kpi_name == "talents"
    )
    assert recorded == [25, 50, 75]
    percents = await Milestone.filter(kpi="talents").values_list("percent", flat=True)
    assert sorted(percents) == [25, 50, 75]
    messages = await OutboxMessage.filter(kind=Kind.REACH_MILESTONE)
    # One message per organiser and milestone: 2 organisers x 3 milestones.
    assert len(messages) == 6
    assert {m.payload["percent"] for m in messages} == {25, 50, 75}
    assert all(m.payload["target"] == 4 for m in messages)
    public = ok(await client.get("/api/v1/programme/milestones"))
    assert sorted((m["kpi"], m["percent"]) for m in public) == [
        ("talents", 25),
        ("talents", 50),
        ("talents", 75),
    ]
    status = await programme_status(settings)
    assert status.kpis[0].value == 3


async def test_the_90_day_pace_counts_only_people_first_reached_in_the_window(
    db: Backend,
) -> None:
    from tortoise import timezone

    from events_service.db import default_connection
    from events_service.reach.counter import count_first_admission, reached_since

    now = timezone.now()
    conn = default_connection()
    for person_id, days_ago in ((1, 200), (2, 91), (3, 89), (4, 0), (5, 0)):
        await count_first_admission(conn, person_id, now - timedelta(days=days_ago), "summit")
    assert await reached_since(conn, (now - timedelta(days=90)).date()) == 3
    figures = await read_figures()
    assert figures.total == 5 and figures.by_day == {}  # day keys stay out of the fast read
    assert sum((await read_figures(with_days=True)).by_day.values()) == 5


async def test_service_records_are_corrected_and_deleted_by_organisers_only(
    client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    body = {"organisation": "Delta Parts", "service_kind": "training", "served_on": "2026-11-01"}
    assert (await client.post("/api/v1/services", json=body, headers=door)).status_code == 403
    created = ok(await client.post("/api/v1/services", json=body, headers=admin), 201)
    changed = ok(
        await client.patch(
            f"/api/v1/services/{created['id']}",
            json={"service_kind": "consulting"},
            headers=admin,
        )
    )
    assert changed["service_kind"] == "consulting" and changed["organisation"] == "Delta Parts"
    assert kpi(ok(await client.get("/api/v1/programme")), "firms")["value"] == 1
    gone = await client.delete(f"/api/v1/services/{created['id']}", headers=admin)
    assert gone.status_code == 204
    assert kpi(ok(await client.get("/api/v1/programme")), "firms")["value"] == 0
    missing = await client.patch("/api/v1/services/999999", json={}, headers=admin)
    assert missing.status_code == 404
    bad_date = {**body, "served_on": "yesterday"}
    assert (await client.post("/api/v1/services", json=bad_date, headers=admin)).status_code == 400


async def test_the_admin_programme_page_lists_the_records(
    app: Litestar,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    door: dict[str, str],
) -> None:
    event = await event_now(client, admin)
    ticket = await ticket_for(
        app, client, event, await link_for(client, admin, event), 1, name="Zhao <Lei>"
    )
    await admit(client, door, event, ticket.code)
    page = await client.get("/admin/programme", headers=admin)
    assert page.status_code == 200
    assert 'href="/admin/programme/kpis/talents"' in page.text
    records = await client.get("/admin/programme/kpis/talents", headers=admin)
    assert "Zhao &lt;Lei&gt;" in records.text  # listed, and escaped
    assert "/api/v1/programme/kpis/talents/records.csv" in records.text
    refused = await client.get("/admin/programme", headers=door, follow_redirects=False)
    assert refused.status_code in (302, 303, 403)
    public = await client.get("/dashboard")
    assert public.status_code == 200 and "Zhao" not in public.text  # no names in the lobby


async def test_the_dashboard_writes_figures_and_days_in_the_readers_way(
    client: httpx.AsyncClient,
) -> None:
    english = page_text((await client.get("/dashboard?lang=en")).text)
    chinese = page_text((await client.get("/dashboard?lang=zh-Hans")).text)
    # The target of 7,200 talents, with its thousands separator, in both languages.
    assert "/ 7,200" in english and "/ 7,200" in chinese
    assert "0%" in english and "7200" not in english


async def test_a_projection_past_the_programme_reads_as_words_not_a_date(
    app: Litestar,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    door: dict[str, str],
) -> None:
    # One person in 90 days against thousands to go: centuries away at this pace.
    event = await event_now(client, admin)
    ticket = await ticket_for(app, client, event, await link_for(client, admin, event), 1)
    await admit(client, door, event, ticket.code)
    talents = kpi((await client.get("/api/v1/programme")).json(), "talents")
    year = talents["projected_date"][:4]
    assert talents["beyond_programme"] and int(year) > 2100
    english = page_text((await client.get("/dashboard?lang=en")).text)
    chinese = page_text((await client.get("/dashboard?lang=zh-Hans")).text)
    assert "behind: not within the programme at this pace" in english
    assert "按目前进度，计划期内无法达成" in chinese
    assert "at this pace by" not in english
    assert year not in english and year not in chinese
