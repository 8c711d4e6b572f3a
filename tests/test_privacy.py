"""Retention and erasure (events_service/privacy): who goes, what stays, the counters.

A world of 200 people over 3 events, on both engines: 120 only at an event that
ended 400 days ago (their window is over), 40 at that event and at one that ended
ten days ago (kept: one event still in its window), 40 at an event that ended 400
days ago but keeps its attendees 1,000 days (kept: the per-event override).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from tortoise import timezone

from events_service.checkin.service import ScanRequest, scan
from events_service.privacy.keys import current_keyer, person_key, use_person_key
from events_service.privacy.service import (
    backfill_person_keys,
    erase_person,
    retention_candidates,
    rotate_person_keys,
    run_retention,
)
from events_service.programme.kpis import programme_status
from events_service.reach.counter import verify
from events_service.registration.forms import CleanRegistration
from events_service.registration.service import (
    cancel,
    cancel_registration,
    register,
    resend_ticket_of,
)
from models import (
    Entry,
    EntryMember,
    ErasureRecord,
    Event,
    OutboxMessage,
    Person,
    Registration,
    RegistrationLink,
)
from models.enums import EventKind, EventStatus, OutboxStatus
from notifications.senders import sender_from_url
from notifications.worker import DeliveryWorker
from tests.conftest import Backend, LoginAs
from tests.console_helpers import log_in_to_pages, post_form
from tests.factories import make_event, token_of
from tests.mail_server import Mailbox, smtp_server
from tests.server import cli_env

GONE, BOTH, KEPT = range(120), range(120, 160), range(160, 200)


def _form(n: int | str, organisation: str | None = None) -> CleanRegistration:
    return CleanRegistration(
        name=f"Person {n}",
        email=f"person{n}@example.org",
        phone="+8613800138000",
        organisation=organisation,
        job_title="Engineer",
        locale="en",
    )


async def _open_event(title: str, kind: EventKind = EventKind.SUMMIT) -> tuple[Event, str]:
    now = timezone.now()
    event = await Event.create(
        kind=kind,
        title=title,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=5),
        status=EventStatus.PUBLISHED,
    )
    slug = f"{title.lower().replace(' ', '-')}-{event.id}"
    await RegistrationLink.create(event=event, slug=slug, label="mail")
    return event, slug


async def _admit(event: Event, registration_id: int) -> str:
    request = ScanRequest(
        event_id=event.id, gate="A", staff_id=None, registration_id=registration_id
    )
    return str((await scan(request, master_key=b"\0" * 32)).verdict)


async def _end(event: Event, days_ago: int, retention_days: int | None = None) -> None:
    ends = timezone.now() - timedelta(days=days_ago)
    await Event.filter(id=event.id).update(
        starts_at=ends - timedelta(hours=6), ends_at=ends, retention_days=retention_days
    )


@dataclass
class World:
    old: Event
    recent: Event
    kept_long: Event


async def _world() -> World:
    old, old_slug = await _open_event("Old Summit")
    recent, recent_slug = await _open_event("Recent Contest", EventKind.COMPETITION)
    kept, kept_slug = await _open_event("Kept Forum")
    for n in range(200):
        form = _form(n, organisation=f"Org {n % 15}" if n % 3 else None)
        slugs = [old_slug] if n in GONE else [old_slug, recent_slug] if n in BOTH else [kept_slug]
        for slug in slugs:
            result = await register(slug, form)
            assert result.created
            if n % 2 == 0:  # every other person is admitted at each of their events
                event = {old_slug: old, recent_slug: recent, kept_slug: kept}[slug]
                assert await _admit(event, result.ticket.registration_id) == "admitted"
    await _end(old, 400)
    await _end(recent, 10)
    await _end(kept, 400, retention_days=1000)
    return World(old, recent, kept)


async def _counters(app: Litestar, now: datetime) -> tuple[object, ...]:
    status = await programme_status(app.state.settings, now=now)
    drift = await verify()  # what `events-service reach verify` runs
    assert drift.exact, drift
    return (
        [(kpi.name, kpi.value) for kpi in status.kpis],
        status.events_held,
        status.total_admissions,
        status.reach_by_month,
        drift.counted,
    )


async def test_retention_erases_exactly_those_whose_window_ended(
    app: Litestar, db: Backend
) -> None:
    await _world()
    settings = app.state.settings
    now = timezone.now()
    before = await _counters(app, now)
    # Half of the ticket e-mails went out already; the rest are still queued.
    gone_emails = [f"person{n}@example.org" for n in GONE]
    sent = gone_emails[::2]
    await OutboxMessage.filter(recipient__in=sent).update(status=OutboxStatus.SENT)

    dry = await run_retention(settings, dry_run=True)
    assert (dry.people, dry.events) == (120, 1)
    assert await Person.filter(erased_at__isnull=False).count() == 0  # nothing changed

    done = await run_retention(settings, batch_size=50)
    assert (done.people, done.events, done.batches) == (dry.people, dry.events, 3)

    erased = await Person.filter(erased_at__isnull=False).order_by("id")
    assert [p.person_key for p in erased] == [person_key(e) for e in gone_emails]
    for person in erased:
        assert (person.email, person.name, person.phone, person.job_title) == (None,) * 4
    assert sum(1 for p in erased if p.organisation_id is not None) == 80  # kept by default
    kept = await Person.filter(erased_at__isnull=True)
    assert len(kept) == 80 and all(p.email and p.name and p.phone for p in kept)
    # Their registrations and admissions stay; their messages lose the address.
    assert await Registration.all().count() == 240
    assert await OutboxMessage.filter(recipient__in=gone_emails).count() == 0
    assert await OutboxMessage.filter(recipient="", status=OutboxStatus.SENT).count() == 60
    assert await OutboxMessage.filter(recipient="", status=OutboxStatus.PENDING).count() == 0
    # The counters, the KPIs and reach verify: exactly as before.
    assert await _counters(app, now) == before
    records = await ErasureRecord.all().order_by("id")
    assert [(r.actor, r.people) for r in records] == [
        ("policy", 50),
        ("policy", 50),
        ("policy", 20),
    ]
    assert records[0].erased_fields == "email,phone,name,job_title"

    again = await run_retention(settings)
    assert again.people == 0 and await ErasureRecord.all().count() == 3


async def test_an_erased_address_registering_again_is_the_same_talent(
    app: Litestar, db: Backend
) -> None:
    await _world()
    await run_retention(app.state.settings)
    people = await Person.all().count()
    reach = (await verify()).counted.total
    returning = await Person.get(person_key=person_key("person0@example.org"))
    assert returning.email is None and returning.first_admitted_at is not None

    event, slug = await _open_event("Next Summit")
    result = await register(slug, _form(0, organisation="Org New"))
    assert result.created and not result.new_person
    assert await _admit(event, result.ticket.registration_id) == "admitted"
    refilled = await Person.get(id=returning.id)
    assert (refilled.email, refilled.name, refilled.erased_at) == (
        "person0@example.org",
        "Person 0",
        None,
    )
    assert await Person.all().count() == people
    assert (await verify()).counted.total == reach  # no second count

    newcomer = await register(slug, _form("new"))
    assert newcomer.new_person
    assert await _admit(event, newcomer.ticket.registration_id) == "admitted"
    drift = await verify()
    assert drift.exact and drift.counted.total == reach + 1
    # Back in an open event: the policy leaves them alone now.
    assert returning.id not in await retention_candidates(timezone.now(), app.state.settings)


async def test_people_without_a_key_get_it_at_startup_and_are_found_by_it(
    app: Litestar, db: Backend
) -> None:
    await Person.bulk_create([Person(email="legacy@example.org", name="Legacy", locale="en")])
    legacy = await Person.get(email="legacy@example.org")
    assert legacy.person_key is None
    _, slug = await _open_event("Legacy Summit")
    result = await register(slug, replace(_form("x"), email="legacy@example.org"))
    assert not result.new_person
    assert (await Person.get(id=legacy.id)).person_key == person_key("legacy@example.org")
    await Person.bulk_create([Person(email="older@example.org", name="Older", locale="en")])
    assert await backfill_person_keys() == 1
    older = await Person.get(email="older@example.org")
    assert older.person_key == person_key("older@example.org")


async def test_an_interrupted_run_resumes_without_erasing_anyone_twice(
    app: Litestar, db: Backend, tmp_path: Path
) -> None:
    await _world()
    settings = app.state.settings
    env = cli_env(db.database_url, tmp_path, EVENTS_ENVIRONMENT="development")
    process = subprocess.Popen(  # noqa: ASYNC220 - killed from this loop on purpose
        [sys.executable, "-m", "events_service.cli", "retention", "run", "--batch-size", "1"],
        env=env,
        cwd=Path.cwd(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while await ErasureRecord.all().count() < 3:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    first = await Person.filter(erased_at__isnull=False).count()
    assert 3 <= first < 120
    # Whole batches only: each audit row is one person erased with it.
    assert sum(await ErasureRecord.all().values_list("people", flat=True)) == first

    rest = await run_retention(settings)
    assert rest.people == 120 - first
    assert sum(await ErasureRecord.all().values_list("people", flat=True)) == 120
    erased = await Person.filter(erased_at__isnull=False).values_list("person_key", flat=True)
    assert sorted(erased) == sorted(person_key(f"person{n}@example.org") for n in GONE)
    assert (await verify()).exact


def test_the_cli_dry_run_prints_counts_only(tmp_path: Path) -> None:
    """`retention run --dry-run` on an empty database: counts, no personal data."""
    from events_service.cli import main

    url = f"sqlite://{tmp_path / 'events.db'}"
    subprocess.run(
        [sys.executable, "-m", "events_service.cli", "migrate"],
        env=cli_env(url, tmp_path),
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [sys.executable, "-m", "events_service.cli", "retention", "run", "--dry-run"],
        env=cli_env(url, tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("would erase 0 people of 0 events")
    assert main is not None


async def test_entries_and_events_changed_during_a_run_keep_their_people(
    app: Litestar, db: Backend
) -> None:
    """A competition entry inside its window keeps its members, one outside does not;
    an event edited after the run began keeps its people until the next run."""
    world = await _world()
    settings = app.state.settings
    gone = await Person.get(email="person0@example.org")
    competing = await Person.get(email="person1@example.org")
    entry = await Entry.create(event=world.recent, title="Kept Entry")  # ended 10 days ago
    await EntryMember.create(entry=entry, person=competing)
    old_entry = await Entry.create(event=world.old, title="Old Entry")
    await EntryMember.create(entry=old_entry, person=gone)
    started = timezone.now()
    edited, _ = await _open_event("Edited Forum")
    await _end(edited, 400)
    late = await Person.get(email="person2@example.org")
    await Registration.create(
        person=late, event=edited, status="confirmed", manage_token=f"late-{late.id}"
    )
    edited = await Event.get(id=edited.id)
    edited.title = "Edited Forum (renamed)"
    await edited.save()  # its updated_at is after the run's start

    run = await run_retention(settings, now=started)
    assert run.people == 118  # GONE without person1 (entry) and person2 (edited event)
    assert (await Person.get(id=gone.id)).erased_at is not None
    assert (await Person.get(id=competing.id)).email == "person1@example.org"
    assert (await Person.get(id=late.id)).email == "person2@example.org"
    again = await run_retention(settings)  # after the edit: fresh figures decide
    assert again.people == 1 and (await Person.get(id=late.id)).erased_at is not None


@pytest.mark.parametrize("fields", [("email", "organisation")])
async def test_the_fields_erased_are_the_settings(
    app: Litestar, db: Backend, fields: tuple[str, ...]
) -> None:
    await _world()
    settings = replace(app.state.settings, retention_fields=fields)
    assert (await run_retention(settings)).people == 120
    person = await Person.filter(erased_at__isnull=False).first()
    assert person is not None
    assert person.email is None and person.organisation_id is None
    assert person.name and person.phone  # not named: kept
    record = await ErasureRecord.first()
    assert record is not None and record.erased_fields == "email,organisation"


async def test_admins_erase_and_export_a_person_over_the_api(
    app: Litestar, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    event, slug = await _open_event("Upcoming Summit")
    mine = await register(slug, _form("me", organisation="Acme"))
    other = await register(slug, _form("other"))
    person = await Person.get(person_key=person_key("personme@example.org"))

    export = await client.get(f"/api/v1/people/{person.id}/export", headers=admin)
    assert export.status_code == 200, export.text
    data = export.json()
    assert data["person"]["email"] == "personme@example.org"
    assert data["person"]["organisation"] == "Acme"
    assert [r["id"] for r in data["registrations"]] == [mine.ticket.registration_id]
    assert [m["kind"] for m in data["messages"]] == ["registration.confirmed"]
    assert data["admissions"] == []
    assert "personother@example.org" not in export.text
    assert str(other.ticket.registration_id) not in [str(r["id"]) for r in data["registrations"]]

    refused = await client.post(f"/api/v1/people/{person.id}/erase", headers=admin)
    assert refused.status_code == 409, refused.text
    assert refused.json()["title"] == "You still hold a ticket for an upcoming event"
    assert (await Person.get(id=person.id)).email == "personme@example.org"

    await cancel(mine.ticket.manage_token)
    erased = await client.post(f"/api/v1/people/{person.id}/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] is True
    after = (await client.get(f"/api/v1/people/{person.id}/export", headers=admin)).json()
    assert after["person"]["email"] is None and after["person"]["name"] is None
    assert after["messages"] == []
    record = await ErasureRecord.get(reason="admin")
    assert (record.actor, record.people, record.staff_id) == ("staff", 1, record.staff_id)
    assert record.staff_id is not None

    missing = await client.post("/api/v1/people/999999/erase", headers=admin)
    assert missing.status_code == 404
    anonymous = await client.get(f"/api/v1/people/{person.id}/export")
    assert anonymous.status_code == 401
    assert event.id


def _link_in(mailbox: Mailbox, address: str) -> str:
    mails = [m for m in mailbox.to(address) if m["Subject"].startswith("Your data at")]
    assert len(mails) == 1, [m["Subject"] for m in mailbox.to(address)]
    text = mails[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (url,) = re.findall(r"http://testserver(/my-data/\S+)", text)
    return url


async def _deliver(app: Litestar) -> Mailbox:
    with smtp_server() as (mailbox, url):
        settings = replace(app.state.settings, smtp_url=url)
        worker = DeliveryWorker(settings, sender_from_url(url))
        while await worker.run_once():
            pass
    return mailbox


def _csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"_csrf_token": client.cookies.get("csrftoken", "")}


async def test_an_attendee_downloads_and_deletes_their_data_through_the_mailed_link(
    app: Litestar, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    _, slug = await _open_event("Upcoming Forum")
    response = await client.post(
        f"/api/v1/register/{slug}",
        json={
            "name": "Ada Lin",
            "email": "ada@example.org",
            "organisation": "Acme",
            "consent": True,
        },
    )
    assert response.status_code == 201, response.text
    token = token_of(response.json())
    await register(slug, _form("other"))
    page = await client.get(f"/t/{token}")
    assert "Download my data" in page.text and "Delete my data" in page.text

    # Download: the request mails a link; the link's page confirms; the file is hers.
    asked = await client.post(f"/t/{token}/my-data", data={"action": "export", **_csrf(client)})
    assert asked.status_code == 200 and "Check your e-mail" in asked.text
    link = _link_in(await _deliver(app), "ada@example.org")
    confirm = await client.get(link)
    assert confirm.status_code == 200 and "Download my data" in confirm.text
    download = await client.post(link, data=_csrf(client))
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("application/json")
    mine = download.json()
    assert mine["person"]["email"] == "ada@example.org" and mine["person"]["name"] == "Ada Lin"
    assert len(mine["registrations"]) == 1 and mine["admissions"] == []
    assert {m["kind"] for m in mine["messages"]} == {"registration.confirmed", "person.data_link"}
    assert "personother" not in download.text and "Person other" not in download.text

    # Delete: refused while her ticket for the coming event stands.
    refused = await client.post(f"/t/{token}/my-data", data={"action": "erase", **_csrf(client)})
    assert refused.status_code == 409
    assert "Cancel your tickets for upcoming events first" in refused.text
    cancelled = await client.post(f"/t/{token}/cancel", data=_csrf(client))
    assert cancelled.status_code in (200, 303)
    asked = await client.post(f"/t/{token}/my-data", data={"action": "erase", **_csrf(client)})
    assert asked.status_code == 200 and "Check your e-mail" in asked.text
    link = _link_in(await _deliver(app), "ada@example.org")
    done = await client.post(link, data=_csrf(client))
    assert done.status_code == 200 and "Your personal data has been deleted" in done.text
    ada = await Person.get(person_key=person_key("ada@example.org"))
    assert (ada.email, ada.name, ada.erased_at is not None) == (None, None, True)
    assert await OutboxMessage.filter(recipient="ada@example.org").count() == 0
    record = await ErasureRecord.get(actor="person")
    assert (record.reason, record.people) == ("request", 1)
    # A forged or garbled link does nothing.
    assert (await client.get("/my-data/AAAA.BBBB")).status_code == 404
    assert (await client.get(f"/api/v1/people/{ada.id}/export", headers=admin)).json()["person"][
        "email"
    ] is None


async def test_organisers_set_an_events_retention_over_the_api(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    event = await make_event(client, admin, retention_days=30)
    assert event["retention_days"] == 30
    changed = await client.patch(
        f"/api/v1/events/{event['id']}", json={"retention_days": None}, headers=admin
    )
    assert changed.status_code == 200 and changed.json()["retention_days"] is None
    assert (await Event.get(id=event["id"])).retention_days is None
    bad = await client.patch(
        f"/api/v1/events/{event['id']}", json={"retention_days": -1}, headers=admin
    )
    assert bad.status_code == 400 or bad.status_code == 422


async def test_an_erased_persons_rows_still_work_for_organisers(
    app: Litestar, client: httpx.AsyncClient, db: Backend
) -> None:
    world = await _world()
    await run_retention(app.state.settings)
    erased = await Person.get(person_key=person_key("person1@example.org"))
    registration = await Registration.get(person_id=erased.id, event_id=world.old.id)
    # Cancelling it mails nobody (no address) and fails nothing.
    await cancel_registration(registration.id)
    assert await OutboxMessage.filter(kind="registration.cancelled").count() == 0
    assert await resend_ticket_of(registration.id) is False
    page = await client.get(f"/t/{registration.manage_token}")
    assert page.status_code == 200
    assert "person1@example.org" not in page.text and "Person 1" not in page.text
    assert ">None<" not in page.text


async def test_the_outbox_worker_runs_the_policy_when_scheduled(
    app: Litestar, db: Backend, tmp_path: Path
) -> None:
    await _world()
    for scheduled, expected in ((False, 0), (True, 120)):
        settings = replace(
            app.state.settings, retention_scheduled=scheduled, smtp_url=f"file://{tmp_path}"
        )
        worker = DeliveryWorker(settings, sender_from_url(settings.smtp_url))
        worker.retention_delay_seconds = 0
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, drain_seconds=0))
        deadline = time.monotonic() + 20
        while expected and await ErasureRecord.all().count() == 0:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        stop.set()
        await task
        assert await Person.filter(erased_at__isnull=False).count() == expected


async def test_organisers_set_an_events_retention_in_the_console(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    event = await make_event(client, admin)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/events/{event['id']}/edit")
    assert page.status_code == 200 and 'name="retention_days"' in page.text
    values = {
        "title": event["title"],
        "timezone": event["timezone"],
        "starts_at": "2030-01-01T09:00",
        "ends_at": "2030-01-01T17:00",
        "retention_days": "90",
    }
    saved = await post_form(client, f"/admin/events/{event['id']}/edit", values)
    assert saved.status_code in (200, 303), saved.text
    assert (await Event.get(id=event["id"])).retention_days == 90


async def test_rotating_the_key_rekeys_held_addresses_and_still_knows_the_erased(
    app: Litestar, db: Backend
) -> None:
    settings = app.state.settings
    _, slug = await _open_event("Rotation Summit")
    kept = await register(slug, _form("kept"))
    gone = await register(slug, _form("gone"))
    await cancel(gone.ticket.manage_token)
    gone_person = await Person.get(person_key=person_key("persongone@example.org"))
    await erase_person(gone_person.id, actor="staff", settings=settings)
    old = current_keyer()
    assert old is not None
    rotated = replace(
        settings,
        person_key_secret="a-brand-new-person-key-secret-of-40-chars",
        person_key_previous_secret=old.secret.decode(),
    )
    try:
        use_person_key(rotated)
        rotation = await rotate_person_keys(current_keyer())  # type: ignore[arg-type]
        assert (rotation.rekeyed, rotation.erased_kept) == (1, 1)
        kept_person = await Person.get(email="personkept@example.org")
        assert kept_person.person_key == person_key("personkept@example.org")
        assert kept_person.person_key != old.key("personkept@example.org")
        # The erased person keeps the old key; registering again finds and re-keys them.
        assert (await Person.get(id=gone_person.id)).person_key == old.key("persongone@example.org")
        people = await Person.all().count()
        back = await register(slug, _form("gone"))
        assert back.created and await Person.all().count() == people
        again = await Person.get(id=gone_person.id)
        assert again.person_key == person_key("persongone@example.org")
        assert again.email == "persongone@example.org"
        assert kept.ticket.registration_id
    finally:
        use_person_key(settings)
