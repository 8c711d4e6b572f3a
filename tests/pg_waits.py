"""Ordering concurrent work by PostgreSQL's lock queue instead of by sleeping.

A test holds a row lock in an open transaction, starts the contender, and waits
here until PostgreSQL shows the contender queued on a lock: the interleaving is
then a fact, not a guess at how long the contender needs to get there.
"""

from __future__ import annotations

import asyncio

import asyncpg

from tests.conftest import _asyncpg_dsn

# Backends of this test's database that wait on a heavyweight lock (a row, a
# transaction id, a tuple), with the statement each one runs.
WAITING = """
SELECT pid, query FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
ORDER BY pid
"""


async def wait_for_lock_waiters(
    database_url: str, count: int, *, seconds: float = 10.0
) -> list[str]:
    """Wait until exactly `count` backends of the database wait on a lock; the
    statements they run. Fails the test if that does not happen within `seconds`.

    Polls from a connection of its own, outside any transaction: in a transaction
    pg_stat_activity would be read once and then served from a snapshot."""
    observer = await asyncpg.connect(_asyncpg_dsn(database_url))
    waiting: list[str] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                waiting = [row["query"] for row in await observer.fetch(WAITING)]
                if len(waiting) == count:
                    break
                await asyncio.sleep(0.01)  # PostgreSQL has no notice of a new waiter
    except TimeoutError:
        raise AssertionError(
            f"expected {count} backends waiting on a lock within {seconds} s, "
            f"saw {len(waiting)}: {waiting}"
        ) from None
    finally:
        await observer.close()
    return waiting
