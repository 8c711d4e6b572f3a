"""Queueing messages: one row per cause, and only when the causing change commits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise import timezone
from tortoise.transactions import in_transaction

from models import OutboxMessage
from models.enums import OutboxStatus
from notifications.outbox import Kind, enqueue
from tests.conftest import Backend


async def test_a_queued_message_is_pending_and_due_now(db: Backend) -> None:
    queued = await enqueue(
        kind=Kind.JUDGE_ASSIGNED,
        dedupe_key="judge.assigned:1:7",
        recipient="judge@example.org",
        payload={"round_id": 1, "judge_id": 7},
        locale="zh-Hans",
    )
    assert queued is True
    message = await OutboxMessage.get(dedupe_key="judge.assigned:1:7")
    assert message.status == OutboxStatus.PENDING
    assert message.payload == {"round_id": 1, "judge_id": 7}
    assert message.locale == "zh-Hans" and message.attempts == 0
    assert message.due_at == message.created_at  # due at once unless told otherwise


async def test_a_later_due_time_is_kept(db: Backend) -> None:
    later = timezone.now() + timedelta(hours=5)
    await enqueue(
        kind=Kind.EVENT_REMINDER,
        dedupe_key="event.reminder:9",
        recipient="a@example.org",
        payload={"registration_id": 9},
        due_at=later,
    )
    stored = await OutboxMessage.get(dedupe_key="event.reminder:9")
    assert abs((stored.due_at - later).total_seconds()) < 0.001


async def test_the_same_cause_queues_once_even_when_raced(db: Backend) -> None:
    async def queue() -> bool:
        async with in_transaction() as conn:
            return await enqueue(
                kind=Kind.REACH_MILESTONE,
                dedupe_key="reach.milestone:talents:50",
                recipient="org@example.org",
                payload={"kpi": "talents", "percent": 50},
                using_db=conn,
            )

    results = await asyncio.gather(*(queue() for _ in range(20)))
    assert await OutboxMessage.filter(dedupe_key="reach.milestone:talents:50").count() == 1
    if db.name == "postgres":
        assert sorted(results) == [False] * 19 + [True]


async def test_a_rolled_back_change_leaves_no_message(db: Backend) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await enqueue(
                kind=Kind.EVENT_CANCELLED,
                dedupe_key="event.cancelled:3:a@example.org",
                recipient="a@example.org",
                payload={"event_id": 3},
                using_db=conn,
            )
            raise RuntimeError("the change failed")
    assert not await OutboxMessage.exists(dedupe_key="event.cancelled:3:a@example.org")
