"""The delivery worker: claim due outbox rows, build, send, mark; retry with backoff.

Claiming moves a batch to `sending` with a lease (its `due_at` pushed to the lease's
end) in one statement. On PostgreSQL the batch is picked with FOR UPDATE SKIP
LOCKED, so workers in several processes or machines never claim the same row at
once; SQLite has one writer, so the same statement is already exclusive there.

The lease is short (`EVENTS_OUTBOX_LEASE_SECONDS`, a minute: far more than a send
takes) and a heartbeat renews it while the worker still holds the row, waiting for
a slot or in a slow send, so a live worker never loses a row to another. A worker
that dies (or loses the database) between sending and marking leaves the row in
`sending`; when the lease ends another worker sends it again, with the same
Message-ID, and counts a redelivery on the row: the crash costs at most one
duplicate that mail clients can recognise and organisers can see.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from tortoise import timezone

from events_service import metrics
from events_service.db import default_connection, execute, fetch_rows, with_row_lock
from events_service.errors import OutageLog, is_database_unavailable
from events_service.privacy.service import run_retention
from events_service.programme.milestones import check_milestones
from events_service.settings import Settings
from notifications.messages import MessageBuilder, Queued, Undeliverable
from notifications.reminders import queue_due_reminders
from notifications.senders import Sender

log = logging.getLogger("events_service.outbox")

LEASE_EXPIRED = "lease expired"
# A row still `sending` is one whose lease ran out: the worker holding it may have
# sent it before it stopped. (SET reads the row as it was before this update, on
# both engines, so `status` here is the old status.)
_CLAIM = with_row_lock(
    f"""
UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, due_at = $2,
    redeliveries = redeliveries + CASE WHEN status = 'sending' THEN 1 ELSE 0 END,
    last_error = CASE WHEN status = 'sending'
        THEN '{LEASE_EXPIRED} during attempt ' || attempts || ', which may have sent it'
        ELSE last_error END
WHERE id IN (
    SELECT id FROM outbox_message
    WHERE status IN ('pending', 'sending') AND due_at <= $1
    ORDER BY due_at, id
    LIMIT $3""",  # noqa: S608 - a constant, no input
    "    FOR UPDATE SKIP LOCKED",
    """
)
RETURNING id, kind, dedupe_key, recipient, locale, payload, attempts, last_error
""",
)
# The heartbeat: only while this worker still holds the row (same attempt).
_EXTEND_LEASE = """
UPDATE outbox_message SET due_at = $2
WHERE id = $1 AND status = 'sending' AND attempts = $3
"""
# Only a row this worker still holds: after a lease expired and another worker took
# the row over, the late mark of the first worker must not overwrite the outcome.
_MARK_SENT = """
UPDATE outbox_message SET status = 'sent', sent_at = $2, message_id = $3, last_error = NULL
WHERE id = $1 AND status = 'sending' AND attempts = $4
"""
_MARK_FAILED = """
UPDATE outbox_message SET status = $2, due_at = $3, last_error = $4
WHERE id = $1 AND status = 'sending' AND attempts = $5
"""

# Giving claimed rows back when the worker stops (only rows it still holds).
_RELEASE_UNSENT = """
UPDATE outbox_message SET status = 'pending', attempts = attempts - 1, due_at = $2
WHERE id = $1 AND status = 'sending' AND attempts = $3
"""
_RELEASE_MAYBE_SENT = """
UPDATE outbox_message SET due_at = $2
WHERE id = $1 AND status = 'sending' AND attempts = $3
"""

MAX_BACKOFF_SECONDS = 3600.0
# Marking an outcome while the database is away: first retry soon, then at most
# every few seconds.
MARK_RETRY_FIRST_SECONDS = 0.25
MARK_RETRY_MAX_SECONDS = 5.0
# Milestones are looked for here, off the door's path: a few seconds late at most.
MILESTONE_EVERY_SECONDS = 5.0
# The first scheduled retention run waits this long after the worker starts, so a
# start (or a crash loop) does not begin with a long write.
RETENTION_FIRST_DELAY_SECONDS = 60.0


def retry_delay(
    attempts: int,
    base_seconds: float,
    rng: random.Random = random.Random(),  # noqa: S311 - jitter, not a secret
) -> float:
    """Exponential backoff with jitter: waits grow 1, 2, 4... times the base, capped at
    an hour, each drawn from its upper half so failing workers do not retry in step."""
    ceiling = min(MAX_BACKOFF_SECONDS, base_seconds * 2 ** max(0, attempts - 1))
    return ceiling * rng.uniform(0.5, 1.0)


class DeliveryWorker:
    def __init__(
        self,
        settings: Settings,
        sender: Sender,
        *,
        batch_size: int = 50,
        concurrency: int = 4,
        lease_seconds: float | None = None,
        poll_seconds: float = 0.5,
        schedule_every_seconds: float = 60.0,
        before_mark: Callable[[Queued], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.builder = MessageBuilder(settings)
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = timedelta(
            seconds=settings.outbox_lease_seconds if lease_seconds is None else lease_seconds
        )
        # Three beats per lease: one late or failed beat does not lose the row.
        self.heartbeat_seconds = self.lease.total_seconds() / 3
        self.poll_seconds = poll_seconds
        self.schedule_every_seconds = schedule_every_seconds
        # A test seam for "the process died after sending, before marking".
        self.before_mark = before_mark
        self._slots = asyncio.Semaphore(concurrency)
        # The task running `run` when started by `notifications.runner.delivering`.
        self.task: asyncio.Task[None] | None = None
        self._outages = OutageLog(log, "outbox delivery waits")
        # Rows whose message went to the sender (see _release).
        self._handing_over: dict[int, bool] = {}
        # When the first scheduled retention run is due after start (tests: 0).
        self.retention_delay_seconds = RETENTION_FIRST_DELAY_SECONDS

    async def claim(self, due_by: datetime | None = None) -> list[tuple[Queued, int]]:
        """Claim a batch of rows due now (or due by `due_by`, when draining)."""
        now = timezone.now()
        values = [due_by or now, now + self.lease, self.batch_size]
        rows = await fetch_rows(default_connection(), _CLAIM, values)
        claimed = []
        for row in rows:
            payload: Any = row["payload"]
            if isinstance(payload, str | bytes):
                payload = json.loads(payload)
            queued = Queued(
                id=row["id"],
                kind=row["kind"],
                dedupe_key=row["dedupe_key"],
                recipient=row["recipient"],
                locale=row["locale"],
                payload=payload or {},
            )
            if (row["last_error"] or "").startswith(LEASE_EXPIRED):
                log.warning(
                    "outbox %s: %s; sending again (attempt %s, same Message-ID)",
                    queued.id,
                    row["last_error"],
                    row["attempts"],
                )
            claimed.append((queued, row["attempts"]))
        claimed.sort(key=lambda item: item[0].id)
        return claimed

    async def run_once(self, due_by: datetime | None = None) -> int:
        """Claim one batch and deliver it; how many rows were claimed."""
        claimed = await self.claim(due_by)
        if claimed:
            # return_exceptions: when the worker is stopped (cancelled), gather waits for
            # every delivery to release its row; without it, gather ends as soon as the
            # first one is cancelled and the others' releases are cut short.
            outcomes = await asyncio.gather(
                *(self._deliver(queued, n) for queued, n in claimed), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        return len(claimed)

    async def _deliver(self, queued: Queued, attempts: int) -> None:
        heartbeat = asyncio.create_task(self._keep_lease(queued.id, attempts))
        try:
            await self._send_and_mark(queued, attempts)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _keep_lease(self, message_id: int, attempts: int) -> None:
        """Renew the lease until cancelled; stop if another worker took the row over."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            values = [message_id, timezone.now() + self.lease, attempts]
            try:
                held = await execute(default_connection(), _EXTEND_LEASE, values)
            except Exception as error:  # the next beat may get through
                if is_database_unavailable(error):
                    self._outages.record(error)
                else:
                    log.exception("outbox %s: renewing the lease failed", message_id)
                continue
            if not held:
                log.warning("outbox %s: lease lost to another worker", message_id)
                return

    async def _send_and_mark(self, queued: Queued, attempts: int) -> None:
        try:
            await self._send_and_mark_held(queued, attempts)
        except asyncio.CancelledError:
            await self._release(queued.id, attempts, self._handing_over.get(queued.id, False))
            raise
        finally:
            self._handing_over.pop(queued.id, None)

    async def _release(self, message_id: int, attempts: int, handed_over: bool) -> None:
        """A stopping worker gives a claimed row back at once rather than at its lease's
        end. Not yet handed to the mail server: back to pending, this attempt not
        counted. Maybe handed over: the lease ends now, so another worker sends it
        again right away (same Message-ID, counted as a redelivery)."""
        sql = _RELEASE_MAYBE_SENT if handed_over else _RELEASE_UNSENT
        try:
            await execute(default_connection(), sql, [message_id, timezone.now(), attempts])
        except Exception as error:  # the lease still ends by itself
            log.warning("outbox %s: releasing on stop failed: %r", message_id, error)

    async def _send_and_mark_held(self, queued: Queued, attempts: int) -> None:
        async with self._slots:
            metrics.delivery_attempted()
            try:
                message = await self.builder.build(queued)
                self._handing_over[queued.id] = True  # the mail server may get it now
                await self.sender.send(message)
            except Undeliverable as error:
                metrics.delivery_failed(final=True)
                await self._mark_failed(queued, attempts, str(error), final=True)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                final = attempts >= self.settings.outbox_max_attempts
                metrics.delivery_failed(final=final)
                reason = f"{type(error).__name__}: {error}"[:2000]
                log.warning("outbox %s attempt %s failed: %s", queued.id, attempts, reason)
                await self._mark_failed(queued, attempts, reason, final=final)
                return
            if self.before_mark is not None:
                await self.before_mark(queued)
            values = [queued.id, timezone.now(), message["Message-ID"], attempts]
            await self._mark(_MARK_SENT, values)

    async def _mark_failed(self, queued: Queued, attempts: int, reason: str, final: bool) -> None:
        delay = retry_delay(attempts, self.settings.outbox_retry_base_seconds)
        retry_at: datetime = timezone.now() + timedelta(seconds=delay)
        status = "failed" if final else "pending"
        values = [queued.id, status, retry_at, reason, attempts]
        await self._mark(_MARK_FAILED, values)

    async def _mark(self, sql: str, values: list[Any]) -> None:
        """Record an outcome, waiting out a database outage: a sent message left in
        `sending` is sent again when its lease ends, so a restart of PostgreSQL
        would cost a duplicate of every message in flight. Within the lease no other
        worker takes the row; after it, the attempt check makes a late mark a no-op."""
        deadline = time.monotonic() + 2 * self.lease.total_seconds()
        pause = MARK_RETRY_FIRST_SECONDS
        while True:
            try:
                await execute(default_connection(), sql, values)
                return
            except Exception as error:
                if not is_database_unavailable(error) or time.monotonic() + pause > deadline:
                    raise
                self._outages.record(error)
            await asyncio.sleep(pause)
            pause = min(pause * 2, MARK_RETRY_MAX_SECONDS)

    async def run(self, stop: asyncio.Event, drain_seconds: float = 10.0) -> None:
        """Deliver until `stop` is set, then drain: send what was due when it was set
        (for at most `drain_seconds`) so a restart does not hold messages back. Rows
        queued after the stop are left to the other workers (or to the next start):
        under load the queue never empties, and a restart must not wait for it."""
        next_schedule = next_milestones = 0.0
        next_retention = time.monotonic() + self.retention_delay_seconds
        while not stop.is_set():
            try:
                if self.settings.retention_scheduled and time.monotonic() >= next_retention:
                    # Daily (EVENTS_RETENTION_EVERY_HOURS); batched, so it never holds
                    # the outbox back for long. Several workers may run it: harmless.
                    next_retention = time.monotonic() + self.settings.retention_every_hours * 3600
                    result = await run_retention(self.settings)
                    log.info("retention run erased %s people", result.people)
                if time.monotonic() >= next_schedule:
                    await queue_due_reminders(self.settings)
                    next_schedule = time.monotonic() + self.schedule_every_seconds
                if time.monotonic() >= next_milestones:
                    await check_milestones(self.settings)
                    next_milestones = time.monotonic() + MILESTONE_EVERY_SECONDS
                if await self.run_once():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database may be restarting: keep the worker alive
                if is_database_unavailable(error):
                    self._outages.record(error)
                else:
                    log.exception("outbox worker pass failed")
            try:
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
            except TimeoutError:
                pass
        deadline = time.monotonic() + drain_seconds
        stopped_at = timezone.now()
        while time.monotonic() < deadline:
            try:
                if not await self.run_once(due_by=stopped_at):
                    break
            except Exception as error:
                if is_database_unavailable(error):
                    self._outages.record(error)
                else:
                    log.exception("outbox drain pass failed")
                break
        await self.sender.close()
