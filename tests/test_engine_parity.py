"""The differential test: SQLite's step-by-step path and PostgreSQL's one-statement path
leave the same rows and counters after the same scenario.

Registration (REGISTER_PG against TICKET_OF, the upserts, TAKE_QUOTA, TAKE_SEAT and
INSERT_REGISTRATION) and admission (ADMIT_PG against INSERT_ADMISSION, LOG, the
counter statements and MARK_FIRST) are each written once per engine; this is what
keeps the two from drifting apart. The scenario (tests/engine_parity_scenario.py)
covers a capped event with a waitlist and a link quota, a duplicate, a cancellation
that promotes, a change of organisation, admissions at two events, a repeated scan,
a late offline scan that predates the person's first admission, and undo.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import POSTGRES_URL_VAR, fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not os.environ.get(POSTGRES_URL_VAR), reason="compares SQLite with PostgreSQL"
)


def _scenario(database_url: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.engine_parity_scenario", database_url],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


async def test_sqlite_and_postgresql_leave_the_same_rows_and_counters(tmp_path: Path) -> None:
    sqlite = await asyncio.to_thread(_scenario, f"sqlite://{tmp_path / 'parity.db'}")
    async with fresh_postgres_database(os.environ[POSTGRES_URL_VAR]) as url:
        postgres = await asyncio.to_thread(_scenario, url)

    assert sqlite.keys() == postgres.keys()
    differing = {
        table: {"sqlite": sqlite[table], "postgres": postgres[table]}
        for table in sqlite
        if sqlite[table] != postgres[table]
    }
    assert not differing, json.dumps(differing, indent=1)

    # The scenario did what it says (a comparison of two empty results would pass too).
    outcomes = sqlite["outcomes"]
    assert "Cai@summit-chat: quota_reached" in outcomes
    assert "Dan@summit-mail: waitlisted created=True" in outcomes
    assert "Ada@summit-mail: confirmed created=False" in outcomes
    assert "promoted 1" in outcomes
    assert "scan Ada@summit+11: already_admitted" in outcomes
    assert "scan Eve@summit+21: waitlisted" in outcomes
    assert sqlite["drift"]["exact"]
    counters = dict(map(tuple, sqlite["counters"]))
    # Ada, Cai, Dan, Fay reached; Cai and (after undo) Ada first at the competition.
    assert counters["talents"] == 4
    by_kind = {"competition": 0, "summit": 0}
    for key, value in counters.items():
        if key.startswith("talents:"):
            by_kind[key.split(":")[1]] += value
    assert by_kind == {"competition": 3, "summit": 1}
    assert counters["admissions"] == 5 and counters["companies"] == 1
    assert counters["event:Summit"] == 2 and counters["event:Contest"] == 3
    first = {p["email"]: p["first_admitted_at"] for p in sqlite["people"]}
    assert first["cai@example.org"] == 15  # the late offline scan's time
    assert first["ada@example.org"] == 10  # her remaining admission after the undo
    assert first["fay@example.org"] == 30
    assert {m["kind"] for m in sqlite["messages"]} >= {
        "registration.confirmed", "registration.waitlisted",
        "registration.promoted", "registration.cancelled",
    }  # fmt: skip
