"""Judges hear of their assignments and of a round closing; winners of their award."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
from litestar import Litestar
from tortoise import timezone

from models import EntryMember, JudgeAssignment, OutboxMessage, Person, Round, StaffUser
from notifications.outbox import Kind
from notifications.reminders import queue_due_reminders
from notifications.senders import sender_from_url
from notifications.worker import DeliveryWorker
from tests.conftest import LoginAs
from tests.judging_helpers import API, closed_final_round, my_assignments, ok, scored_round, submit
from tests.mail_server import smtp_server


async def test_each_judge_is_told_their_share_once_per_plan(
    app: Litestar, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=6, judges=3, k=2, open_round=False)
    shares = {
        judge_id: await JudgeAssignment.filter(round_id=setup.round_id, judge_id=judge_id).count()
        for judge_id in setup.judges
    }
    messages = await OutboxMessage.filter(kind=Kind.JUDGE_ASSIGNED)
    emails = dict(await StaffUser.filter(id__in=list(setup.judges)).values_list("email", "id"))
    assert {emails[m.recipient]: m.payload["count"] for m in messages} == shares

    # The same plan again (same seed) tells nobody anything new.
    ok(await client.post(f"{API}/rounds/{setup.round_id}/assign", json={"seed": 1}, headers=admin))
    assert await OutboxMessage.filter(kind=Kind.JUDGE_ASSIGNED).count() == len(messages)

    with smtp_server() as (mailbox, url):
        settings = dataclasses.replace(app.state.settings, smtp_url=url)
        worker = DeliveryWorker(settings, sender_from_url(url))
        while await worker.run_once():
            pass
        assert len(mailbox.messages) == 3
        subject = mailbox.messages[0]["Subject"]
        assert subject == "Entries to judge: Preliminary"
        body = mailbox.messages[0].get_body(("plain",)).get_content()
        assert "http://testserver/judge" in body


async def test_judges_with_open_sheets_are_reminded_before_the_round_closes(
    app: Litestar, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=3, judges=3, k=3)
    diligent_id, diligent = next(iter(setup.judges.items()))
    for a in await my_assignments(client, diligent):
        ok(await submit(client, diligent, a["id"], dict.fromkeys(setup.criteria, 3)))
    await Round.filter(id=setup.round_id).update(closes_at=timezone.now() + timedelta(hours=5))

    settings = app.state.settings
    assert await queue_due_reminders(settings) == 2
    assert await queue_due_reminders(settings) == 0
    reminded = await OutboxMessage.filter(kind=Kind.ROUND_CLOSING_SOON)
    diligent_email = (await StaffUser.get(id=diligent_id)).email
    assert diligent_email not in {m.recipient for m in reminded}
    assert all(m.payload["count"] == 3 for m in reminded)


async def test_judges_are_told_before_a_round_opens(
    app: Litestar, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=4, judges=2, k=2, open_round=False)
    settings = app.state.settings
    await Round.filter(id=setup.round_id).update(opens_at=timezone.now() + timedelta(days=3))
    assert await queue_due_reminders(settings) == 0  # too early
    await Round.filter(id=setup.round_id).update(opens_at=timezone.now() + timedelta(hours=2))
    assert await queue_due_reminders(settings) == 2
    assert await queue_due_reminders(settings) == 0
    with smtp_server() as (mailbox, url):
        worker = DeliveryWorker(dataclasses.replace(settings, smtp_url=url), sender_from_url(url))
        while await worker.run_once():
            pass
        opening = [m for m in mailbox.messages if m["Subject"].startswith("Scoring opens soon")]
        assert len(opening) == 2
        assert "4 entries are assigned to you" in opening[0].get_body(("plain",)).get_content()


async def test_a_winning_team_hears_of_its_award_when_winners_are_published(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    lead = await Person.create(email="lead@example.org", name="Zhang Min", locale="zh-Hans")
    await EntryMember.create(entry_id=setup.entries[1], person=lead, role="lead")
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    published = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))

    (message,) = await OutboxMessage.filter(kind=Kind.WINNER_PUBLISHED)
    first = next(w for w in published if w["entry_id"] == setup.entries[1])
    assert message.recipient == "lead@example.org" and message.locale == "zh-Hans"
    assert message.payload["award"] == "First prize" and message.payload["rank"] == 1
    assert message.payload["path"] == f"/winners/{first['id']}/certificate"
